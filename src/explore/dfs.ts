// Bounded exhaustive search: depth-first over the choice tree with a preemption bound, deepened
// one preemption at a time (CHESS's iterative context bounding: most bugs need one or two
// preemptions, so every schedule with one comes before any with two). Stateless: each schedule
// re-runs from the start with the path so far forced, then extends it without preemptions;
// backtracking tries the next option at the deepest step that still has one. A pass with bound b
// meets again the schedules of the passes before it; those are run but reported as repeats.
//
// Sharding: every node of the tree carries the set of shards that own it. At a node with m options
// the set is dealt out among the options (round robin, or one shard each when there are fewer
// shards than options), so each leaf belongs to exactly one shard and shards need not talk.
// Slices nest (a shard of a machine, then a thread of the shard's pool): once a subtree belongs to
// one shard, that shard's threads are dealt out over it in the same way.
import type { Slice } from './slice.js';
import type { Chooser } from './scheduler.js';

interface Owners {
  level: number;
  ids: number[];
}

interface Frame {
  /** Options at this step, in the order they are tried (continuing the last thread first). */
  options: number[];
  /** Who owns the subtree under each option. */
  owners: Owners[];
  idx: number;
  /** Preemptions used by the path before this step. */
  before: number;
  /** The thread that ran at the previous step, and whether it could have run on. */
  last: number;
  lastEnabled: boolean;
  /** The enabled threads seen here: a re-run that sees others is not deterministic. */
  enabled: number[];
}

export class NondeterministicScenarioError extends Error {}

/** The whole search state, as JSON (a checkpoint). */
export interface DfsSnapshot {
  stack: Frame[];
  started: boolean;
  bound: number;
  exhausted: boolean;
  pruned: boolean;
}

export class DfsSearch {
  private readonly stack: Frame[] = [];
  private started = false;
  /** The bound of the current pass. */
  bound = 0;
  exhausted = false;
  /** Did this pass cut any option for the bound? If not, a higher bound adds nothing. */
  private pruned = false;

  constructor(
    private readonly preemptionBound: number,
    /** The nested slices this search owns, outermost first. */
    private readonly path: readonly Slice[] = [{ index: 0, count: 1 }],
  ) {}

  /** When this slice alone owns a subtree at one level, the next level's slices are dealt over it. */
  private descend(o: Owners): Owners {
    while (o.ids.length === 1 && o.ids[0] === this.path[o.level].index && o.level + 1 < this.path.length)
      o = { level: o.level + 1, ids: range(this.path[o.level + 1].count) };
    return o;
  }

  private mine(o: Owners): boolean {
    return o.ids.includes(this.path[o.level].index);
  }

  /** The chooser for the next schedule, or undefined when the space is done. */
  next(): Chooser | undefined {
    if (this.exhausted) return undefined;
    if (this.started && !this.backtrack()) {
      if (this.bound >= this.preemptionBound || !this.pruned) {
        this.exhausted = true;
        return undefined;
      }
      this.bound++; // next pass: the whole tree again, one more preemption allowed
      this.pruned = false;
    }
    this.started = true;
    return { choose: (enabled, step, last) => this.choose(enabled, step, last) };
  }

  private preemptions(f: Frame, t: number): number {
    return f.before + (f.lastEnabled && t !== f.last ? 1 : 0);
  }

  private choose(enabled: readonly number[], step: number, last: number): number {
    if (step < this.stack.length) {
      const f = this.stack[step];
      if (f.enabled.length !== enabled.length || f.enabled.some((t, k) => t !== enabled[k]))
        throw new NondeterministicScenarioError(
          `the scenario is not deterministic: re-running the same choices, step ${step} has threads ${enabled.join(', ')} enabled, before ${f.enabled.join(', ')}`,
        );
      return f.options[f.idx];
    }
    const parent = this.stack[step - 1];
    const before = parent ? this.preemptions(parent, parent.options[parent.idx]) : 0;
    const owners = parent ? parent.owners[parent.idx] : this.descend({ level: 0, ids: range(this.path[0].count) });
    const lastEnabled = last >= 0 && enabled.includes(last);
    const ordered = lastEnabled ? [last, ...enabled.filter((t) => t !== last)] : [...enabled];
    const allowed = ordered.filter((t) => !lastEnabled || t === last || before < this.bound);
    if (allowed.length < ordered.length) this.pruned = true;
    const dealt = deal(owners.ids, allowed.length);
    const options: number[] = [];
    const mine: Owners[] = [];
    allowed.forEach((t, j) => {
      const o = { level: owners.level, ids: dealt[j] };
      if (this.mine(o)) {
        options.push(t);
        mine.push(this.descend(o));
      }
    });
    this.stack.push({ options, owners: mine, idx: 0, before, last, lastEnabled, enabled: [...enabled] });
    return options[0];
  }

  /** The choices the next schedule is forced to make (past them it runs on without preemptions). */
  prefix(): number[] {
    return this.stack.map((f) => f.options[f.idx]);
  }

  snapshot(): DfsSnapshot {
    const { stack, started, bound, exhausted, pruned } = this;
    return structuredClone({ stack, started, bound, exhausted, pruned });
  }

  restore(s: DfsSnapshot): void {
    this.stack.splice(0, this.stack.length, ...structuredClone(s.stack));
    this.started = s.started;
    this.bound = s.bound;
    this.exhausted = s.exhausted;
    this.pruned = s.pruned;
  }

  /** Preemptions of the schedule just run. */
  lastPreemptions(): number {
    const f = this.stack[this.stack.length - 1];
    return f ? this.preemptions(f, f.options[f.idx]) : 0;
  }

  /** The schedule just run was already run by an earlier pass (it has fewer preemptions than this pass's bound). */
  repeated(): boolean {
    return this.lastPreemptions() < this.bound;
  }

  /**
   * Whether the schedule just run is this slice's to count. A path whose nodes had one option each
   * is shared by every owner of the node above: the first owner counts it (and, in nested slices,
   * slice 0 of each level below).
   */
  counts(): boolean {
    const f = this.stack[this.stack.length - 1];
    if (!f) return true;
    const o = f.owners[f.idx];
    if (o.ids[0] !== this.path[o.level].index) return false;
    return this.path.slice(o.level + 1).every((s) => s.index === 0);
  }

  /** Run, but not counted: a repeat from a lower bound, or another slice's schedule. */
  uncounted(): boolean {
    return this.repeated() || !this.counts();
  }

  /** Would next() give another schedule? (without moving the search) */
  hasMore(): boolean {
    if (this.exhausted) return false;
    if (!this.started) return true;
    if (this.stack.some((f) => f.idx + 1 < f.options.length)) return true;
    return this.bound < this.preemptionBound && this.pruned;
  }

  private backtrack(): boolean {
    while (this.stack.length > 0) {
      const f = this.stack[this.stack.length - 1];
      if (f.idx + 1 < f.options.length) {
        f.idx++;
        return true;
      }
      this.stack.pop();
    }
    return false;
  }
}

/** Deal a node's owning shards out among m options. */
function deal(owners: number[], m: number): number[][] {
  if (owners.length >= m) return Array.from({ length: m }, (_, j) => owners.filter((_, k) => k % m === j));
  return Array.from({ length: m }, (_, j) => [owners[j % owners.length]]);
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
