// The plan of a sweep: every pair x every combination of the varied values x every trial, in a
// fixed order (trials outermost, so an interrupted sweep has a first trial of everything first).
import type { ScenarioConfig } from '../scenario.js';
import type { SweepPoint } from './point.js';

/** One varied setting: its key (a flag name without the dashes) and its values as typed. */
export interface Vary {
  key: string;
  values: string[];
}

/** What a plan is made from; `configFor` resolves one point's scenario (and rejects bad values). */
export interface PlanInput {
  pairs: string[];
  vary: Vary[];
  trials: number;
  configFor: (pair: string, vary: Record<string, string>, trial: number) => ScenarioConfig;
}

/** Every combination of the varied values, the first key slowest. */
export function combinations(vary: readonly Vary[]): Record<string, string>[] {
  let out: Record<string, string>[] = [{}];
  for (const v of vary) out = out.flatMap((c) => v.values.map((x) => ({ ...c, [v.key]: x })));
  return out;
}

export function planPoints(input: PlanInput): SweepPoint[] {
  const points: SweepPoint[] = [];
  const combos = combinations(input.vary);
  for (let trial = 0; trial < input.trials; trial++)
    for (const vary of combos)
      for (const pair of input.pairs) points.push({ index: points.length, pair, vary, trial, cfg: input.configFor(pair, vary, trial) });
  return points;
}
