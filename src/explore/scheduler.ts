// The controlled executor, scheduler side: runs one schedule on the scenario's threads (real
// workers, parked between turns), letting exactly one of them execute one shared-memory operation
// per step. A Chooser decides which; the scheduler records the choices and the trace.
import { FLUSH_BASE, MUTATION_OPS, OPS, SCHED, SCHED_ERROR_CHARS, ThreadState, schedErrorBase, type MemoryModel, type MutationOp, type OpName } from './sched-layout.js';
import { StoreBuffer } from './store-buffer.js';
import { Machine } from '../machine/machine.js';
import type { Variant } from '../core/types.js';
import { DEADLOCK, LOST_WAKEUP, STEP_LIMIT, THREAD_ERROR, oracleOutcome, verdictOf, type Scenario } from '../core/scenario.js';
import { wordName, type TraceStep } from './trace-step.js';
import { spinFor } from './controlled-mem.js';

/** Forced timeouts in one schedule beyond which it is called a deadlock. */
export const DEADLOCK_TIMEOUTS = 32;

/** The shared word a pending step touches, and whether it writes it (RMW, wait and notify do). */
export interface Access {
  buf: number;
  addr: number;
  write: boolean;
}

/** What a chooser may look at besides the enabled set: the operation each thread is about to do. */
export interface StepView {
  access(t: number): Access;
  /** The times the mutant's mutation changed what its thread did so far (mutation testing). */
  mutationFired?(): number;
  /** Thread t's store buffer holds a store to this word not yet seen by the others (x86-TSO). */
  buffered?(t: number, buf: number, addr: number): boolean;
}

export interface Chooser {
  /** Pick one of `enabled` (sorted thread indices, never empty) for step `step`. */
  choose(enabled: readonly number[], step: number, last: number, view?: StepView): number;
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

/** What one schedule has done so far, while it runs. */
interface Progress {
  choices: number[];
  trace?: TraceStep[];
  /** The thread that took the last step (-1 before the first). */
  last: number;
  forcedTimeouts: number;
  /** Why the schedule was cut off (DEADLOCK or STEP_LIMIT), if it was. */
  cut?: string;
}

const STEP_WAIT_MS = 10_000;

export class ScheduleRunner implements StepView {
  readonly m: Machine;
  readonly scratch: Int32Array;
  private readonly all: Int32Array;
  private readonly n: number;
  private epoch = 0;
  /** x86-TSO: the threads' store buffers (flushing one entry is a step of its own). */
  private readonly buffers: StoreBuffer[];

  constructor(
    readonly scenario: Scenario,
    readonly variant: Variant,
    readonly sched: Int32Array,
    machineSab: SharedArrayBuffer,
    scratchSab: SharedArrayBuffer,
    readonly maxSteps = 5000,
    /** Spin this long on each side of a hand-off before parking (0 when threads outnumber cores). */
    readonly spinUs = 0,
    public memoryModel: MemoryModel = 'sc',
  ) {
    Atomics.store(sched, SCHED.SPIN_US, spinUs);
    Atomics.store(sched, SCHED.MODEL, memoryModel === 'tso' ? 1 : 0);
    this.m = new Machine(machineSab, scenario.spec);
    this.all = new Int32Array(machineSab);
    this.scratch = new Int32Array(scratchSab);
    this.n = scenario.threads.length;
    this.buffers = Array.from({ length: this.n }, (_, t) => new StoreBuffer(sched, t, [this.all, this.scratch]));
  }

  /** Mutation testing: the threads that wrote each word ("buf|addr"), over every schedule run since set. */
  writers?: Map<string, Set<number>>;

  /** Switch the memory model from the next schedule on (each schedule's threads read it as they start). */
  setMemoryModel(model: MemoryModel): void {
    this.memoryModel = model;
    Atomics.store(this.sched, SCHED.MODEL, model === 'tso' ? 1 : 0);
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
    this.startAll();
    const p: Progress = { choices: [], trace: withTrace ? [] : undefined, last: -1, forcedTimeouts: 0 };
    const enabled: number[] = [];
    for (let step = 0; ; step++) {
      const next = this.collectEnabled(enabled, p);
      if (next === 'end') break;
      if (step >= this.maxSteps) {
        p.cut = STEP_LIMIT;
        this.abortAll();
        break;
      }
      this.take(this.choose(chooser, enabled, step, p.last), step, next === 'timeout', p);
    }
    return this.result(p);
  }

  /** Reset memory, start a new epoch and wait until every thread has announced its first op. */
  private startAll(): void {
    const { sched, n } = this;
    this.resetMemory();
    for (const sb of this.buffers) sb.clear();
    for (let t = 0; t < n; t++) {
      const b = this.base(t);
      Atomics.store(sched, b + SCHED.ABORT, 0);
      Atomics.store(sched, b + SCHED.STATE, ThreadState.Running);
    }
    Atomics.store(sched, SCHED.CMD, ++this.epoch);
    Atomics.notify(sched, SCHED.CMD);
    for (let t = 0; t < n; t++) this.settle(t);
  }

  /**
   * Fill `enabled` with the threads that may take the next step: 'step' when some can, 'timeout'
   * when only a forced wait timeout can go on, 'end' when every thread finished or a deadlock cut
   * the schedule off.
   */
  private collectEnabled(enabled: number[], p: Progress): 'step' | 'timeout' | 'end' {
    const { sched, n } = this;
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
    for (let t = 0; t < n; t++) if (this.buffers[t].size > 0) enabled.push(FLUSH_BASE + t);
    if (enabled.length > 0) return 'step';
    if (blocked === 0) return 'end';
    // Every live thread waits on a word nobody changes: let one wait time out (all protocol
    // waits have timeouts and re-check). Many of these in one schedule is a deadlock.
    if (++p.forcedTimeouts > DEADLOCK_TIMEOUTS) {
      p.cut = DEADLOCK;
      this.abortAll();
      return 'end';
    }
    for (let t = 0; t < n; t++) if (this.state(t) === ThreadState.Blocked) enabled.push(t);
    return 'timeout';
  }

  /** Ask the chooser; whatever goes wrong, leave every thread ready for the next schedule. */
  private choose(chooser: Chooser, enabled: readonly number[], step: number, last: number): number {
    let t: number;
    try {
      t = chooser.choose(enabled, step, last, this);
    } catch (e) {
      this.abortAll();
      throw e;
    }
    if (!enabled.includes(t)) {
      this.abortAll();
      throw new ExplorerError(`schedule chose thread ${t} at step ${step}, enabled were ${enabled.join(',')}`);
    }
    return t;
  }

  /** Let thread t execute its announced operation (step `step`) and wait until it settles. */
  private take(t: number, step: number, timeout: boolean, p: Progress): void {
    if (t >= FLUSH_BASE) return this.flush(t, step, p);
    const { sched } = this;
    const b = this.base(t);
    // the thread that ran last may be spinning for its turn: free its core for this one
    if (p.last >= 0 && t !== p.last) Atomics.store(sched, this.base(p.last) + SCHED.SPIN_STOP, 1);
    if (this.writers) this.noteWriter(t);
    const wasBlocked = this.state(t) === ThreadState.Blocked;
    if (wasBlocked) Atomics.store(sched, b + SCHED.WAKE, timeout ? 2 : 1);
    // read before the release: once it runs, the thread announces its next operation there
    const op = p.trace ? this.announced(b) : undefined;
    Atomics.store(sched, b + SCHED.STATE, ThreadState.Running);
    Atomics.add(sched, b + SCHED.GO, 1);
    Atomics.notify(sched, b + SCHED.GO);
    this.settle(t);
    p.choices.push(t);
    p.last = t;
    if (p.trace && op) {
      p.trace.push({
        step,
        thread: t,
        ...op,
        before: Atomics.load(sched, b + SCHED.PREV_BEFORE),
        after: Atomics.load(sched, b + SCHED.PREV_AFTER),
        ...(wasBlocked && timeout ? { timedOut: true as const } : {}),
      });
    }
  }

  /**
   * A flush step: the oldest store in thread (t - FLUSH_BASE)'s buffer becomes visible. It is no
   * thread's step: the thread that ran last stays the last (flushing is not a context switch).
   */
  private flush(t: number, step: number, p: Progress): void {
    const e = this.buffers[t - FLUSH_BASE].flushOldest()!;
    p.choices.push(t);
    p.trace?.push({ step, thread: t - FLUSH_BASE, op: 'flush', where: this.addressName(e.buf, e.addr), operand: e.value, before: e.before, after: e.value });
  }

  /** Thread t is about to store to or read-modify-write its announced word: note it as a writer. */
  private noteWriter(t: number): void {
    const op = this.opOf(t);
    if (op === 'load' || op === 'wait' || op === 'wake' || op === 'notify' || op === 'fence') return;
    const { buf, addr } = this.access(t);
    if (op === 'compareExchange' && this.wordNow(t, buf, addr) !== Atomics.load(this.sched, this.base(t) + SCHED.VALUE)) return; // fails: writes nothing
    const key = `${buf}|${addr}`;
    let set = this.writers!.get(key);
    if (!set) this.writers!.set(key, (set = new Set()));
    set.add(t);
  }

  buffered(t: number, buf: number, addr: number): boolean {
    return this.buffers[t].newest(buf, addr) !== undefined;
  }

  /** The word as thread t would read it now: its own newest buffered store first (TSO), else memory. */
  private wordNow(t: number, buf: number, addr: number): number {
    return this.buffers[t].newest(buf, addr) ?? Atomics.load(buf === 0 ? this.all : this.scratch, addr);
  }

  /** The operation thread t announced (mutation testing finds its sites this way). */
  opOf(t: number): OpName {
    return OPS[Atomics.load(this.sched, this.base(t) + SCHED.OP)];
  }

  /** The word thread t's announced operation touches (DPOR's dependence). */
  access(t: number): Access {
    if (t >= FLUSH_BASE) {
      const e = this.buffers[t - FLUSH_BASE].oldest()!;
      return { buf: e.buf, addr: e.addr, write: true };
    }
    const b = this.base(t);
    const op = OPS[Atomics.load(this.sched, b + SCHED.OP)];
    return { buf: Atomics.load(this.sched, b + SCHED.BUF), addr: Atomics.load(this.sched, b + SCHED.ADDR), write: op !== 'load' };
  }

  /** The operation the thread at line `b` announced, as the trace shows it. */
  private announced(b: number): Pick<TraceStep, 'op' | 'where' | 'operand' | 'replacement'> {
    const { sched } = this;
    const op = OPS[Atomics.load(sched, b + SCHED.OP)];
    return {
      op,
      where: this.addressName(Atomics.load(sched, b + SCHED.BUF), Atomics.load(sched, b + SCHED.ADDR)),
      operand: Atomics.load(sched, b + SCHED.VALUE),
      ...(op === 'compareExchange' ? { replacement: Atomics.load(sched, b + SCHED.VALUE2) } : {}),
    };
  }

  /** The outcome of the schedule just run, from the threads' results and the final memory. */
  private result(p: Progress): ScheduleResult {
    const { sched, n } = this;
    const errors: string[] = [];
    for (let t = 0; t < n; t++) if (this.state(t) === ThreadState.Error) errors.push(`${this.scenario.threads[t]}: ${this.errorText(t)}`);
    const results = Array.from({ length: n }, (_, t) => Atomics.load(sched, this.base(t) + SCHED.RESULT));
    let outcome: string;
    if (p.cut) outcome = p.cut;
    else if (errors.length > 0) outcome = THREAD_ERROR;
    else {
      outcome = this.scenario.outcome(results, this.m, this.scratch);
      if (verdictOf(this.scenario, outcome) !== 'FORBIDDEN') outcome = oracleOutcome(this.m.control, this.m) ?? outcome;
      // Every live thread waiting is a lost wake-up here (each scenario thread ends by itself and
      // wakes whoever waits for it); unless something worse happened, that is the outcome.
      if (p.forcedTimeouts > 0 && verdictOf(this.scenario, outcome) !== 'FORBIDDEN') outcome = LOST_WAKEUP;
    }
    const { choices, trace, forcedTimeouts } = p;
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

  /** Mutation testing: apply `op` to thread `thread`'s operations on word (buf, addr) from the next schedule on. */
  setMutation(m?: { op: MutationOp; thread: number; buf: number; addr: number }): void {
    const s = this.sched;
    Atomics.store(s, SCHED.MUT_OP, m ? MUTATION_OPS.indexOf(m.op) + 1 : 0);
    Atomics.store(s, SCHED.MUT_THREAD, m?.thread ?? 0);
    Atomics.store(s, SCHED.MUT_BUF, m?.buf ?? 0);
    Atomics.store(s, SCHED.MUT_ADDR, m?.addr ?? 0);
    Atomics.store(s, SCHED.MUT_FIRED, 0);
    Atomics.store(s, SCHED.MUT_FENCE_BUF, -1);
  }

  /** Delay-store under TSO: the word of the last store before a fence the mutation left out, if one was. */
  skippedFenceWord(): { buf: number; addr: number } | undefined {
    const buf = Atomics.load(this.sched, SCHED.MUT_FENCE_BUF);
    return buf < 0 ? undefined : { buf, addr: Atomics.load(this.sched, SCHED.MUT_FENCE_ADDR) };
  }

  /** How often the mutation changed what its thread did, over the schedules since setMutation. */
  mutationFired(): number {
    return Atomics.load(this.sched, SCHED.MUT_FIRED);
  }

  /** Tell the threads to exit their serve loops. */
  quit(): void {
    Atomics.store(this.sched, SCHED.CMD, -1);
    Atomics.notify(this.sched, SCHED.CMD);
  }
}
