// Spread a search over threads with piscina: the shard this process owns is dealt out again among
// the pool's threads, each running its own scenario workers. The main thread only waits, and
// reads one shared counter for progress.
import { Piscina } from 'piscina';
import { workerEntry } from '../core/spawn.js';
import { PROGRESS, mergeResults, type ExploreResult, type SearchOptions, type Slice } from './explore.js';
import { availableParallelism } from 'node:os';
import type { SliceTask } from './pool-task.js';
import { handOffSpinUs } from './session.js';

export interface ParallelOptions {
  /** Pool threads (each runs one slice with its own scenario workers). */
  threads: number;
  /** Called every ~200 ms with the schedules done so far. */
  onProgress?: (done: number) => void;
  /** Save the search state (one thread, one shard only). */
  checkpoint?: SliceTask['checkpoint'];
  /** Called once the search runs, with a function that ends it early (Ctrl-C): the result is then partial. */
  onInterruptible?: (interrupt: () => void) => void;
}

export async function exploreParallel(o: SearchOptions, shard: Slice, p: ParallelOptions): Promise<ExploreResult> {
  const threads = Math.max(1, p.threads);
  const entry = workerEntry('pool-task');
  const pool = new Piscina<SliceTask, ExploreResult>({
    filename: entry.filename,
    workerData: entry.bootstrapTarget ? { bootstrapTarget: entry.bootstrapTarget } : undefined,
    minThreads: threads,
    maxThreads: threads,
    idleTimeout: 1000,
  });
  const spinUs = handOffSpinUs(threads, availableParallelism());
  const progress = new SharedArrayBuffer(PROGRESS.WORDS * 4);
  const counter = new Int32Array(progress);
  p.onInterruptible?.(() => Atomics.store(counter, PROGRESS.INTERRUPT, 1));
  const timer = p.onProgress ? setInterval(() => p.onProgress!(Atomics.load(counter, PROGRESS.DONE)), 200) : undefined;
  try {
    const parts = await Promise.all(
      Array.from({ length: threads }, (_, j) =>
        pool.run({ options: o, path: [shard, { index: j, count: threads }], progress, spinUs, checkpoint: p.checkpoint }),
      ),
    );
    p.onProgress?.(Atomics.load(counter, PROGRESS.DONE));
    // Every thread's result belongs to this shard: merge them as the shard's one result.
    return mergeResults(
      parts.map((r, j) => ({ ...r, slices: [`${j}/${threads}`] })),
      `${shard.index}/${shard.count}`,
    );
  } finally {
    if (timer) clearInterval(timer);
    await pool.destroy();
  }
}
