// `merge`: combine the --json results of the shards of one search (shards run on other machines).
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ConfigError } from '../core/errors.js';
import { mergeResults, type ExploreResult } from '../explore/explore.js';
import type { Opts, SetCode } from './context.js';
import { formatExplore } from './explore-format.js';
import { EXIT_FORBIDDEN, type ExploreCtx } from './explore-options.js';
import { isFolder, mergeSweepFolders } from './sweep-merge.js';

/** One shard's result file, checked enough that merging it cannot crash. */
function readResult(f: string): ExploreResult {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(f, 'utf8'));
  } catch (e) {
    throw new ConfigError('file', f, `must be a readable JSON file written by explore --json (${e instanceof Error ? e.message : e})`);
  }
  const r = data as ExploreResult;
  if (typeof r !== 'object' || r === null || typeof r.histogram !== 'object' || !Array.isArray(r.slices) || !r.options)
    throw new ConfigError('file', f, 'is not an explore --json result');
  return r;
}

function mergeAction(files: string[], o: Opts, ctx: ExploreCtx, setCode: SetCode): void {
  const parts = files.map(readResult);
  let merged: ExploreResult;
  try {
    merged = mergeResults(parts);
  } catch (e) {
    throw new ConfigError('files', files.join(' '), e instanceof Error ? e.message : String(e));
  }
  ctx.out(o.json ? `${JSON.stringify(merged, null, 2)}\n` : formatExplore(merged));
  setCode(merged.forbidden > 0 ? EXIT_FORBIDDEN : 0);
}

export function registerMerge(program: Command, ctx: ExploreCtx, setCode: SetCode): void {
  program
    .command('merge')
    .description("combine the --json results of the shards of one search, or the --out folders of a sharded sweep's shards")
    .argument('<files...>', 'result files written by explore --json, or sweep/experiment --out folders')
    .option('--json', 'print the merged result as JSON')
    .option('--out <dir>', 'sweep folders only: where to write the merged results.json, results.csv and report.html')
    .action((files: string[], o: Opts) => (files.every(isFolder) ? mergeSweepFolders(files, o, ctx, setCode) : mergeAction(files, o, ctx, setCode)));
}
