// A sweep's folder: sweep.json (what the sweep is), points/<index>.json (one file per finished
// point, written whole then renamed, so an interrupted sweep leaves only complete points behind),
// and, when it ends, results.json, results.csv and report.html.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../core/errors.js';
import type { PointResult } from './point.js';

/** What sweep.json says: enough to refuse a resume or a merge of a different sweep. */
export interface SweepManifest {
  kind: 'viommu-lab-sweep';
  title: string;
  planHash: string;
  /** Points in the whole (unsharded) plan. */
  planPoints: number;
  shard: { index: number; count: number };
  vary: { key: string; values: string[] }[];
  pairs: string[];
  trials: number;
  /** Wall-clock points were run in parallel because the user asked (--parallel-wall). */
  wallParallel: boolean;
  threads: number;
  command: string;
  /** The experiment this sweep is (its table and plots), if it is one. */
  experiment?: string;
}

/** Writes a file whole: a reader (or a crash) never sees half of it. */
export function writeWhole(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

const pointFile = (dir: string, index: number) => join(dir, 'points', `${String(index).padStart(6, '0')}.json`);

export class SweepStore {
  constructor(readonly dir: string) {}

  /** Starts the folder; with `resume` the folder must hold the same sweep. */
  open(m: SweepManifest, resume: boolean): void {
    const path = join(this.dir, 'sweep.json');
    if (resume) {
      if (!existsSync(path)) throw new ConfigError('--resume', this.dir, 'needs a folder a sweep started in (no sweep.json there)');
      const old = JSON.parse(readFileSync(path, 'utf8')) as SweepManifest;
      if (old.planHash !== m.planHash || old.shard.index !== m.shard.index || old.shard.count !== m.shard.count)
        throw new ConfigError('--resume', this.dir, `holds a different sweep (plan ${old.planHash} shard ${old.shard.index}/${old.shard.count}); give the same command line as before`);
    } else if (existsSync(path)) {
      throw new ConfigError('--out', this.dir, 'already holds a sweep: add --resume to continue it, or choose another folder');
    }
    mkdirSync(join(this.dir, 'points'), { recursive: true });
    writeWhole(path, `${JSON.stringify(m, null, 2)}\n`);
  }

  save(p: PointResult): void {
    writeWhole(pointFile(this.dir, p.index), JSON.stringify(p));
  }

  /** The finished points on disk (failed ones are not finished: a resume runs them again). */
  finished(): PointResult[] {
    const dir = join(this.dir, 'points');
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => /^\d+\.json$/.test(f))
      .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as PointResult)
      .filter((p) => p.report !== undefined)
      .sort((a, b) => a.index - b.index);
  }

  static manifest(dir: string): SweepManifest {
    const path = join(dir, 'sweep.json');
    let m: SweepManifest;
    try {
      m = JSON.parse(readFileSync(path, 'utf8')) as SweepManifest;
    } catch (e) {
      throw new ConfigError('folder', dir, `must be a sweep's --out folder with a sweep.json (${e instanceof Error ? e.message : e})`);
    }
    if (m.kind !== 'viommu-lab-sweep') throw new ConfigError('folder', dir, 'its sweep.json is not a viommu-lab sweep');
    return m;
  }
}
