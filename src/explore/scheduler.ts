// The controlled executor, scheduler side: runs one schedule on the scenario's threads (real
// workers, parked between turns), letting exactly one of them execute one shared-memory operation
// per step. A Chooser decides which; the scheduler records the choices and the trace.
import { OPS, SCHED, SCHED_ERROR_CHARS, ThreadState, schedErrorBase, type OpName } from './sched-layout.js';
import { Machine } from '../machine/machine.js';
import type { Variant } from '../core/types.js';
import { DEADLOCK, LOST_WAKEUP, STEP_LIMIT, THREAD_ERROR, verdictOf, type Scenario } from '../core/scenario.js';

/** Forced timeouts in one schedule beyond which it is called a deadlock. */
export const DEADLOCK_TIMEOUTS = 32;
import { wordName, type TraceStep } from './trace-step.js';
import { spinFor } from './controlled-mem.js';

export interface Chooser {
  /** Pick one of `enabled` (sorted thread indices, never empty) for step `step`. */
  choose(enabled: readonly number[], step: number, last: number): number;
}

export type { TraceStep } from './trace-step.js';

export interface ScheduleResult {
  outcome: string;
  steps: number;
  choices: number[];
  results: number[];
  trace?: TraceStep[];
  /** Waits that timed out because every live thread was waiting. */
  timeouts: number;
  /** Messages of threads that threw (outcome THREAD_ERROR). */
  errors?: string[];
}

export class ExplorerError extends Error {}

const STEP_WAIT_MS = 10_000;

export class ScheduleRunner {
  readonly m: Machine;
  readonly scratch: Int32Array;
  private readonly all: Int32Array;
  private readonly n: number;
  private epoch = 0;

  constructor(
    readonly scenario: Scenario,
    readonly variant: Variant,
    readonly sched: Int32Array,
    machineSab: SharedArrayBuffer,
    scratchSab: SharedArrayBuffer,
    readonly maxSteps = 5000,
    /** Spin this long on each side of a hand-off before parking (0 when threads outnumber cores). */
    readonly spinUs = 0,
  ) {
    Atomics.store(sched, SCHED.SPIN_US, spinUs);
    this.m = new Machine(machineSab, scenario.spec);
    this.all = new Int32Array(machineSab);
    this.scratch = new Int32Array(scratchSab);
    this.n = scenario.threads.length;
  }

  private base(t: number): number {
    return SCHED.THREADS + t * SCHED.THREAD_WORDS;
  }
  private state(t: number): number {
    return Atomics.load(this.sched, this.base(t) + SCHED.STATE);
  }

  /** Wait (bounded) until thread t has left Running: it announced an op, blocked or finished. */
  private settle(t: number): void {
    const at = this.base(t) + SCHED.STATE;
    if (spinFor(this.sched, at, ThreadState.Running, this.spinUs)) return;
    const deadline = performance.now() + STEP_WAIT_MS;
    while (Atomics.load(this.sched, at) === ThreadState.Running) {
      Atomics.wait(this.sched, at, ThreadState.Running, 500);
      if (performance.now() > deadline)
        throw new ExplorerError(`explorer: thread "${this.scenario.threads[t]}" did not reach its next operation within ${STEP_WAIT_MS} ms`);
    }
  }

  /** Name of a word, for traces: region[index] in the machine, or scratch[index]. */
  addressName(buf: number, addr: number): string {
    if (buf === 1) return `scratch[${addr}]`;
    for (const r of Object.values(this.m.layout)) {
      if (typeof r !== 'object' || r === null || !('byteOffset' in r) || r.kind !== 'i32') continue;
      const first = r.byteOffset >> 2;
      if (addr >= first && addr < first + r.length) return wordName(r.name, addr - first);
    }
    return `word ${addr}`;
  }

  private resetMemory(): void {
    this.all.fill(0);
    this.scratch.fill(0);
    this.scenario.setup(this.m, this.scratch, this.variant);
  }

  /** Run one schedule to the end. */
  run(chooser: Chooser, withTrace = false): ScheduleResult {
    const { sched, n } = this;
    this.resetMemory();
    for (let t = 0; t < n; t++) {
      const b = this.base(t);
      Atomics.store(sched, b + SCHED.ABORT, 0);
      Atomics.store(sched, b + SCHED.STATE, ThreadState.Running);
    }
    Atomics.store(sched, SCHED.CMD, ++this.epoch);
    Atomics.notify(sched, SCHED.CMD);
    for (let t = 0; t < n; t++) this.settle(t);

    const choices: number[] = [];
    const trace: TraceStep[] | undefined = withTrace ? [] : undefined;
    let last = -1;
    let limited = false;
    let deadlocked = false;
    let forcedTimeouts = 0;
    const enabled: number[] = [];
    for (let step = 0; ; step++) {
      enabled.length = 0;
      let blocked = 0;
      for (let t = 0; t < n; t++) {
        const s = this.state(t);
        if (s === ThreadState.Ready) enabled.push(t);
        else if (s === ThreadState.Blocked) {
          blocked++;
          if (Atomics.load(sched, this.base(t) + SCHED.NOTIFIED) !== 0) enabled.push(t); // woken by a notify
        }
      }
      let timeout = false;
      if (enabled.length === 0) {
        if (blocked === 0) break; // everyone finished
        // Every live thread waits on a word nobody changes: let one wait time out (all protocol
        // waits have timeouts and re-check). Many of these in one schedule is a deadlock.
        if (++forcedTimeouts > DEADLOCK_TIMEOUTS) {
          deadlocked = true;
          this.abortAll();
          break;
        }
        for (let t = 0; t < n; t++) if (this.state(t) === ThreadState.Blocked) enabled.push(t);
        timeout = true;
      }
      if (step >= this.maxSteps) {
        limited = true;
        this.abortAll();
        break;
      }
      let t: number;
      try {
        t = chooser.choose(enabled, step, last);
      } catch (e) {
        this.abortAll(); // leave every thread ready for the next schedule
        throw e;
      }
      if (!enabled.includes(t)) {
        this.abortAll();
        throw new ExplorerError(`schedule chose thread ${t} at step ${step}, enabled were ${enabled.join(',')}`);
      }
      const b = this.base(t);
      // the thread that ran last may be spinning for its turn: free its core for this one
      if (last >= 0 && t !== last) Atomics.store(sched, this.base(last) + SCHED.SPIN_STOP, 1);
      const wasBlocked = this.state(t) === ThreadState.Blocked;
      if (wasBlocked) Atomics.store(sched, b + SCHED.WAKE, timeout ? 2 : 1);
      const op = Atomics.load(sched, b + SCHED.OP);
      const buf = Atomics.load(sched, b + SCHED.BUF);
      const addr = Atomics.load(sched, b + SCHED.ADDR);
      const operand = Atomics.load(sched, b + SCHED.VALUE);
      const operand2 = Atomics.load(sched, b + SCHED.VALUE2);
      Atomics.store(sched, b + SCHED.STATE, ThreadState.Running);
      Atomics.add(sched, b + SCHED.GO, 1);
      Atomics.notify(sched, b + SCHED.GO);
      this.settle(t);
      choices.push(t);
      last = t;
      if (trace) {
        trace.push({
          step,
          thread: t,
          op: OPS[op],
          where: this.addressName(buf, addr),
          operand,
          ...(OPS[op] === 'compareExchange' ? { replacement: operand2 } : {}),
          before: Atomics.load(sched, b + SCHED.PREV_BEFORE),
          after: Atomics.load(sched, b + SCHED.PREV_AFTER),
          ...(wasBlocked && timeout ? { timedOut: true as const } : {}),
        });
      }
    }
    const errors: string[] = [];
    for (let t = 0; t < n; t++) if (this.state(t) === ThreadState.Error) errors.push(`${this.scenario.threads[t]}: ${this.errorText(t)}`);
    const results = Array.from({ length: n }, (_, t) => Atomics.load(sched, this.base(t) + SCHED.RESULT));
    let outcome: string;
    if (deadlocked) outcome = DEADLOCK;
    else if (limited) outcome = STEP_LIMIT;
    else if (errors.length > 0) outcome = THREAD_ERROR;
    else {
      outcome = this.scenario.outcome(results, this.m, this.scratch);
      // Every live thread waiting is a lost wake-up here (each scenario thread ends by itself and
      // wakes whoever waits for it); unless something worse happened, that is the outcome.
      if (forcedTimeouts > 0 && verdictOf(this.scenario, outcome) !== 'FORBIDDEN') outcome = LOST_WAKEUP;
    }
    return { outcome, steps: choices.length, choices, results, trace, timeouts: forcedTimeouts, ...(errors.length ? { errors } : {}) };
  }

  /** Cut the schedule off: every live thread unwinds (without further operations) and ends. */
  private abortAll(): void {
    for (let t = 0; t < this.n; t++) {
      const b = this.base(t);
      Atomics.store(this.sched, b + SCHED.ABORT, 1);
      // An unwinding thread announces nothing more (ControlledMem.turn checks ABORT first), so one
      // release normally ends it; a few more cover a thread that was between two announcements.
      for (let tries = 0; ; tries++) {
        const s = this.state(t);
        if (s === ThreadState.Done || s === ThreadState.Error) break;
        if (tries === 8) throw new ExplorerError(`explorer: thread "${this.scenario.threads[t]}" did not end when its schedule was cut off`);
        Atomics.store(this.sched, b + SCHED.STATE, ThreadState.Running);
        Atomics.add(this.sched, b + SCHED.GO, 1);
        Atomics.notify(this.sched, b + SCHED.GO);
        this.settle(t);
      }
    }
  }

  private errorText(t: number): string {
    const at = schedErrorBase(t);
    let s = '';
    for (let k = 0; k < SCHED_ERROR_CHARS; k++) {
      const c = Atomics.load(this.sched, at + k);
      if (c === 0) break;
      s += String.fromCharCode(c);
    }
    return s;
  }

  /** Tell the threads to exit their serve loops. */
  quit(): void {
    Atomics.store(this.sched, SCHED.CMD, -1);
    Atomics.notify(this.sched, SCHED.CMD);
  }
}
