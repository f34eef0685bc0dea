// A scenario, jcstress style: a tiny machine, a few threads running real protocol code, and a
// table that classifies every outcome the threads can observe.
import { CTL, INVQ, type MachineSpec } from '../machine/layout.js';
import type { Machine } from '../machine/machine.js';
import type { SharedMem } from '../machine/shared-mem.js';
import type { Variant } from './types.js';

export const VERDICTS = ['ACCEPTABLE', 'INTERESTING', 'FORBIDDEN'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** Outcomes every scenario can produce besides its own. */
export const STEP_LIMIT = 'step limit reached (a livelock, or raise --max-steps)';
export const THREAD_ERROR = 'a thread threw';
export const DEADLOCK = 'deadlock: every thread kept waiting on words nobody changed';
export const LOST_WAKEUP = 'lost wake-up: a waiter was never notified and went on only when its wait timed out';

/** Outcomes of the oracle's own checks (src/core/reliance.ts): FORBIDDEN in every scenario. */
export const RELIANCE_BROKEN = 'reliance broken: the host took back a page or IOVA while the guest held it mapped';
export const MAP_FAILED_NO_CAUSE = 'a map failed although no host pin failed while it ran';
export const UNDRAINED_UNPIN = 'the host unpinned a page while a device access under an older IOTLB generation was in flight';

export const LOCK_HELD = 'a lock is still held (or its word is wrong) after every thread finished';

/**
 * The machine's futex-word locks (the pin-state lock, the invalidation queue's and the IOVA depot's)
 * must all be free once every thread has finished: a lost release, a split acquire or a
 * double unlock leaves the word non-zero. A policy checks its own locks in its outcome.
 */
export function machineLocksFree(m: Machine): boolean {
  if (Atomics.load(m.control, CTL.PIN_LOCK) !== 0) return false;
  return m.invq.length === 0 || (Atomics.load(m.invq, INVQ.LOCK) === 0 && Atomics.load(m.invq, INVQ.IOVA_LOCK) === 0);
}

/** What the oracle saw during the schedule, if anything (read after the threads are done). */
export function oracleOutcome(control: Int32Array, m?: Machine): string | undefined {
  if (m && !machineLocksFree(m)) return LOCK_HELD;
  if (Atomics.load(control, CTL.VIOL_RELY) > 0) return RELIANCE_BROKEN;
  if (Atomics.load(control, CTL.VIOL_MAPFAIL) > 0) return MAP_FAILED_NO_CAUSE;
  if (Atomics.load(control, CTL.VIOL_DRAIN) > 0) return UNDRAINED_UNPIN;
  return undefined;
}

export interface ThreadCtx {
  mem: SharedMem;
  m: Machine;
  /** Scenario mailboxes between threads (a separate small shared buffer). */
  scratch: Int32Array;
  variant: Variant;
  thread: number;
}

export interface Scenario {
  name: string;
  description: string;
  /** Thread names, in scheduling index order. */
  threads: string[];
  /** The planted bugs this scenario is built to expose ('none' = the real protocol). */
  variants: Variant[];
  spec: MachineSpec;
  /** Initial state, written free-running before each schedule (memory is zeroed first). */
  setup(m: Machine, scratch: Int32Array, variant: Variant): void;
  /** One thread's body; returns a small result code that the outcome may use. */
  run(ctx: ThreadCtx): number;
  /** What the threads observed, from their results and the final state. */
  outcome(results: number[], m: Machine, scratch: Int32Array): string;
  outcomes: Record<string, Verdict>;
  /** Outcomes a search of the real protocol must reach within its stated budget (else it says so). */
  mustReach?: readonly string[];
  /** Schedules the default strategy (mixed) is stated to need: its planted bugs within it, the real protocol clean. */
  budget?: number;
}

export function verdictOf(s: Scenario, outcome: string): Verdict {
  if (outcome === STEP_LIMIT) return 'INTERESTING';
  return s.outcomes[outcome] ?? 'FORBIDDEN'; // an outcome nobody declared is a finding
}
