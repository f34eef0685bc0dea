// Real runs on the virtual clock: a sweep split into two shards and merged has exactly the points of
// the unsharded sweep (the same counts and modeled figures: one vCPU on the trap path replays
// exactly), and merge refuses a missing or a duplicate shard.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PointResult } from '../src/lab/sweep/point.js';
import { cli, readCsv, readResults } from './helpers/sweep.js';

const SWEEP = ['sweep', '--policies', 'coiommu/trap', '--vary', 'reuse-distance=16,128', '--ops', '400', '--guest-mem', '16MiB', '--drain', '20ms', '--no-progress'];

const essence = (p: PointResult) => {
  const r = p.report!;
  return { index: p.index, pair: p.pair, vary: p.vary, trial: p.trial, dmaOps: r.dmaOps, exits: r.exits, pins: r.pins, unpins: r.unpins, pinnedPeak: r.pinnedPages.peak, modeled: r.modeled.opsPerSecond, violations: r.violations };
};

describe('sweep shards and merge (real runs)', () => {
  it('merging the shards gives the unsharded sweep; a missing or duplicate shard is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'viommu-merge-'));
    const whole = await cli([...SWEEP, '--threads', '2', '--out', join(dir, 'whole')]);
    expect(whole.code, whole.stderr).toBe(0);
    for (const i of [0, 1]) {
      const part = await cli([...SWEEP, '--threads', '1', '--shard', `${i}/2`, '--out', join(dir, `s${i}`)]);
      expect(part.code, part.stderr).toBe(0);
      expect(readResults(join(dir, `s${i}`)).points.map((p) => p.index)).toEqual([i]);
    }
    const merged = await cli(['merge', join(dir, 's1'), join(dir, 's0'), '--out', join(dir, 'merged')]);
    expect(merged.code, merged.stderr).toBe(0);
    const a = readResults(join(dir, 'whole'));
    const b = readResults(join(dir, 'merged'));
    expect(b.points.map(essence)).toEqual(a.points.map(essence));
    expect(a.points.every((p) => p.report!.dmaOps === 400 && p.report!.violations.dmaToUnpinned === 0)).toBe(true);
    expect(readCsv(join(dir, 'merged')).rows.map((r) => r.point)).toEqual(['0', '1']);

    const missing = await cli(['merge', join(dir, 's0'), '--out', join(dir, 'm2')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('miss shard(s) 1/2');
    const dup = await cli(['merge', join(dir, 's0'), join(dir, 's0'), join(dir, 's1'), '--out', join(dir, 'm3')]);
    expect(dup.code).toBe(2);
    expect(dup.stderr).toContain('is shard 0/2 again');
    const other = await cli(['merge', join(dir, 's0'), join(dir, 'whole'), '--out', join(dir, 'm4')]);
    expect(other.code).toBe(2);
  });
});
