// A sweep from plan to files: pick this shard's points, skip those a previous run finished
// (--resume), run the rest (every finished point is on disk at once), then write results.json,
// results.csv and report.html, also when the sweep was interrupted or a point failed.
import { join } from 'node:path';
import { toCsv } from './csv.js';
import { renderSweepHtml } from './html-report.js';
import { planHash, shardOf, type PointResult, type SweepPoint } from './point.js';
import { buildResults, type SweepResults } from './results.js';
import { runPoints, type RunPoint } from './run-points.js';
import { SweepStore, writeWhole, type SweepManifest } from './store.js';
import { defaultView, type SweepView } from './view.js';

export interface SweepRequest {
  title: string;
  command: string;
  experiment?: string;
  points: SweepPoint[];
  vary: SweepManifest['vary'];
  pairs: string[];
  trials: number;
  shard: { index: number; count: number };
  out: string;
  resume: boolean;
  threads: number;
  wallParallel: boolean;
  signal: AbortSignal;
  view?: (r: SweepResults) => SweepView;
  onPoint?: (p: PointResult, done: number, total: number) => void;
  runPoint?: RunPoint;
}

export interface SweepOutcome {
  results: SweepResults;
  view: SweepView;
  interrupted: boolean;
  /** Points this invocation ran, and those a previous one had finished. */
  ran: number;
  resumed: number;
}

/** results.json, results.csv and report.html of whatever is finished. */
export function writeOutputs(dir: string, results: SweepResults, view: SweepView): void {
  writeWhole(join(dir, 'results.json'), `${JSON.stringify(results, null, 1)}\n`);
  writeWhole(join(dir, 'results.csv'), toCsv(results.points));
  writeWhole(join(dir, 'report.html'), renderSweepHtml(results, view));
}

export function manifestOf(q: SweepRequest): SweepManifest {
  return {
    kind: 'viommu-lab-sweep', title: q.title, planHash: planHash(q.points), planPoints: q.points.length, shard: q.shard,
    vary: q.vary, pairs: q.pairs, trials: q.trials, wallParallel: q.wallParallel, threads: q.threads, command: q.command,
    ...(q.experiment && { experiment: q.experiment }),
  };
}

export async function runSweep(q: SweepRequest): Promise<SweepOutcome> {
  const store = new SweepStore(q.out);
  const manifest = manifestOf(q);
  store.open(manifest, q.resume);
  const previous = q.resume ? store.finished() : [];
  const have = new Set(previous.map((p) => p.index));
  const mine = shardOf(q.points, q.shard);
  const todo = mine.filter((p) => !have.has(p.index));
  const finished: PointResult[] = [...previous];
  const outcome = await runPoints(todo, {
    threads: q.threads, wallParallel: q.wallParallel, signal: q.signal, runPoint: q.runPoint,
    onDone: (r) => {
      store.save(r);
      if (r.report) finished.push(r);
      q.onPoint?.(r, finished.length, mine.length);
    },
  });
  const results = buildResults(manifest, finished, [q.shard.index], outcome.failed);
  const view = (q.view ?? defaultView)(results);
  writeOutputs(q.out, results, view);
  return { results, view, interrupted: outcome.interrupted, ran: outcome.done, resumed: previous.length };
}
