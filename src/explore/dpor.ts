// Bounded exhaustive search with dynamic partial-order reduction: source-set DPOR with sleep sets
// (Abdulla et al., POPL'14), stateless like the DFS (each schedule re-runs from the start with
// its prefix forced). Instead of every interleaving it runs one per Mazurkiewicz trace: after a
// schedule, each race (two dependent steps of different threads that nothing else orders) adds a
// backtrack point where running the later side first reverses it; a thread explored at a node
// sleeps in the siblings after it until a step dependent with its pending one runs.
//
// The preemption bound (as in the DFS) is kept the way Coons, Musuvathi and McKinley's bounded
// POR does it (OOPSLA'13): a reversal that would cost a preemption is also tried at the last
// context switch before the race, where it costs none.
import { HappensBefore, independent, type Event } from './dpor-races.js';
import { NondeterministicScenarioError } from './dfs.js';
import type { Access, Chooser, StepView } from './scheduler.js';

interface Node {
  enabled: number[];
  /** Pending accesses of the enabled threads at this node. */
  pending: Map<number, Access>;
  chosen: number;
  backtrack: Set<number>;
  done: Set<number>;
  sleep: Map<number, Access>;
  /** Preemptions before this step; the thread that ran the previous step. */
  before: number;
  last: number;
  /** Reached by a step the sleep set or the bound did not allow: nothing to backtrack to here. */
  frozen: boolean;
}

/** A node as JSON (maps and sets as arrays). */
type NodeJson = Omit<Node, 'pending' | 'backtrack' | 'done' | 'sleep'> & {
  pending: [number, Access][];
  backtrack: number[];
  done: number[];
  sleep: [number, Access][];
};

/** The whole search state, as JSON (a checkpoint). */
export interface DporSnapshot {
  stack: NodeJson[];
  started: boolean;
  exhausted: boolean;
  sleepBlocked: number;
  replayed: number;
}

/** Thread ids a vector clock needs room for (threads, and store-buffer flushes as threads of their own). */
const CLOCK_WIDTH = 16;

export class DporSearch {
  private stack: Node[] = [];
  private started = false;
  exhausted = false;
  /** Schedules that ran into a node whose every allowed thread was asleep (redundant runs). */
  sleepBlocked = 0;
  /** Steps of the previous schedule that were replayed (the races of those were seen already). */
  private replayed = 0;

  constructor(private readonly bound: number) {}

  next(): Chooser | undefined {
    if (this.exhausted) return undefined;
    if (this.started) {
      this.addBacktracks();
      if (!this.backtrack()) {
        this.exhausted = true;
        return undefined;
      }
    }
    this.started = true;
    let blocked = false;
    return {
      choose: (enabled, step, last, view) => {
        if (step < this.stack.length) return this.replay(enabled, step);
        const n = this.extend(enabled, step, last, view!);
        if (n.frozen && !blocked) {
          blocked = true;
          this.sleepBlocked++;
        }
        return n.chosen;
      },
    };
  }

  hasMore(): boolean {
    return !this.exhausted;
  }

  /** The choices the next schedule is forced to make. */
  prefix(): number[] {
    return this.stack.map((n) => n.chosen);
  }

  snapshot(): DporSnapshot {
    const stack = this.stack.map((n) => ({ ...n, pending: [...n.pending], backtrack: [...n.backtrack], done: [...n.done], sleep: [...n.sleep] }));
    return structuredClone({ stack, started: this.started, exhausted: this.exhausted, sleepBlocked: this.sleepBlocked, replayed: this.replayed });
  }

  restore(s: DporSnapshot): void {
    this.stack = s.stack.map((n) => ({ ...n, pending: new Map(n.pending), backtrack: new Set(n.backtrack), done: new Set(n.done), sleep: new Map(n.sleep) }));
    this.started = s.started;
    this.exhausted = s.exhausted;
    this.sleepBlocked = s.sleepBlocked;
    this.replayed = s.replayed;
  }

  private replay(enabled: readonly number[], step: number): number {
    const f = this.stack[step];
    if (f.enabled.length !== enabled.length || f.enabled.some((t, k) => t !== enabled[k]))
      throw new NondeterministicScenarioError(
        `the scenario is not deterministic: re-running the same choices, step ${step} has threads ${enabled.join(', ')} enabled, before ${f.enabled.join(', ')}`,
      );
    return f.chosen;
  }

  private preempts(n: Pick<Node, 'enabled' | 'last'>, t: number): boolean {
    return n.last >= 0 && n.enabled.includes(n.last) && t !== n.last;
  }

  /** A new node at the end of the path: its sleep set from the parent's, then the first allowed thread. */
  private extend(enabled: readonly number[], step: number, last: number, view: StepView): Node {
    const parent = this.stack[step - 1];
    const pending = new Map(enabled.map((t) => [t, view.access(t)] as const));
    const sleep = new Map<number, Access>();
    let before = 0;
    let frozen = false;
    if (parent) {
      const ran = parent.pending.get(parent.chosen)!;
      // The bound makes a context switch dependent with everything (Coons et al.'s "bound
      // dependence"): moving a sleeping step across a switch may cost preemptions the bound does
      // not have, so every thread asleep wakes at a switch. Only the siblings just explored sleep.
      const switched = parent.last >= 0 && parent.chosen !== parent.last;
      if (!switched) for (const [t, a] of parent.sleep) if (independent(a, ran)) sleep.set(t, a);
      for (const t of parent.done) if (t !== parent.chosen && independent(parent.pending.get(t)!, ran)) sleep.set(t, parent.pending.get(t)!);
      before = parent.before + (this.preempts(parent, parent.chosen) ? 1 : 0);
      frozen = parent.frozen;
    }
    const n: Node = { enabled: [...enabled], pending, chosen: -1, backtrack: new Set(), done: new Set(), sleep, before, last, frozen };
    const allowed = (t: number) => !sleep.has(t) && (before < this.bound || !this.preempts(n, t));
    const order = enabled.includes(last) ? [last, ...enabled.filter((t) => t !== last)] : [...enabled];
    let t = order.find(allowed);
    if (t === undefined) {
      n.frozen = true; // every allowed thread sleeps: this run is redundant from here, finish it without preempting
      t = order[0];
    }
    n.chosen = t;
    n.done.add(t);
    n.backtrack.add(t);
    this.stack.push(n);
    return n;
  }

  /** Race analysis of the schedule just run: backtrack points that reverse each race. */
  private addBacktracks(): void {
    const events: Event[] = this.stack.map((n) => ({ thread: n.chosen, access: n.pending.get(n.chosen)! }));
    const hb = new HappensBefore(events, CLOCK_WIDTH);
    for (let j = this.replayed; j < events.length; j++)
      for (const i of hb.racesOf(j)) {
        const initials = hb.initials(i, j);
        this.addAt(i, initials, events[j].thread);
        // bounded POR: also at the last context switch at or before i, where it costs no preemption
        let k = i;
        while (k > 0 && this.stack[k].chosen === this.stack[k - 1].chosen) k--;
        if (k !== i) this.addAt(k, [events[j].thread, ...initials], events[j].thread);
      }
  }

  /** Unless node i already covers one of `initials`, add one (the racing thread if it can). */
  private addAt(i: number, initials: number[], prefer: number): void {
    const n = this.stack[i];
    if (n.frozen) return;
    if (initials.some((t) => n.backtrack.has(t) || n.sleep.has(t))) return;
    const fits = (t: number) => n.enabled.includes(t) && (n.before < this.bound || !this.preempts(n, t));
    const pick = initials.includes(prefer) && fits(prefer) ? prefer : initials.find(fits);
    if (pick !== undefined) n.backtrack.add(pick);
    else if (initials.some((t) => !n.enabled.includes(t))) for (const t of n.enabled) if (fits(t)) n.backtrack.add(t); // blocked there: try all
  }

  /** The deepest node with a thread still to explore: it becomes the path's end. */
  private backtrack(): boolean {
    while (this.stack.length > 0) {
      const n = this.stack[this.stack.length - 1];
      const t = n.frozen ? undefined : [...n.backtrack].find((x) => !n.done.has(x) && !n.sleep.has(x));
      if (t !== undefined) {
        n.chosen = t;
        n.done.add(t);
        this.replayed = this.stack.length - 1;
        return true;
      }
      this.stack.pop();
    }
    return false;
  }
}
