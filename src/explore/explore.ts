// A search: run schedules of one scenario with one strategy, classify each outcome, keep the
// histogram and the first FORBIDDEN schedule with the command that replays it.
//
// Work is split into slices so that threads, shards and machines never overlap and always add up:
// random and PCT give schedule number i to slice (i mod stride); DFS deals subtrees to tree shards.
import { type ExploreSession } from './session.js';
import { NonPreemptive, PctChooser, RandomChooser, pctBound, scheduleSeed } from './choosers.js';
import { DfsSearch, type DfsSnapshot } from './dfs.js';
import { DporSearch, type DporSnapshot } from './dpor.js';
import { scheduleDigest, type Checkpoint } from './checkpoint.js';
import { STEP_LIMIT, verdictOf, type Scenario, type Verdict } from '../core/scenario.js';
import type { Chooser } from './scheduler.js';
import { encodeChoices } from './schedule-string.js';
import type { MemoryModel } from './sched-layout.js';
import { preemptionsOf, shrinkSchedule } from './shrink.js';
import type { Variant } from '../core/types.js';
import { runMixed, type MixedCounts } from './mixed.js';

export const STRATEGIES = ['mixed', 'random', 'pct', 'dfs', 'dpor'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export interface SearchOptions {
  scenario: string;
  variant: Variant;
  strategy: Strategy;
  /** Schedules, in all (over every shard and thread). */
  budget: number;
  seed: number;
  /** PCT: bug depth d (d-1 change points). */
  depth: number;
  /** DFS: preemptions allowed per schedule. */
  preemptions: number;
  /** Schedules longer than this are cut off (outcome: step limit). */
  maxSteps: number;
  /** End the search at the first FORBIDDEN outcome (every slice, through the shared progress block). */
  stopOnForbidden?: boolean;
  /** End it too at the first schedule cut off by maxSteps (a livelock: mutate counts it as a kill). */
  stopOnStepLimit?: boolean;
  /** Shrink the first FORBIDDEN schedule before reporting it (default true). */
  shrink?: boolean;
  /** Sequentially consistent (default) or x86-TSO: plain stores wait in per-thread store buffers. */
  memoryModel?: MemoryModel;
}

/** Which part of the search this process runs: `index` of `count`. */
import type { Slice } from './slice.js';

export type { Slice } from './slice.js';

export interface FirstForbidden {
  schedule: string;
  outcome: string;
  /** A command line that replays it. */
  replay: string;
  /** Its number in the search (random / PCT: the seed index; DFS: the order within its slice). */
  index: number;
  /** The schedule is the shrunk one: as found it had this many steps and preemptions. */
  original?: { schedule: string; steps: number; preemptions: number };
  /** The shrunk schedule's preemptions and steps, and the schedules run to shrink it. */
  preemptions?: number;
  steps?: number;
  shrinkRuns?: number;
}

export interface ExploreResult {
  scenario: string;
  variant: Variant;
  strategy: Strategy;
  schedules: number;
  steps: number;
  /** The longest schedule run. */
  maxSteps: number;
  forbidden: number;
  histogram: Record<string, number>;
  verdicts: Record<string, Verdict>;
  firstForbidden?: FirstForbidden;
  /** DFS: the whole bounded space was searched (no more schedules within the preemption bound). */
  exhausted?: boolean;
  /** DFS: the bound asked for, the bound the search got to, and schedules run but not counted (re-met from a lower bound, or counted by another slice). */
  dfs?: { preemptionBound: number; reachedBound: number; repeats: number };
  /** DPOR: the bound, and schedules that ended up redundant (every allowed thread asleep at some step). */
  dpor?: { preemptionBound: number; sleepBlocked: number };
  /** PCT: the guarantee for a bug of the given depth. */
  pct?: ReturnType<typeof pctBound>;
  /** A hash of every counted schedule's choices, in order (checkpoint + resume must give the same). */
  digest?: number;
  /** mixed: schedules run by each strategy. */
  mixed?: MixedCounts;
  /** Outcomes the scenario must reach (mustReach) that this search never reached. */
  unreached?: string[];
  /** Every schedule ended in the same outcome: the search saw no race at all. */
  collapsed?: boolean;
  /** Ctrl-C / SIGTERM ended the search early: a partial result. */
  interrupted?: boolean;
  /** The parts of the search this result covers, as "index/count" slices. */
  slices: string[];
  options: SearchOptions;
  seconds: number;
}

export const DEFAULT_MAX_STEPS = 5000;

/** The command that replays `schedule`, quoted so a shell does not glob its `*`s (zsh fails on them). */
export function replayCommand(o: Pick<SearchOptions, 'scenario' | 'variant' | 'maxSteps' | 'memoryModel'>, schedule: string): string {
  return (
    `viommu-lab replay --scenario ${o.scenario}${o.variant === 'none' ? '' : ` --variant ${o.variant}`}` +
    `${o.memoryModel === 'tso' ? ' --memory-model tso' : ''}` +
    `${o.maxSteps === DEFAULT_MAX_STEPS ? '' : ` --max-steps ${o.maxSteps}`} --schedule '${schedule}'`
  );
}

/** Nested slices (shard of the search, thread of the shard) as one flat slice of the seed space. */
export function flatten(path: readonly Slice[]): Slice {
  let index = 0;
  let count = 1;
  for (const s of path) {
    index += count * s.index;
    count *= s.count;
  }
  return { index, count };
}

/** Schedules slice `s` runs out of `budget` when schedule i goes to slice i mod count. */
export const sliceBudget = (budget: number, s: Slice): number =>
  Math.max(0, Math.floor((budget - 1 - s.index) / s.count) + 1);

/** Schedules PCT runs (not counted) to estimate k, the steps of the longest schedule. */
const PCT_CALIBRATION = 8;

/** PCT needs k: the longest of the non-preemptive schedule and a few seeded random ones. */
export function calibrateSteps(session: ExploreSession, seed: number): number {
  let k = session.runner.run(new NonPreemptive()).steps;
  for (let i = 0; i < PCT_CALIBRATION; i++) k = Math.max(k, session.runner.run(new RandomChooser(scheduleSeed(~seed, i))).steps);
  return k;
}

/** The block slices share: schedules done (for the progress bar), and a stop flag. */
export const PROGRESS = { DONE: 0, STOP: 1, INTERRUPT: 2, WORDS: 3 } as const;

/** What the strategy loops share: the recorder, the stop test and the checkpoint. */
interface Run {
  session: ExploreSession;
  scenario: Scenario;
  o: SearchOptions;
  path: readonly Slice[];
  res: ExploreResult;
  /** Run one schedule and count it (unless `skip` says it is not this slice's); false if skipped. */
  record: (chooser: Chooser, index: number, skip?: () => boolean) => boolean;
  stopped: () => boolean;
  cp?: Checkpoint<SearchOptions, ExploreResult>;
}

/** `progress` (PROGRESS words) is shared by every slice of one search. `cp` saves and resumes it. */
export function explore(
  session: ExploreSession,
  scenario: Scenario,
  o: SearchOptions,
  path: readonly Slice[],
  progress?: Int32Array,
  cp?: Checkpoint<SearchOptions, ExploreResult>,
): ExploreResult {
  const t0 = performance.now();
  const res = cp?.resumed?.result ?? emptyResult(o, [`${path[0].index}/${path[0].count}`]);
  const secondsBefore = res.seconds;
  let firstChoices: number[] | undefined = cp?.resumed?.firstChoices;
  const interrupted = () => (progress ? Atomics.load(progress, PROGRESS.INTERRUPT) !== 0 : false);
  const stopped = () =>
    interrupted() ||
    ((o.stopOnForbidden ?? false) && (res.forbidden > 0 || (progress ? Atomics.load(progress, PROGRESS.STOP) !== 0 : false))) ||
    ((o.stopOnStepLimit ?? false) && (res.histogram[STEP_LIMIT] ?? 0) > 0);
  const record = (chooser: Chooser, index: number, skip?: () => boolean) => {
    const r = session.runner.run(chooser);
    if (skip?.()) return false;
    res.schedules++;
    if (progress) Atomics.add(progress, PROGRESS.DONE, 1);
    res.steps += r.steps;
    res.maxSteps = Math.max(res.maxSteps, r.steps);
    res.histogram[r.outcome] = (res.histogram[r.outcome] ?? 0) + 1;
    res.digest = scheduleDigest(res.digest ?? 0, r.choices);
    res.seconds = secondsBefore + (performance.now() - t0) / 1000;
    const verdict = verdictOf(scenario, r.outcome);
    res.verdicts[r.outcome] = verdict;
    if (verdict === 'FORBIDDEN') {
      res.forbidden++;
      if (o.stopOnForbidden && progress) Atomics.store(progress, PROGRESS.STOP, 1);
      if (!res.firstForbidden || index < res.firstForbidden.index) {
        const schedule = encodeChoices(r.choices);
        res.firstForbidden = { schedule, outcome: r.outcome, replay: replayCommand(o, schedule), index };
        firstChoices = r.choices;
      }
    }
    return true;
  };
  const run: Run = { session, scenario, o, path, res, record, stopped, cp };
  cp?.attach(res, () => firstChoices);
  if (o.strategy === 'dfs') runDfs(run);
  else if (o.strategy === 'dpor') runDpor(run);
  else if (o.strategy === 'mixed') res.mixed = runMixed(o, scenario.threads.length, calibrateSteps(session, o.seed), path, flatten(path), record, stopped);
  else runSeeded(run);
  if (interrupted()) res.interrupted = true;
  if (res.firstForbidden && firstChoices && o.shrink !== false && !res.firstForbidden.original)
    res.firstForbidden = shrunk(session, o, res.firstForbidden, firstChoices);
  res.seconds = secondsBefore + (performance.now() - t0) / 1000;
  return withReach(res, scenario);
}

/** What the search never reached of what the scenario says it must, and whether it collapsed. */
export function withReach(res: ExploreResult, scenario: Scenario): ExploreResult {
  const seen = Object.keys(res.histogram);
  res.unreached = (scenario.mustReach ?? []).filter((o) => !seen.includes(o));
  res.collapsed = res.schedules > 1 && seen.length === 1;
  return res;
}

function runDfs({ o, path, res, record, stopped, cp }: Run): void {
  const slice = flatten(path);
  const dfs = new DfsSearch(o.preemptions, path);
  const budget = sliceBudget(o.budget, slice);
  let repeats = 0;
  let i = 0;
  if (cp?.resumed) {
    dfs.restore(cp.resumed.search as DfsSnapshot);
    ({ next: i, repeats } = cp.resumed);
  }
  while (i < budget && !stopped()) {
    const chooser = dfs.next();
    if (!chooser) break;
    cp?.running(replayCommand(o, encodeChoices(dfs.prefix())));
    if (record(chooser, i * slice.count + slice.index, () => dfs.uncounted())) i++;
    else repeats++;
    cp?.tick(() => ({ next: i, repeats, search: dfs.snapshot() }));
  }
  res.exhausted = !dfs.hasMore();
  res.dfs = { preemptionBound: o.preemptions, reachedBound: dfs.bound, repeats };
  cp?.tick(() => ({ next: i, repeats, search: dfs.snapshot() }), true);
}

function runDpor({ o, res, record, stopped, cp }: Run): void {
  const dpor = new DporSearch(o.preemptions);
  let i = 0;
  if (cp?.resumed) {
    dpor.restore(cp.resumed.search as DporSnapshot);
    i = cp.resumed.next;
  }
  for (; i < o.budget && !stopped(); ) {
    const chooser = dpor.next();
    if (!chooser) break;
    cp?.running(replayCommand(o, encodeChoices(dpor.prefix())));
    record(chooser, i++);
    cp?.tick(() => ({ next: i, repeats: 0, search: dpor.snapshot() }));
  }
  res.exhausted = !dpor.hasMore();
  res.dpor = { preemptionBound: o.preemptions, sleepBlocked: dpor.sleepBlocked };
  cp?.tick(() => ({ next: i, repeats: 0, search: dpor.snapshot() }), true);
}

/** Random and PCT: schedule i is seeded by (seed, i), so the next index is the whole state. */
function runSeeded({ session, scenario, o, path, res, record, stopped, cp }: Run): void {
  const slice = flatten(path);
  const k = o.strategy === 'pct' ? calibrateSteps(session, o.seed) : 0;
  const n = scenario.threads.length;
  let i = cp?.resumed ? cp.resumed.next : slice.index;
  for (; i < o.budget && !stopped(); ) {
    const seed = scheduleSeed(o.seed, i);
    cp?.running(`${o.strategy} schedule ${i}: seed ${seed}`);
    record(o.strategy === 'pct' ? new PctChooser(seed, n, o.depth, k) : new RandomChooser(seed), i);
    i += slice.count;
    cp?.tick(() => ({ next: i, repeats: 0 }));
  }
  // the bound holds for k = the longest schedule: the calibration's, or a longer one seen since
  if (o.strategy === 'pct') res.pct = pctBound(n, Math.max(k, res.maxSteps), o.depth, res.schedules);
  cp?.tick(() => ({ next: i, repeats: 0 }), true);
}

/** The first FORBIDDEN schedule, shrunk (fewest preemptions, then fewest steps, same outcome). */
function shrunk(session: ExploreSession, o: SearchOptions, f: FirstForbidden, choices: number[]): FirstForbidden {
  const s = shrinkSchedule(session.runner, choices, f.outcome);
  const orig = preemptionsOf(session.runner, choices);
  const schedule = encodeChoices(s.choices);
  return {
    ...f,
    schedule,
    replay: replayCommand(o, schedule),
    original: { schedule: f.schedule, steps: choices.length, preemptions: orig.preemptions },
    preemptions: s.preemptions,
    steps: s.steps,
    shrinkRuns: s.runs + 1,
  };
}

export class MergeError extends Error {}

/** A result with nothing counted yet. */
function emptyResult(o: SearchOptions, slices: string[]): ExploreResult {
  return {
    scenario: o.scenario,
    variant: o.variant,
    strategy: o.strategy,
    schedules: 0,
    steps: 0,
    maxSteps: 0,
    forbidden: 0,
    histogram: {},
    verdicts: {},
    slices,
    options: o,
    seconds: 0,
  };
}

/** The parts of one search must be the shards 0/n .. n-1/n, each once: no gaps, no overlaps. */
function checkSlices(slices: string[]): void {
  const parsed = slices.map((s) => {
    const m = /^(\d+)\/(\d+)$/.exec(s);
    if (!m) throw new MergeError(`cannot merge: "${s}" is not a slice i/n`);
    return { index: Number(m[1]), count: Number(m[2]) };
  });
  const n = parsed[0].count;
  if (parsed.some((p) => p.count !== n)) throw new MergeError(`cannot merge: shards of different splits (${slices.join(', ')})`);
  const dup = slices.find((s, i) => slices.indexOf(s) !== i);
  if (dup) throw new MergeError(`cannot merge: shard ${dup} appears twice`);
  const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !parsed.some((p) => p.index === i));
  if (missing.length > 0) throw new MergeError(`cannot merge: shards ${missing.map((i) => `${i}/${n}`).join(', ')} are missing`);
}

/** Combine the results of slices of one search (threads, shards, machines) into one. */
export function mergeResults(parts: ExploreResult[], as?: string): ExploreResult {
  if (parts.length === 0) throw new MergeError('nothing to merge');
  const [a] = parts;
  for (const p of parts) {
    for (const key of ['scenario', 'variant', 'strategy'] as const)
      if (p[key] !== a[key]) throw new MergeError(`cannot merge: ${key} "${p[key]}" differs from "${a[key]}"`);
    for (const key of ['budget', 'seed', 'depth', 'preemptions', 'maxSteps'] as const)
      if (p.options[key] !== a.options[key])
        throw new MergeError(`cannot merge: option ${key} ${p.options[key]} differs from ${a.options[key]}`);
  }
  checkSlices(parts.flatMap((p) => p.slices));
  const out = emptyResult(a.options, []);
  for (const p of parts) {
    out.schedules += p.schedules;
    out.steps += p.steps;
    out.maxSteps = Math.max(out.maxSteps, p.maxSteps ?? 0);
    out.forbidden += p.forbidden;
    out.seconds = Math.max(out.seconds, p.seconds);
    out.slices.push(...p.slices);
    for (const [k, v] of Object.entries(p.histogram)) out.histogram[k] = (out.histogram[k] ?? 0) + v;
    Object.assign(out.verdicts, p.verdicts);
    if (p.firstForbidden && (!out.firstForbidden || p.firstForbidden.index < out.firstForbidden.index))
      out.firstForbidden = p.firstForbidden;
    if (p.pct) out.pct = out.pct && out.pct.steps >= p.pct.steps ? out.pct : p.pct;
    if (a.strategy === 'dpor') {
      out.exhausted = (out.exhausted ?? true) && p.exhausted === true;
      if (p.dpor) out.dpor = { ...p.dpor };
    }
    if (p.mixed)
      out.mixed = out.mixed
        ? { random: out.mixed.random + p.mixed.random, pct: out.mixed.pct + p.mixed.pct, dfs: out.mixed.dfs + p.mixed.dfs, dfsExhausted: out.mixed.dfsExhausted && p.mixed.dfsExhausted }
        : { ...p.mixed };
    if (p.unreached) out.unreached = out.unreached ? out.unreached.filter((u) => p.unreached!.includes(u)) : [...p.unreached];
    if (a.strategy === 'dfs') {
      out.exhausted = (out.exhausted ?? true) && p.exhausted === true;
      if (p.dfs)
        out.dfs = out.dfs
          ? {
              preemptionBound: p.dfs.preemptionBound,
              reachedBound: Math.min(out.dfs.reachedBound, p.dfs.reachedBound),
              repeats: out.dfs.repeats + p.dfs.repeats,
            }
          : { ...p.dfs };
    }
  }
  if (!out.firstForbidden) delete out.firstForbidden;
  if (parts.length === 1 && a.digest !== undefined) out.digest = a.digest;
  if (parts.some((p) => p.interrupted)) out.interrupted = true;
  if (out.pct) out.pct = pctBound(out.pct.threads, Math.max(out.pct.steps, out.maxSteps), out.pct.depth, out.schedules);
  if (as) out.slices = [as];
  if (out.unreached) out.collapsed = out.schedules > 1 && Object.keys(out.histogram).length === 1;
  return out;
}
