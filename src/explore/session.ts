// One scenario's threads as real workers, ready to run schedule after schedule. Opening spawns a
// worker per scenario thread (they block in their serve loop, parked between turns); closing
// tells them to quit and terminates them, whatever happened.
import * as Comlink from 'comlink';
import type { Worker } from 'node:worker_threads';
import { SCHED, schedWords, type MemoryModel } from './sched-layout.js';
import { computeLayout } from '../machine/layout.js';
import { nodeEndpoint } from '../core/comlink-node.js';
import { spawnWorker } from '../core/spawn.js';
import type { Variant } from '../core/types.js';
import { ExplorerError, ScheduleRunner } from './scheduler.js';
import type { Scenario } from '../core/scenario.js';
import type { ThreadApi } from './thread-worker.js';

export class UnknownVariantError extends Error {}

export function checkVariant(s: Scenario, variant: string): Variant {
  if (!(s.variants as readonly string[]).includes(variant))
    throw new UnknownVariantError(
      `unknown variant "${variant}" for scenario ${s.name}: allowed values are ${s.variants.join(', ')}`,
    );
  return variant as Variant;
}

export interface SessionOptions {
  /** Schedules longer than this are cut off. */
  maxSteps?: number;
  /** Spin before parking at each turn hand-off (only when the threads that spin fit the cores). */
  spinUs?: number;
  /** Record the protocol site of every operation (read them with closeWithSites). */
  coverage?: boolean;
  /** Sequentially consistent (default) or x86-TSO store buffers. */
  memoryModel?: MemoryModel;
}

/** Hand-off spin for a search running `searches` sessions at once on `cores` cores. */
export const handOffSpinUs = (searches: number, cores: number): number => (2 * searches <= cores ? 20 : 0);

/** A scenario thread has this long to load and answer init. */
const START_TIMEOUT_MS = 30_000;

/** Wait for a new worker's init, but not for a worker that died or hangs while it starts. */
function started(w: Worker, name: string, init: Promise<void>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const fail = (why: string) => {
      cleanup();
      reject(new ExplorerError(`explorer: scenario thread "${name}" ${why}`));
    };
    const onError = (e: Error) => fail(`failed to start: ${e.message}`);
    const onExit = (code: number) => fail(`exited while starting (exit code ${code})`);
    const timer = setTimeout(() => fail(`did not start within ${START_TIMEOUT_MS / 1000} s`), START_TIMEOUT_MS);
    const cleanup = () => {
      clearTimeout(timer);
      w.off('error', onError);
      w.off('exit', onExit);
    };
    w.on('error', onError);
    w.on('exit', onExit);
    init.then(
      () => {
        cleanup();
        w.on('error', () => {}); // later errors surface through the scheduling block (a step times out)
        resolve();
      },
      (e: unknown) => fail(`failed to start: ${e instanceof Error ? e.message : String(e)}`),
    );
  });
}

export class ExploreSession {
  private constructor(
    readonly runner: ScheduleRunner,
    private readonly workers: Worker[],
    private readonly serving: Promise<unknown>[],
    private readonly apis: Comlink.Remote<ThreadApi>[] = [],
  ) {}

  static async open(scenario: Scenario, variant: Variant, o: SessionOptions = {}): Promise<ExploreSession> {
    checkVariant(scenario, variant);
    if (scenario.threads.length > SCHED.MAX_THREADS)
      throw new ExplorerError(`scenario ${scenario.name} has ${scenario.threads.length} threads; the scheduling block holds ${SCHED.MAX_THREADS}`);
    const sched = new SharedArrayBuffer(schedWords() * 4);
    const machine = new SharedArrayBuffer(computeLayout(scenario.spec).byteLength);
    const scratch = new SharedArrayBuffer(SCHED.SCRATCH_WORDS * 4);
    const workers: Worker[] = [];
    const serving: Promise<unknown>[] = [];
    const apis: Comlink.Remote<ThreadApi>[] = [];
    try {
      for (let thread = 0; thread < scenario.threads.length; thread++) {
        // a coverage run reads .ts lines off the stack: from dist/ that needs the source maps at load time
        const w = spawnWorker('explore-thread', o.coverage ? { execArgv: [...process.execArgv, '--enable-source-maps'] } : {});
        workers.push(w);
        const api = Comlink.wrap<ThreadApi>(nodeEndpoint(w));
        apis.push(api);
        await started(w, scenario.threads[thread], api.init({ scenario: scenario.name, variant, thread, sched, machine, scratch, coverage: o.coverage }));
        const s = api.serve();
        s.catch(() => {}); // reported through the scheduling block; a dead thread times out a step
        serving.push(s);
      }
    } catch (e) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw e;
    }
    const runner = new ScheduleRunner(scenario, variant, new Int32Array(sched), machine, scratch, o.maxSteps ?? 5000, o.spinUs ?? 0, o.memoryModel ?? 'sc');
    return new ExploreSession(runner, workers, serving, apis);
  }

  /** Close, and return the protocol sites the threads' operations came from (a coverage session). */
  async closeWithSites(): Promise<string[]> {
    this.runner.quit();
    const sites = new Set<string>();
    try {
      await Promise.all(this.serving);
      for (const api of this.apis) for (const s of await api.sites()) sites.add(s);
    } finally {
      await Promise.all(this.workers.map((w) => w.terminate()));
    }
    return [...sites].sort();
  }

  async close(): Promise<void> {
    this.runner.quit();
    const grace = new Promise((r) => setTimeout(r, 2000).unref());
    await Promise.race([Promise.allSettled(this.serving), grace]);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
