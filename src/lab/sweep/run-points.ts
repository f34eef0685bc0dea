// Runs the points of a sweep. Points on the virtual clock run side by side on a piscina pool (their
// figures are the model's, whatever else shares the cores); points on the wall clock run one at a
// time, unless the user insists. Every finished point is handed to `onDone` at once (the store
// writes it), a failed point stops new ones from starting, and an abort stops everything.
import { Piscina } from 'piscina';
import { workerEntry } from '../../core/spawn.js';
import type { RunReport } from '../../core/types.js';
import type { ScenarioConfig } from '../scenario.js';
import { withLocality } from './locality.js';
import type { PointTask } from './point-task.js';
import { onVirtualClock, type PointResult, type SweepPoint } from './point.js';

export type RunPoint = (cfg: ScenarioConfig, signal: AbortSignal) => Promise<RunReport>;

export interface RunPointsOptions {
  threads: number;
  /** Run wall-clock points side by side too (their measured figures then share the cores). */
  wallParallel: boolean;
  signal: AbortSignal;
  onDone: (r: PointResult) => void;
  /** Stand-in for the pool (tests): runs a point in this thread. */
  runPoint?: RunPoint;
}

export interface RunPointsOutcome {
  done: number;
  failed?: PointResult;
  interrupted: boolean;
}

const message = (e: unknown) => (e instanceof Error ? e.message || e.name : String(e));

function poolRunner(threads: number): { run: RunPoint; close: () => Promise<void> } {
  const entry = workerEntry('sweep-point');
  const pool = new Piscina<PointTask, RunReport>({
    filename: entry.filename,
    workerData: entry.bootstrapTarget ? { bootstrapTarget: entry.bootstrapTarget } : undefined,
    minThreads: 1,
    maxThreads: threads,
    idleTimeout: 1000,
  });
  return { run: (cfg, signal) => pool.run({ cfg }, { signal }), close: () => pool.destroy() };
}

/** Runs `points` with at most `lanes` at once; stops launching on a failure or an abort. */
async function runLanes(points: SweepPoint[], lanes: number, run: RunPoint, o: RunPointsOptions, out: RunPointsOutcome): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < points.length && !out.failed && !o.signal.aborted) {
      const p = points[next++];
      const base = { index: p.index, pair: p.pair, vary: p.vary, trial: p.trial };
      try {
        const report = await run(p.cfg, o.signal);
        out.done++;
        o.onDone({ ...base, report });
      } catch (e) {
        if (o.signal.aborted) return; // interrupted, not failed: the point simply did not finish
        out.failed ??= { ...base, error: message(e) };
        o.onDone({ ...base, error: message(e) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(lanes, points.length)) }, lane));
}

export async function runPoints(points: SweepPoint[], o: RunPointsOptions): Promise<RunPointsOutcome> {
  const out: RunPointsOutcome = { done: 0, interrupted: false };
  const pool = o.runPoint ? undefined : poolRunner(o.threads);
  const run = withLocality(o.runPoint ?? pool!.run);
  try {
    const virtual = points.filter(onVirtualClock);
    const wall = points.filter((p) => !onVirtualClock(p));
    if (o.wallParallel) await runLanes([...virtual, ...wall], o.threads, run, o, out);
    else {
      await runLanes(virtual, o.threads, run, o, out);
      await runLanes(wall, 1, run, o, out);
    }
  } finally {
    await pool?.close();
  }
  out.interrupted = o.signal.aborted;
  return out;
}
