// Merging the folders of a sharded sweep: they must be shards of one plan, each shard exactly once,
// and every point finished; the merged results are those of the unsharded sweep.
import { ConfigError } from '../../core/errors.js';
import type { PointResult } from './point.js';
import { buildResults, type SweepResults } from './results.js';
import { SweepStore, type SweepManifest } from './store.js';

export function mergeSweeps(dirs: readonly string[]): SweepResults {
  const parts = dirs.map((dir) => ({ dir, m: SweepStore.manifest(dir), points: new SweepStore(dir).finished() }));
  const first = parts[0].m;
  const seen = new Map<number, string>();
  for (const { dir, m } of parts) {
    if (m.planHash !== first.planHash || m.shard.count !== first.shard.count)
      throw new ConfigError('folder', dir, `is a shard of another sweep (plan ${m.planHash}, ${m.shard.count} shards; ${parts[0].dir} has plan ${first.planHash}, ${first.shard.count} shards)`);
    const dup = seen.get(m.shard.index);
    if (dup !== undefined) throw new ConfigError('folder', dir, `is shard ${m.shard.index}/${m.shard.count} again (${dup} is that shard too): give each shard once`);
    seen.set(m.shard.index, dir);
  }
  const absent = Array.from({ length: first.shard.count }, (_, i) => i).filter((i) => !seen.has(i));
  if (absent.length) throw new ConfigError('folders', dirs.join(' '), `miss shard(s) ${absent.map((i) => `${i}/${first.shard.count}`).join(', ')} of the ${first.shard.count}`);
  const points: PointResult[] = parts.flatMap((p) => p.points);
  const manifest: SweepManifest = { ...first, shard: { index: 0, count: 1 }, command: `merged from ${dirs.join(' ')}` };
  const merged = buildResults(manifest, points, [0]);
  if (!merged.complete)
    throw new ConfigError('folders', dirs.join(' '), `have no report for point(s) ${merged.missing.slice(0, 20).join(', ')}${merged.missing.length > 20 ? ', ...' : ''}: finish those shards first (sweep ... --resume)`);
  return merged;
}
