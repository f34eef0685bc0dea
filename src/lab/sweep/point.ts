// One point of a sweep: a whole run of one configuration (a policy/notify pair, the values of the
// varied settings, one trial). Its index in the full plan is its identity across shards and resumes.
import { createHash } from 'node:crypto';
import type { RunReport } from '../../core/types.js';
import type { ScenarioConfig } from '../scenario.js';

export interface SweepPoint {
  /** Position in the full (unsharded) plan. */
  index: number;
  /** `policy/notify`. */
  pair: string;
  /** The varied settings' values as typed (`reuse-distance` -> `64`), in --vary order. */
  vary: Record<string, string>;
  /** 0-based trial. */
  trial: number;
  cfg: ScenarioConfig;
}

/** A finished point: its report, or the error that ended it. */
export interface PointResult {
  index: number;
  pair: string;
  vary: Record<string, string>;
  trial: number;
  report?: RunReport;
  error?: string;
}

/** Runs on the virtual clock: its figures do not depend on what else runs beside it. */
export const onVirtualClock = (p: SweepPoint): boolean => p.cfg.clock === 'virtual';

/** The configuration group a point belongs to (every trial of it): `pair` + varied values. */
export function groupKey(p: { pair: string; vary: Record<string, string> }): string {
  return [p.pair, ...Object.entries(p.vary).map(([k, v]) => `${k}=${v}`)].join(' ');
}

/** A hash of the whole plan: the same command line gives the same hash, so shards and resumes can be matched. */
export function planHash(points: readonly SweepPoint[]): string {
  const h = createHash('sha256');
  for (const p of points) h.update(JSON.stringify([p.index, p.pair, p.vary, p.trial, p.cfg]));
  return h.digest('hex').slice(0, 16);
}

/** Shard `index` of `count`: every count-th point, so each shard gets a share of every configuration. */
export function shardOf<T extends { index: number }>(points: readonly T[], shard: { index: number; count: number }): T[] {
  return points.filter((p) => p.index % shard.count === shard.index);
}
