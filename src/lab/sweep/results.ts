// results.json: what the sweep was, every finished point's report, and one summary per
// configuration (its trials' medians and 95% intervals), in plan order.
import type { MachineLoad, TrialInterval } from '../../core/types.js';
import { bootstrapMedian } from '../stats.js';
import { ALL_METRICS } from './metrics.js';
import { groupKey, type PointResult } from './point.js';
import type { SweepManifest } from './store.js';

export interface GroupSummary {
  key: string;
  pair: string;
  vary: Record<string, string>;
  trials: number;
  /** Every metric (METRICS) the reports have: median and 95% bootstrap interval over the trials. */
  figures: Record<string, TrialInterval>;
}

export interface SweepResults {
  kind: 'viommu-lab-sweep-results';
  manifest: SweepManifest;
  /** Every point of this shard (or of every shard, merged) finished. */
  complete: boolean;
  /** Indices of the plan's points (of the shards included) that have no report. */
  missing: number[];
  failed?: PointResult;
  machine?: MachineLoad;
  points: PointResult[];
  groups: GroupSummary[];
}

/** One summary per configuration, in the order its first point comes in the plan. */
export function summarize(points: readonly PointResult[]): GroupSummary[] {
  const by = new Map<string, PointResult[]>();
  for (const p of points) if (p.report) by.set(groupKey(p), [...(by.get(groupKey(p)) ?? []), p]);
  return [...by.entries()].map(([key, ps]) => {
    const figures: Record<string, TrialInterval> = {};
    for (const m of ALL_METRICS) {
      const xs = ps.map((p) => m.of(p.report!));
      if (xs.every((x): x is number => typeof x === 'number' && Number.isFinite(x))) figures[m.key] = bootstrapMedian(xs, ps[0].report!.config.seed);
    }
    return { key, pair: ps[0].pair, vary: ps[0].vary, trials: ps.length, figures };
  });
}

/** Indices of the plan that `shards` of `count` cover, in order. */
export function expectedIndices(planPoints: number, shards: readonly number[], count: number): number[] {
  const set = new Set(shards);
  return Array.from({ length: planPoints }, (_, i) => i).filter((i) => set.has(i % count));
}

export function buildResults(m: SweepManifest, points: PointResult[], shards: number[], failed?: PointResult): SweepResults {
  const have = new Set(points.filter((p) => p.report).map((p) => p.index));
  const missing = expectedIndices(m.planPoints, shards, m.shard.count).filter((i) => !have.has(i));
  const sorted = [...points].sort((a, b) => a.index - b.index);
  const machine = sorted.find((p) => p.report?.machine)?.report?.machine;
  return { kind: 'viommu-lab-sweep-results', manifest: m, complete: missing.length === 0, missing, ...(failed && { failed }), ...(machine && { machine }), points: sorted, groups: summarize(sorted) };
}
