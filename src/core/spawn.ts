// The one place that knows how to start a worker: from the built dist/ the sibling .js entry;
// from sources (tsx, vitest) a small JS bootstrap that registers tsx and imports the .ts entry.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

export type WorkerName = 'guest' | 'hypervisor' | 'sidecore' | 'device' | 'bench' | 'pool-task' | 'explore-thread' | 'sweep-point';

const here = dirname(fileURLToPath(import.meta.url)); // .../src/core or .../dist/src/core
const fromDist = fileURLToPath(import.meta.url).endsWith('.js');
const workersDir = join(here, '..', '..', 'workers');
// From sources, the built workers when the test runner found dist/ up to date (vitest.config.ts):
// a worker that loads through tsx compiles every module it imports, about a second per worker.
const builtWorkers = !fromDist && process.env.VIOMMU_LAB_BUILT_WORKERS === '1' ? join(here, '..', '..', 'dist', 'workers') : undefined;

/** File to hand to `new Worker` / piscina, and the workerData that tells the bootstrap what to load. */
export function workerEntry(name: WorkerName, fromSources = false): { filename: string; bootstrapTarget?: string } {
  const built = fromDist ? workersDir : fromSources ? undefined : builtWorkers;
  if (built) {
    const js = join(built, `${name}.js`);
    if (existsSync(js)) return { filename: js };
  }
  const ts = join(workersDir, `${name}.ts`);
  const sourceWorkers = fromDist ? join(here, '..', '..', '..', 'workers') : workersDir;
  const target = existsSync(ts) ? ts : join(sourceWorkers, `${name}.ts`);
  return { filename: join(sourceWorkers, 'tsx-bootstrap.mjs'), bootstrapTarget: pathToFileURL(target).href };
}

/** `fromSources`: the worker will import .ts modules (a plug-in written in a test file): tsx, never dist/. */
export function spawnWorker(name: WorkerName, options: WorkerOptions = {}, fromSources = false): Worker {
  const entry = workerEntry(name, fromSources);
  const workerData = entry.bootstrapTarget
    ? { ...(options.workerData ?? {}), bootstrapTarget: entry.bootstrapTarget }
    : options.workerData;
  return new Worker(entry.filename, { ...options, workerData });
}
