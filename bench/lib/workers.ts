// Main-thread handles on the workers a benchmark starts: bench workers (modes by message) and the
// real role workers (comlink control plane, like the orchestrator). Every worker started here is
// tracked, so the runner can terminate whatever is left even when a benchmark fails.
import * as Comlink from 'comlink';
import type { Transferable, Worker } from 'node:worker_threads';
import { CTL, RunState } from '../../src/machine/layout.js';
import type { RoleApi } from '../../src/roles/role-server.js';
import type { RoleInit, RoleResult } from '../../src/roles/role.js';
import { nodeEndpoint } from '../../src/core/comlink-node.js';
import { spawnWorker } from '../../src/core/spawn.js';
import type { BenchEnvelope, BenchReply, BenchRequest } from './messages.js';

const live = new Set<Worker>();

/** Workers started by the benchmarks and not yet terminated. */
export const liveWorkers = (): number => live.size;

async function terminate(w: Worker): Promise<void> {
  if (!live.has(w)) return;
  live.delete(w);
  await w.terminate().catch(() => 0);
}

/** Terminate every worker still running (the runner's last word, also after a failure). */
export async function terminateAll(): Promise<void> {
  await Promise.all([...live].map(terminate));
}

/** A bench worker: `call` posts one mode and resolves with its result. */
export class BenchWorker {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private dead?: Error;

  constructor(readonly label: string) {
    this.worker = spawnWorker('bench');
    live.add(this.worker);
    this.worker.on('message', (reply: BenchReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (reply.ok) p.resolve(reply.result);
      else p.reject(new Error(`bench worker ${label}: ${reply.error}`));
    });
    this.worker.on('error', (err) => this.fail(new Error(`bench worker ${label} crashed: ${err.message}`)));
    this.worker.on('exit', (code) => {
      live.delete(this.worker);
      this.fail(new Error(`bench worker ${label} exited (code ${code})`));
    });
  }

  private fail(e: Error): void {
    this.dead ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  /** Run one mode; rejects if it does not answer within timeoutMs (then the worker is terminated). */
  call<T>(request: BenchRequest, transfer: Transferable[] = [], timeoutMs = 60_000): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`bench worker ${this.label}: mode ${request.mode} did not finish within ${timeoutMs} ms`));
        void this.terminate();
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.worker.postMessage({ id, request } satisfies BenchEnvelope, transfer);
    });
  }

  terminate(): Promise<void> {
    return terminate(this.worker);
  }
}

/** Start some bench workers, hand them to `body`, and terminate them whatever happens. */
export async function withBenchWorkers<T>(labels: string[], body: (...w: BenchWorker[]) => Promise<T>): Promise<T> {
  const ws = labels.map((l) => new BenchWorker(l));
  try {
    return await body(...ws);
  } finally {
    await Promise.all(ws.map((w) => w.terminate()));
  }
}

/** A real role worker (workers/sidecore.ts, workers/hypervisor.ts) driven over comlink. */
export class RoleWorker {
  private readonly worker: Worker;
  private readonly api: Comlink.Remote<RoleApi>;
  private running?: Promise<RoleResult>;
  private readonly died: Promise<never>;
  private released = false;

  private constructor(
    readonly init: RoleInit,
    private readonly control: Int32Array,
  ) {
    this.worker = spawnWorker(init.role);
    live.add(this.worker);
    this.api = Comlink.wrap<RoleApi>(nodeEndpoint(this.worker));
    this.died = new Promise<never>((_, reject) => {
      this.worker.on('error', (err) => reject(new Error(`${init.role} role crashed: ${err.message}`)));
      this.worker.on('exit', (code) => {
        live.delete(this.worker);
        reject(new Error(`${init.role} role exited (code ${code})`));
      });
    });
    this.died.catch(() => {});
  }

  /** Spawn the role worker and initialise it (the role builds its views over init.sab). */
  static async start(init: RoleInit, control: Int32Array): Promise<RoleWorker> {
    const r = new RoleWorker(init, control);
    try {
      await Promise.race([r.api.init(init), r.died]);
    } catch (e) {
      await r.terminate();
      throw e;
    }
    return r;
  }

  /** Set the run state to Running and start the role's loop (it blocks its worker until stop). */
  run(): void {
    Atomics.store(this.control, CTL.STATE, RunState.Running);
    this.running = this.api.run(performance.timeOrigin + performance.now());
    this.running.catch(() => {});
  }

  /** Set Stop, wake every doorbell, wait for the loop to return, terminate the worker. */
  async stop(): Promise<void> {
    Atomics.store(this.control, CTL.STATE, RunState.Stop);
    for (const d of [CTL.HOST_DOORBELL, CTL.SIDECORE_DOORBELL, CTL.DEVICE_DOORBELL]) {
      Atomics.add(this.control, d, 1);
      Atomics.notify(this.control, d);
    }
    try {
      if (this.running) {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`${this.init.role} role did not stop within 10 s`)), 10_000);
        });
        await Promise.race([this.running, this.died, late]).finally(() => clearTimeout(timer));
      }
    } finally {
      await this.terminate();
    }
  }

  async terminate(): Promise<void> {
    if (!this.released) {
      this.released = true;
      this.api[Comlink.releaseProxy]();
    }
    await terminate(this.worker);
  }
}
