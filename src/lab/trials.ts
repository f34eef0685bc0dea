// Repeated trials of several configurations: the order they run in (a seeded shuffle that never
// runs one configuration twice in a row), one aggregated report per configuration (the median and
// its 95% bootstrap interval of the headline figures), and the machine's load when a run starts.
import { availableParallelism, loadavg } from 'node:os';
import type { MachineLoad, RunReport, TrialIntervals } from '../core/types.js';
import { bootstrapMedian, seededRandom, seededShuffle } from './stats.js';

/** One run of the plan: configuration `config` (an index into the list given), trial `trial` (0-based). */
export interface TrialSlot {
  config: number;
  trial: number;
}

/**
 * The order of `configs` x `trials` runs. One trial keeps the configurations in the order given.
 * Otherwise the runs go in rounds (a randomised block design): round k runs trial k of every
 * configuration, in a seeded shuffle of its own, so a drift in the machine's load reaches every
 * configuration alike; when a round would start with the configuration the last one ended with,
 * that configuration swaps places with another, so no configuration ever runs twice in a row
 * (impossible only with a single configuration). The same seed always gives the same order.
 */
export function trialOrder(configs: number, trials: number, seed: number): TrialSlot[] {
  const indices = Array.from({ length: configs }, (_, i) => i);
  if (trials <= 1) return indices.map((config) => ({ config, trial: 0 }));
  const random = seededRandom(seed);
  const order: TrialSlot[] = [];
  for (let trial = 0; trial < trials; trial++) {
    const round = seededShuffle(indices, random);
    const last = order[order.length - 1];
    if (last && configs > 1 && round[0] === last.config) {
      // swap the first with a seeded choice among the others
      const j = 1 + Math.floor(random() * (configs - 1));
      [round[0], round[j]] = [round[j], round[0]];
    }
    for (const config of round) order.push({ config, trial });
  }
  return order;
}

/** Where the load figure comes from (os by default; a test passes its own). */
export interface LoadSource {
  loadavg: () => number[];
  cores: () => number;
}

const OS_LOAD: LoadSource = { loadavg, cores: availableParallelism };

/** The 1-minute load average and the cores, as a run starts. */
export function machineLoad(source: LoadSource = OS_LOAD): MachineLoad {
  return { loadAverage1m: Math.round(source.loadavg()[0] * 100) / 100, cores: source.cores() };
}

/** Was something else keeping the cores busy when the run started? */
export const overloaded = (m: MachineLoad | undefined): boolean => m !== undefined && m.loadAverage1m > m.cores;

/** The 95% intervals of the headline figures over the trials of one configuration. */
function intervals(trials: RunReport[], seed: number): TrialIntervals {
  const of = (f: (r: RunReport) => number) => bootstrapMedian(trials.map(f), seed);
  const modeled = trials.map(modeledOpsPerSecond);
  const allModeled = modeled.every((x): x is number => x !== undefined);
  return {
    opsPerSecond: of((r) => r.opsPerSecond),
    ...(allModeled && { modeledOpsPerSecond: bootstrapMedian(modeled as number[], seed) }),
    exitsPerDma: of((r) => r.exitsPerDma ?? 0),
    mapP50Us: of((r) => r.latencyUs.map.p50),
  };
}

/** `modeled.opsPerSecond` where the report has it (reports from before it existed do not). */
export function modeledOpsPerSecond(r: RunReport): number | undefined {
  const v = (r.modeled as { opsPerSecond?: unknown }).opsPerSecond;
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/**
 * One report for the trials of one configuration (given in the order they ran). It is a copy of
 * the median trial's report — the trial whose DMA ops/s is nearest the median, the earlier one on
 * a tie — so every count in it comes from one real run and agrees with the others; the medians
 * and intervals of the headline figures are in `ci95` (tables print those), every trial's own
 * report in `trialReports`. The bootstrap is seeded with the scenario's seed.
 */
export function aggregateTrials(trials: RunReport[]): RunReport {
  if (trials.length === 0) throw new Error('aggregateTrials: no trials');
  const ci95 = intervals(trials, trials[0].config.seed);
  const mid = ci95.opsPerSecond.median;
  let pick = trials[0];
  for (const r of trials) if (Math.abs(r.opsPerSecond - mid) < Math.abs(pick.opsPerSecond - mid)) pick = r;
  return { ...pick, trials: trials.length, ci95, trialReports: trials };
}
