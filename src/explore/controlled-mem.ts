// The controlled executor, thread side: the same SharedMem interface the protocol code always
// uses, but every operation first announces itself on the scheduling block and waits for its turn.
// Exactly one scenario thread runs between two turns, so a run is one interleaving, chosen by
// the scheduler, and replays exactly.
import { MUTATION_OPS, OPS, SCHED, ThreadState, type MutationOp, type OpName } from './sched-layout.js';
import type { SharedMem, WaitResult } from '../machine/shared-mem.js';
import { StoreBuffer } from './store-buffer.js';

/** The scheduler cut the schedule off (step limit): unwind without touching shared memory. */
export class ScheduleAborted extends Error {}
/** No turn came for TURN_TIMEOUT_MS: the scheduler is gone or stuck; the thread fails. */
export class TurnTimeoutError extends Error {}

/**
 * Spin until a[i] !== old for at most spinUs (a hand-off is a few µs when both sides are awake;
 * parking costs a wake-up, ~10 µs here). Only the scheduler and the thread that just ran spin.
 */
export function spinFor(a: Int32Array, i: number, old: number, spinUs: number): boolean {
  if (spinUs <= 0) return Atomics.load(a, i) !== old;
  const until = performance.now() + spinUs / 1000;
  for (let n = 1; ; n++) {
    if (Atomics.load(a, i) !== old) return true;
    if ((n & 31) === 0 && performance.now() >= until) return false;
  }
}

const OP = Object.fromEntries(OPS.map((o, i) => [o, i])) as Record<OpName, number>;

/** How long a thread waits for its turn before it decides the scheduler is gone. */
const TURN_TIMEOUT_MS = 30_000;

export class ControlledMem implements SharedMem {
  readonly scheduled = true;
  private readonly base: number;
  /** Coverage runs: told of every operation (src/explore/coverage.ts reads its site off the stack). */
  coverage?: { hit(): void };
  /** x86-TSO: plain stores go to this thread's store buffer (SCHED.MODEL = 1). */
  private readonly tso: boolean;
  private readonly sb: StoreBuffer;
  /** Mutation delay-store: a store is buffered until the thread's next load has run. */
  private delayed = false;
  /** Mutation delay-store under TSO (a missing fence): the next fence before a load or drain is left out. */
  private skipFence = false;

  constructor(
    private readonly sched: Int32Array,
    private readonly thread: number,
    private readonly machine: SharedArrayBuffer,
    private readonly scratch: SharedArrayBuffer,
  ) {
    this.base = SCHED.THREADS + thread * SCHED.THREAD_WORDS;
    this.tso = Atomics.load(sched, SCHED.MODEL) === 1;
    this.sb = new StoreBuffer(sched, thread, [new Int32Array(machine), new Int32Array(scratch)]);
  }

  /** The mutation applied to this operation, if the mutant's site is this thread and this word. */
  private mutated(a: Int32Array, i: number): MutationOp | undefined {
    const s = this.sched;
    const op = Atomics.load(s, SCHED.MUT_OP);
    if (op === 0 || Atomics.load(s, SCHED.MUT_THREAD) !== this.thread) return undefined;
    const [buf, addr] = this.where(a, i);
    if (Atomics.load(s, SCHED.MUT_BUF) !== buf || Atomics.load(s, SCHED.MUT_ADDR) !== addr) return undefined;
    return MUTATION_OPS[op - 1];
  }

  /** Before a LOCK-prefixed operation (RMW), a fence, or a futex call: the buffer drains first. */
  private drain(): void {
    this.skipFence = false; // the locked operation drains anyway: no fence left to miss
    if (this.tso) this.sb.drain();
  }

  /** The mutation changed what this thread did (mutation testing tells equivalent mutants apart). */
  private fired(): void {
    Atomics.add(this.sched, SCHED.MUT_FIRED, 1);
  }

  private where(a: Int32Array, i: number): [number, number] {
    const buf = a.buffer === this.machine ? 0 : a.buffer === this.scratch ? 1 : -1;
    if (buf < 0) throw new Error('controlled executor: access to memory outside the machine and the scenario scratch');
    return [buf, (a.byteOffset >> 2) + i];
  }

  /** Announce the next operation, wait for GO, and return once it is this thread's turn. */
  private turn(op: number, a: Int32Array, i: number, value: number, state: number = ThreadState.Ready, value2 = 0): void {
    const [buf, addr] = this.where(a, i);
    this.turnAt(op, buf, addr, value, state, value2);
  }

  private turnAt(op: number, buf: number, addr: number, value: number, state: number = ThreadState.Ready, value2 = 0): void {
    const s = this.sched;
    const b = this.base;
    // An aborted schedule unwinds through finally blocks (unlock, end of a DMA): those must not
    // announce new operations, or the thread would wait for a turn that never comes.
    if (Atomics.load(s, b + SCHED.ABORT) !== 0) throw new ScheduleAborted('schedule aborted by the scheduler');
    this.coverage?.hit();
    Atomics.store(s, b + SCHED.OP, op);
    Atomics.store(s, b + SCHED.BUF, buf);
    Atomics.store(s, b + SCHED.ADDR, addr);
    Atomics.store(s, b + SCHED.VALUE, value);
    Atomics.store(s, b + SCHED.VALUE2, value2);
    const go = Atomics.load(s, b + SCHED.GO);
    Atomics.store(s, b + SCHED.SPIN_STOP, 0);
    Atomics.store(s, b + SCHED.STATE, state);
    Atomics.notify(s, b + SCHED.STATE);
    if (this.spinForTurn(go)) {
      if (Atomics.load(s, b + SCHED.ABORT) !== 0) throw new ScheduleAborted('schedule aborted by the scheduler');
      return;
    }
    const deadline = performance.now() + TURN_TIMEOUT_MS;
    while (Atomics.load(s, b + SCHED.GO) === go) {
      Atomics.wait(s, b + SCHED.GO, go, 1000);
      if (Atomics.load(s, b + SCHED.ABORT) !== 0) throw new ScheduleAborted('schedule aborted by the scheduler');
      if (performance.now() > deadline) throw new TurnTimeoutError(`no turn from the scheduler for ${TURN_TIMEOUT_MS / 1000} s`);
    }
    if (Atomics.load(s, b + SCHED.ABORT) !== 0) throw new ScheduleAborted('schedule aborted by the scheduler');
  }

  /** Spin (bounded) for GO, unless the scheduler says another thread runs next. */
  private spinForTurn(go: number): boolean {
    const s = this.sched;
    const b = this.base;
    const spinUs = Atomics.load(s, SCHED.SPIN_US);
    if (spinUs <= 0) return false;
    const until = performance.now() + spinUs / 1000;
    for (let n = 1; ; n++) {
      if (Atomics.load(s, b + SCHED.GO) !== go) return true;
      if (Atomics.load(s, b + SCHED.SPIN_STOP) !== 0) return false;
      if ((n & 31) === 0 && performance.now() >= until) return false;
    }
  }

  /** Report what the operation just executed did; the scheduler reads it at the next announcement. */
  private done(before: number, after: number, ret: number): void {
    const s = this.sched;
    Atomics.store(s, this.base + SCHED.PREV_BEFORE, before);
    Atomics.store(s, this.base + SCHED.PREV_AFTER, after);
    Atomics.store(s, this.base + SCHED.PREV_RET, ret);
  }

  /** Under TSO a load sees the thread's own newest buffered store to the word first. */
  load(a: Int32Array, i: number): number {
    this.turn(OP.load, a, i, 0);
    this.skipFence = false; // a fence after the store would have come before this load
    const v = this.tso || this.delayed ? (this.sb.newest(...this.where(a, i)) ?? Atomics.load(a, i)) : Atomics.load(a, i);
    this.done(v, v, v);
    if (this.delayed && !this.tso) this.sb.drain(); // the delayed store shows only now
    this.delayed = false;
    return v;
  }
  /** Under TSO the store only enters the thread's store buffer; a flush step makes it visible. */
  store(a: Int32Array, i: number, v: number): number {
    const mut = this.mutated(a, i);
    this.turn(OP.store, a, i, v);
    if (mut === 'skip-store') {
      const now = this.tso ? (this.sb.newest(...this.where(a, i)) ?? Atomics.load(a, i)) : Atomics.load(a, i);
      if (now !== (v | 0)) this.fired(); // skipping a store of the value already there changes nothing
      this.done(Atomics.load(a, i), Atomics.load(a, i), v);
      return v;
    }
    // under TSO every store may be seen late already: the mutant is the fence after it left out
    if (mut === 'delay-store' && this.tso) this.skipFence = true;
    else if (mut === 'delay-store') this.delayed = true;
    if (this.tso || mut === 'delay-store') {
      const [buf, addr] = this.where(a, i);
      const old = this.sb.newest(buf, addr) ?? Atomics.load(a, i);
      this.sb.push(buf, addr, v | 0);
      this.done(old, v | 0, v);
      return v;
    }
    const old = Atomics.exchange(a, i, v);
    this.done(old, v | 0, v);
    return v;
  }
  /** A step only when there is something to drain (so SC schedules are the same with or without fences). */
  fence(): void {
    if (!this.tso || this.sb.size === 0) return;
    if (this.skipFence) {
      this.skipFence = false;
      this.fired();
      const last = this.sb.latest()!; // the buffer is not empty: checked above
      Atomics.store(this.sched, SCHED.MUT_FENCE_BUF, last.buf);
      Atomics.store(this.sched, SCHED.MUT_FENCE_ADDR, last.addr);
      return;
    }
    const first = this.sb.oldest()!;
    this.turnAt(OP.fence, first.buf, first.addr, this.sb.size);
    this.sb.drain();
    this.done(0, 0, 0);
  }
  /** A read-modify-write: one step; the trace gets the word before and after. */
  private rmw(op: number, f: (a: Int32Array, i: number, v: number) => number, a: Int32Array, i: number, v: number): number {
    if (this.mutated(a, i) === 'split-rmw') return this.splitRmw(a, i, (old) => { const t = new Int32Array([old]); f(t, 0, v); return t[0]; });
    this.turn(op, a, i, v);
    this.drain();
    const old = f(a, i, v);
    this.done(old, Atomics.load(a, i), old);
    return old;
  }
  add(a: Int32Array, i: number, v: number): number {
    return this.rmw(OP.add, Atomics.add, a, i, v);
  }
  sub(a: Int32Array, i: number, v: number): number {
    return this.rmw(OP.sub, Atomics.sub, a, i, v);
  }
  or(a: Int32Array, i: number, v: number): number {
    return this.rmw(OP.or, Atomics.or, a, i, v);
  }
  and(a: Int32Array, i: number, v: number): number {
    return this.rmw(OP.and, Atomics.and, a, i, v);
  }
  /** Mutation split-rmw: the RMW as a load and a separate store (another thread may run between). */
  private splitRmw(a: Int32Array, i: number, next: (old: number) => number): number {
    const old = this.load(a, i);
    this.store(a, i, next(old));
    return old;
  }

  compareExchange(a: Int32Array, i: number, expected: number, replacement: number): number {
    if (this.mutated(a, i) === 'split-rmw') {
      const old = this.load(a, i);
      if (old === (expected | 0)) this.store(a, i, replacement);
      return old;
    }
    this.turn(OP.compareExchange, a, i, expected, ThreadState.Ready, replacement);
    this.drain();
    const old = Atomics.compareExchange(a, i, expected, replacement);
    this.done(old, Atomics.load(a, i), old);
    return old;
  }

  /**
   * A wait is a step, with Atomics.wait's meaning. If the word already differs it returns at once;
   * otherwise the thread blocks until another thread's notify on the same word wakes it ("ok"),
   * or, when every live thread is blocked, the scheduler lets its timeout fire ("timed-out"). A
   * change of the word alone wakes nobody: a missing notify is a lost wake-up, and it shows.
   */
  wait(a: Int32Array, i: number, value: number): WaitResult {
    this.turn(OP.wait, a, i, value);
    this.drain();
    const now = Atomics.load(a, i);
    if (now !== value) {
      this.done(now, now, 0);
      return 'not-equal';
    }
    this.done(now, now, 1);
    // Blocked from here on, in the same step: no notify can fall between the check and the block.
    Atomics.store(this.sched, this.base + SCHED.NOTIFIED, 0);
    this.turn(OP.wake, a, i, value, ThreadState.Blocked);
    const why = Atomics.load(this.sched, this.base + SCHED.WAKE);
    const after = Atomics.load(a, i);
    this.done(value, after, why);
    return why === 2 ? 'timed-out' : 'ok';
  }

  /** Not a scheduling point: blocked threads are woken by the value they wait on changing. */
  /** A step: wake up to `count` threads blocked on this word (lowest thread first), as Atomics.notify. */
  notify(a: Int32Array, i: number, count = Infinity): number {
    const drop = this.mutated(a, i) === 'drop-notify';
    this.turn(OP.notify, a, i, count === Infinity ? -1 : count);
    if (drop) {
      if (this.wake(a, i, count, false) > 0) this.fired(); // a waiter was there: a lost wake-up
      this.done(Atomics.load(a, i), Atomics.load(a, i), 0);
      return 0;
    }
    this.drain();
    const woken = this.wake(a, i, count, true);
    const v = Atomics.load(a, i);
    this.done(v, v, woken);
    return woken;
  }

  /** The threads blocked on this word that a notify wakes (lowest first); `mark` wakes them. */
  private wake(a: Int32Array, i: number, count: number, mark: boolean): number {
    const [buf, addr] = this.where(a, i);
    const s = this.sched;
    let woken = 0;
    for (let t = 0; t < SCHED.MAX_THREADS && woken < count; t++) {
      const b = SCHED.THREADS + t * SCHED.THREAD_WORDS;
      if (b === this.base || Atomics.load(s, b + SCHED.STATE) !== ThreadState.Blocked) continue;
      if (Atomics.load(s, b + SCHED.BUF) !== buf || Atomics.load(s, b + SCHED.ADDR) !== addr) continue;
      if (Atomics.load(s, b + SCHED.NOTIFIED) !== 0) continue;
      if (mark) Atomics.store(s, b + SCHED.NOTIFIED, 1);
      woken++;
    }
    return woken;
  }

  /** The thread's script finished (or threw): report and let the scheduler go on. */
  finish(result: number, error: boolean): void {
    const s = this.sched;
    Atomics.store(s, this.base + SCHED.RESULT, result);
    Atomics.store(s, this.base + SCHED.STATE, error ? ThreadState.Error : ThreadState.Done);
    Atomics.notify(s, this.base + SCHED.STATE);
  }
}
