// A focused search: schedules whose preemptions fall right after the operations on one word.
//
// The bounded DFS backtracks from the end of a schedule, so on a scenario of a few hundred steps
// its budget is spent on preemptions near the end; a race early in the schedule is met only after
// thousands of schedules. Someone who changed one protocol step knows the word it touches (and
// mutation testing knows its site), and the races a change there can cause need a thread switch
// within a few steps of an operation on that word: between the load and the store of a split RMW,
// after the load that follows a store whose fence is missing, before a waiter parks. So: run base
// schedules, note the steps (of any thread) that touched the word, and at each of the next
// `window` steps after each, switch to every other enabled thread (bound 1), and once more with a
// switch back to the preempted thread (bound 2; when: Focus.backOn). For a mutation that fires (a
// fence left out, a store or notify skipped) also right after each firing, and to the mutated
// thread just before another thread's touch. Base schedules: non-preemptive ones led by each
// thread (the lowest or the highest enabled thread next), then PCT ones.
import { FLUSH_BASE } from './sched-layout.js';
import { NonPreemptive, PctChooser, scheduleSeed } from './choosers.js';
import type { Chooser, StepView } from './scheduler.js';

/** The word to focus on (machine buffer 0 or scenario scratch 1). */
export interface Focus {
  buf: number;
  addr: number;
  /**
   * When a bound-2 schedule switches back: right after the other thread's step on the word
   * (default: a split RMW's store lands on the other's write), or right after the first step that
   * follows a firing of the mutation (a missing fence, a skipped store or notify).
   */
  backOn?: 'touch' | 'fire';
  /** The mutated thread (fire mode: switches to it just before another thread's touch). */
  thread?: number;
}

/** Step t (a thread's operation or a store-buffer flush) touches the word. */
function touches(view: StepView | undefined, t: number, f: Focus): boolean {
  if (!view) return false;
  const a = view.access(t);
  return a.buf === f.buf && a.addr === f.addr;
}

/** Did the mutation fire since the last look? (Its count runs over all schedules: the first look only reads it.) */
class Firings {
  private seen?: number;
  rose(view?: StepView): boolean {
    const n = view?.mutationFired?.() ?? 0;
    const up = this.seen !== undefined && n > this.seen;
    this.seen = n;
    return up;
  }
}

/**
 * Runs `inner` and records the choices, the enabled threads, the steps that touched the word and
 * the steps before which the mutation fired (a fence left out, a store or a notify skipped).
 */
class BaseRecorder implements Chooser {
  readonly choices: number[] = [];
  readonly enabled: number[][] = [];
  readonly hits: number[] = [];
  readonly fires: number[] = [];
  private readonly firings = new Firings();
  constructor(private readonly inner: Chooser, private readonly focus: Focus) {}
  choose(enabled: readonly number[], step: number, last: number, view?: StepView): number {
    const t = this.inner.choose(enabled, step, last, view);
    this.choices.push(t);
    this.enabled.push([...enabled]);
    if (touches(view, t, this.focus)) this.hits.push(step);
    if (this.firings.rose(view)) this.fires.push(step);
    return t;
  }
}

/**
 * Non-preemptive, but thread `leader` runs first, and when the running thread blocks the lowest
 * (or the highest) enabled thread goes on: bases where different threads get ahead.
 */
class LeaderFirst implements Chooser {
  constructor(
    private readonly leader: number,
    private readonly highest: boolean,
  ) {}
  choose(enabled: readonly number[], step: number, last: number): number {
    if (step === 0 && enabled.includes(this.leader)) return this.leader;
    if (enabled.includes(last)) return last;
    if (!this.highest) return enabled[0];
    const own = enabled.filter((t) => t < FLUSH_BASE);
    return own.length > 0 ? own[own.length - 1] : enabled[0];
  }
}

interface Switch {
  prefix: number[];
  to: number;
  /** Return to this thread when Focus.backOn says (undefined: run on without preemptions). */
  back?: number;
  /** backOn 'fire': return only when `to` is about to write after the firing (its loads all pass the buffered stores). */
  late?: boolean;
  /** backOn 'fire': switch forth to `to` again at the back thread's n-th stale read (default 1; 2: after a re-check). */
  staleReads?: number;
}

/**
 * Follows the prefix, switches, and (with `back`) switches back when `focus.backOn` says: with
 * 'fire', the load that passed a store whose fence is missing runs, then the back thread runs
 * before that store drains; at the back thread's stale read of that store's word it switches forth
 * once more, and the mutated thread's stores drain when it stops.
 */
class SwitchChooser implements Chooser {
  private readonly rest = new NonPreemptive();
  /** The step at which to switch back (none yet). */
  private backAt = Infinity;
  private backDone = false;
  /** The step at which to switch forth to `to` again (fire mode), and whether it happened. */
  private forthAt = Infinity;
  private forthDone = false;
  private staleSeen = 0;
  private readonly firings = new Firings();
  constructor(private readonly s: Switch, private readonly focus: Focus) {}
  choose(enabled: readonly number[], step: number, last: number, view?: StepView): number {
    const { prefix, to, back } = this.s;
    const onFire = this.focus.backOn === 'fire';
    if (this.firings.rose(view) && onFire && step > prefix.length) this.backAt = Math.min(this.backAt, step + 1);
    // late: hold the switch back while `to` goes on loading
    if (this.s.late && step >= this.backAt && !this.backDone && enabled.includes(to) && !view?.access(to).write) this.backAt = step + 1;
    let t: number;
    if (step < prefix.length && enabled.includes(prefix[step])) t = prefix[step];
    else if (step === prefix.length && enabled.includes(to)) t = to;
    else if (back !== undefined && !this.backDone && step >= this.backAt && enabled.includes(back)) {
      t = back;
      this.backDone = true;
    } else if (!this.forthDone && step >= this.forthAt && enabled.includes(to)) {
      t = to;
      this.forthDone = true;
    } else if (this.forthDone && !enabled.includes(to) && enabled.includes(FLUSH_BASE + to)) {
      t = FLUSH_BASE + to; // `to` is done or blocked: its stores become visible before the stale reader goes on
    } else t = this.rest.choose(enabled, step, last);
    if (!onFire && step >= prefix.length && t === to && this.backAt === Infinity && touches(view, t, this.focus)) this.backAt = step + 1;
    if (onFire && this.backDone && t === back && this.forthAt === Infinity && readsStale(view, t, to) && ++this.staleSeen >= (this.s.staleReads ?? 1))
      this.forthAt = step + 1;
    return t;
  }
}

/**
 * Thread t's step reads a word `to` still holds in its store buffer: the stale read a missing fence
 * allows. Then `to` runs again (a third switch), drains and goes on while t holds what it read.
 */
function readsStale(view: StepView | undefined, t: number, to: number): boolean {
  if (!view?.buffered) return false;
  const a = view.access(t);
  return !a.write && view.buffered(to, a.buf, a.addr);
}

/**
 * The switches one base schedule offers: nearest the touching steps first, over all of them. In
 * fire mode, taking turns with those: their late variants, and two more kinds: right after each
 * firing, while the mutated thread's store is still buffered (or its store or notify just went
 * missing), to any other thread; and just before another thread's touch, to the mutated thread,
 * so its store and the fence it leaves out come first (the reclaimer's missing post fence in
 * iopf-fault-vs-reclaim needs this one: no touch precedes the switch by a window's length).
 */
function switchesOf(base: BaseRecorder, window: number, focus: Focus): Switch[] {
  const fire = focus.backOn === 'fire';
  const near: Switch[] = [];
  const lateOnes: Switch[] = [];
  const extra: Switch[] = [];
  const seen = new Set<string>();
  const at = (j: number, out: Switch[], only?: number): void => {
    if (j < 0 || j >= base.choices.length) return;
    const ran = base.choices[j];
    for (const u of base.enabled[j]) {
      if (u === ran || u >= FLUSH_BASE || (only !== undefined && u !== only) || seen.has(`${j}|${u}`)) continue;
      seen.add(`${j}|${u}`);
      const prefix = base.choices.slice(0, j);
      const back = ran < FLUSH_BASE ? ran : undefined;
      out.push({ prefix, to: u }, { prefix, to: u, back });
      if (fire && back !== undefined)
        (out === near ? lateOnes : out).push({ prefix, to: u, back, late: true }, { prefix, to: u, back, staleReads: 2 }, { prefix, to: u, back, late: true, staleReads: 2 });
    }
  };
  for (let d = 1; d <= window; d++) for (const k of base.hits) at(k + d, near);
  if (fire)
    for (let d = 0; d < window; d++) {
      for (const k of base.fires) at(k + d, extra);
      if (focus.thread !== undefined) for (const k of base.hits) if (base.choices[k] !== focus.thread) at(k - d - 1, extra, focus.thread);
    }
  return takeTurns(near, lateOnes, extra);
}

/** The lists' items, one from each list in turn. */
function takeTurns<T>(...lists: T[][]): T[] {
  const out: T[] = [];
  for (let i = 0; i < Math.max(...lists.map((l) => l.length)); i++) for (const l of lists) if (i < l.length) out.push(l[i]);
  return out;
}

/**
 * The schedules of a focused search, one at a time: `next()` gives the chooser of the next one.
 * First the non-preemptive bases (two led by each thread), then their switches taken in turn,
 * one base after the other (the nearest switches of every base before the farther ones); then a
 * PCT base of depth 2 (seeded by `seed`) and its switches, and so on: never exhausted.
 */
export class FocusSearch {
  /** The base run last, its switches not yet queued. */
  private base?: BaseRecorder;
  private readonly queues: Switch[][] = [];
  private turn = 0;
  private bases = 0;
  /** The length of the longest base schedule (PCT places its change point within it). */
  private steps = 1;
  private last?: () => Chooser;
  constructor(
    private readonly focus: Focus,
    private readonly threads: number,
    private readonly window = 12,
    private readonly seed = 1,
  ) {}

  next(): Chooser {
    if (this.base) {
      this.steps = Math.max(this.steps, this.base.choices.length);
      this.queues.push(switchesOf(this.base, this.window, this.focus));
      this.base = undefined;
    }
    const s = this.bases < 2 * this.threads ? undefined : this.nextSwitch();
    if (s) {
      this.last = () => new SwitchChooser(s, this.focus);
      return this.last();
    }
    const k = this.bases++;
    const { threads, steps } = this;
    this.last = () => (k < 2 * threads ? new LeaderFirst(k % threads, k >= threads) : new PctChooser(scheduleSeed(this.seed, k), threads, 2, steps));
    this.base = new BaseRecorder(this.last(), this.focus);
    return this.base;
  }

  /** The next switch, from each base's queue in turn; undefined when all are empty. */
  private nextSwitch(): Switch | undefined {
    for (let i = 0; i < this.queues.length; i++) {
      const q = this.queues[(this.turn + i) % this.queues.length];
      if (q.length === 0) continue;
      this.turn = (this.turn + i + 1) % this.queues.length;
      return q.shift();
    }
    return undefined;
  }

  /** A fresh chooser of the schedule `next()` gave last (to run it again, e.g. on the real protocol). */
  again(): Chooser {
    if (!this.last) throw new Error('FocusSearch.again(): no schedule yet');
    return this.last();
  }
}
