// `merge` of a sharded sweep's folders (merge-cmd.ts sends folders here; files stay explorer
// results): refuses missing or duplicate shards and unfinished points, writes the three files.
import { mkdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { experimentByName } from '../lab/experiments/index.js';
import { mergeSweeps } from '../lab/sweep/merge.js';
import { writeOutputs } from '../lab/sweep/sweep.js';
import { defaultView, formatView } from '../lab/sweep/view.js';
import type { Ctx, Opts, SetCode } from './context.js';

export const isFolder = (f: string): boolean => {
  try {
    return statSync(f).isDirectory();
  } catch {
    return false;
  }
};

export function mergeSweepFolders(dirs: string[], o: Opts, ctx: Ctx, setCode: SetCode): void {
  if (typeof o.out !== 'string') throw new ConfigError('--out', undefined, 'merging sweep folders needs a folder for the merged results, e.g. --out all');
  const results = mergeSweeps(dirs);
  const out = resolve(o.out);
  mkdirSync(out, { recursive: true });
  const recipe = results.manifest.experiment;
  const view = recipe ? experimentByName(recipe).view(results) : defaultView(results);
  writeOutputs(out, results, view);
  ctx.out(o.json ? `${JSON.stringify(results, null, 1)}\n` : `${formatView(view)}\nmerged ${dirs.length} shard(s), ${results.points.length} points: wrote ${out}/results.json, results.csv, report.html\n`);
  setCode(0);
}
