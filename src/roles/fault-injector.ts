// One role worker's fault injector: the specs of the plan aimed at this role, armed with their
// WHEN (a time, a rate, a probability per opportunity), and the fail-nth sweep's one failure.
// It answers the protocols' failure points (src/core/faults/hooks.ts) and runs the tick faults
// (preempt, spurious wake-ups, ring-full, balloon, rogue DMA, crash, hang) from the role's loop.
import { FaultBoard } from '../core/faults/board.js';
import type { FaultHooks } from '../core/faults/hooks.js';
import { POINT_KIND, type FailurePoint, type FaultKind } from '../core/faults/kinds.js';
import { drawDelay, parseFaultPlan, type FaultSpec } from '../core/faults/plan.js';
import { seededRandom } from '../core/random.js';
import type { BaseScenario, RoleName } from '../core/types.js';

export class InjectedCrashError extends Error {}

/** Which failure point the fail-nth sweep fails, and its ordinal over the run. */
export interface FailNth {
  point: FailurePoint;
  n: number;
}

/** The fault settings of a scenario (cfg.faults). */
export type FaultSettings = BaseScenario['faults'];

interface Armed {
  spec: FaultSpec;
  rnd: () => number;
  /** every: the next firing time; at: Infinity once fired. */
  next: number;
}

/** Kinds run from the role's loop (the others are answered at failure points or serve hooks). */
const TICK_KINDS: readonly FaultKind[] = ['preempt', 'spurious-wake', 'ring-full', 'balloon', 'rogue-dma', 'crash', 'hang'];

/** Does a spec aimed at `s` apply to this worker? Spurious wake-ups are sent by another role. */
function aimedAt(s: FaultSpec, role: RoleName, index: number): boolean {
  if (s.kind === 'spurious-wake') return role === (s.target === 'hypervisor' ? 'device' : 'hypervisor');
  if (s.target === 'host') return role === 'hypervisor' || role === 'sidecore';
  return s.target === role && (s.index < 0 || s.index === index);
}

/** The plan: --fault specs plus the old --inject-crash / --inject-hang (vCPU 0 when aimed at guests). */
export function planOf(faults: FaultSettings): FaultSpec[] {
  const specs = parseFaultPlan(faults.plan ?? []);
  for (const kind of ['crash', 'hang'] as const) {
    const f = faults[kind];
    if (f) specs.push({ kind, target: f.role, index: f.role === 'guest' ? 0 : -1, when: { at: f.afterMs }, param: 0, raw: `${kind}:${f.role}@${f.afterMs}ms` });
  }
  return specs;
}

export class FaultInjector implements FaultHooks {
  private readonly armed: Armed[] = [];
  private readonly failNth?: FailNth;
  private lastMs = 0;
  private holdUntil = 0;
  /** Actions a role registers for the tick kinds it can carry out (rogue DMA, balloon, wake-ups). */
  private readonly actions = new Map<FaultKind, (spec: FaultSpec) => void>();

  constructor(
    readonly board: FaultBoard,
    cfg: BaseScenario,
    readonly role: RoleName,
    readonly index: number,
    /** The role's label in errors ("guest vCPU 2", "sidecore"). */
    readonly label: string,
    private readonly elapsedMs: () => number,
  ) {
    this.failNth = cfg.faults.failNth;
    planOf(cfg.faults).forEach((spec, i) => {
      if (!aimedAt(spec, role, index)) return;
      const rnd = seededRandom((cfg.seed * 7919 + i * 104_729 + index * 131 + role.length) | 0);
      this.armed.push({ spec, rnd, next: 'every' in spec.when ? spec.when.every : 0 });
    });
  }

  /** Any fault aimed at this role (or a sweep)? Otherwise the role installs no hooks at all. */
  get active(): boolean {
    return this.armed.length > 0 || this.failNth !== undefined;
  }

  on(kind: FaultKind, action: (spec: FaultSpec) => void): void {
    this.actions.set(kind, action);
  }

  /** WHEN says this opportunity fires (`k` opportunities at once for per-ms probabilities). */
  private fires(a: Armed, now: number, k = 1): boolean {
    const w = a.spec.when;
    if ('p' in w) return a.rnd() < (k === 1 ? w.p : 1 - (1 - w.p) ** k);
    if (now < a.next) return false;
    a.next = 'every' in w ? Math.max(a.next + w.every, now) : Infinity;
    return true;
  }

  fail(point: FailurePoint): boolean {
    const n = this.board.reached(point);
    const kind = POINT_KIND[point];
    if (this.failNth && this.failNth.point === point && this.failNth.n === n) {
      if (kind) this.board.injected(kind);
      return true;
    }
    if (this.armed.length === 0) return false;
    const now = this.elapsedMs();
    for (const a of this.armed) {
      // a preemption at a failure point: the thread is descheduled mid-protocol
      if (a.spec.kind === 'preempt' && this.fires(a, now)) this.preempt(a.spec);
      else if (a.spec.kind === kind && this.fires(a, now)) {
        this.board.injected(kind);
        return true;
      }
    }
    return false;
  }

  react(kind: FaultKind, reaction: string): void {
    this.board.react(kind, reaction);
  }

  serving(): void {
    for (const a of this.armed) {
      if (a.spec.kind !== 'slow-host' || !this.fires(a, this.elapsedMs())) continue;
      const ms = drawDelay(a.spec.delay ?? { fixed: a.spec.param }, a.rnd);
      this.board.injected('slow-host');
      this.board.react('slow-host', 'delayedUs', ms * 1000);
      stall(ms);
    }
  }

  /** From the role's loop: the tick kinds, each millisecond at most. */
  tick(): void {
    const now = this.elapsedMs();
    const k = Math.floor(now) - this.lastMs;
    if (k <= 0) return;
    this.lastMs += k;
    for (const a of this.armed) {
      const kind = a.spec.kind;
      if (!TICK_KINDS.includes(kind) || !this.fires(a, now, k)) continue;
      this.board.injected(kind);
      this.run(kind, a.spec);
    }
  }

  private run(kind: FaultKind, spec: FaultSpec): void {
    if (kind === 'crash') throw new InjectedCrashError(`injected crash in ${this.label}`);
    if (kind === 'hang') hangForever();
    if (kind === 'preempt') return this.preempt(spec, false);
    if (kind === 'ring-full') {
      this.holdUntil = Math.max(this.holdUntil, this.elapsedMs() + spec.param);
      this.board.react('ring-full', 'heldMs', spec.param);
      return;
    }
    const action = this.actions.get(kind);
    if (!action) throw new Error(`${this.label} cannot inject ${kind}`);
    action(spec);
  }

  private preempt(spec: FaultSpec, count = true): void {
    if (count) this.board.injected('preempt');
    this.board.react('preempt', 'stoppedMs', spec.param);
    stall(spec.param);
  }

  /** ring-full: the device may not post completions until the hold ends. */
  holding(): boolean {
    return this.holdUntil > 0 && this.elapsedMs() < this.holdUntil;
  }

  /** While holding: wait a millisecond (alive, beating, but not posting). */
  holdSlice(): void {
    stall(1);
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** The thread stops for `ms` (no heartbeat: a descheduled thread does not beat). */
function stall(ms: number): void {
  if (ms > 0) Atomics.wait(sleeper, 0, 0, ms);
}

/** Block forever without a heartbeat, as a deadlocked thread would. */
function hangForever(): never {
  for (;;) Atomics.wait(sleeper, 0, 0);
}
