// The role workers of one run and everything that can end it early: a worker that crashes, exits
// or throws, a phase that overruns its bound, a heartbeat that stalls. The first failure aborts
// the run at once (every wait below is cut short, so a crash at 1 s of a 24 h run ends it at 1 s).
import * as Comlink from 'comlink';
import type { Worker } from 'node:worker_threads';
import { nodeEndpoint } from '../core/comlink-node.js';
import { RunError } from '../core/errors.js';
import { spawnWorker } from '../core/spawn.js';
import type { RoleName } from '../core/types.js';
import { CTL, RunState, STAT } from '../machine/layout.js';
import type { Machine } from '../machine/machine.js';
import { countedNotify } from '../machine/notify-ledger.js';
import { policyModules } from '../policies/index.js';
import type { RoleApi } from '../roles/role-server.js';
import { workloadModules } from '../workloads/index.js';
import type { RoleResult } from '../roles/role.js';

export interface RoleHandle {
  label: string;
  role: RoleName;
  index: number;
  statBlock: number;
  worker: Worker;
  api: Comlink.Remote<RoleApi>;
  finished: boolean;
  run?: Promise<RoleResult>;
}

export class RunSession {
  readonly handles: RoleHandle[] = [];
  failure?: RunError;
  private rejectFailed!: (e: RunError) => void;
  private readonly failed = new Promise<never>((_, reject) => (this.rejectFailed = reject));
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Each role's last heartbeat change (read by the watchdog, and to blame a stuck role). */
  private readonly beats = new Map<RoleHandle, { value: number; at: number }>();

  constructor(readonly machine: Machine) {
    this.failed.catch(() => {});
  }

  /** Wake every host thread and the device (a state change, a stop). */
  wakeAll(): void {
    const c = this.machine.control;
    for (const w of [CTL.HOST_DOORBELL, CTL.SIDECORE_DOORBELL, CTL.DEVICE_DOORBELL]) {
      Atomics.add(c, w, 1);
      countedNotify(this.machine.notifyLedger, c, w);
    }
  }

  setState(state: number): void {
    Atomics.store(this.machine.control, CTL.STATE, state);
  }

  fail(e: RunError): void {
    if (this.failure) return;
    this.failure = e;
    this.setState(RunState.Abort);
    this.wakeAll();
    for (const t of this.timers) clearTimeout(t);
    this.rejectFailed(e);
  }

  /** `p`, or the run's failure, whichever comes first. */
  guarded<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.failed]);
  }

  /** `p` within `ms`, else the run fails naming `what` (and the role it is pinned on). */
  bounded<T>(p: Promise<T>, ms: number, what: string, role?: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const t = new Promise<never>((_, reject) => {
      timer = this.timer(ms, () => {
        const e = new RunError(`${what} did not finish within ${ms} ms`, role);
        this.fail(e);
        reject(e);
      });
    });
    t.catch(() => {});
    // the bound ends with the phase: a later phase must not trip over an earlier phase's timer
    return this.guarded(Promise.race([p, t])).finally(() => this.cancel(timer!));
  }

  private cancel(t: NodeJS.Timeout): void {
    clearTimeout(t);
    this.timers.delete(t);
  }

  /** Sleep `ms`, cut short by a failure (the timer never holds the process after one). */
  sleep(ms: number): Promise<void> {
    return this.guarded(new Promise<void>((resolve) => this.timer(ms, resolve)));
  }

  /** Resolves once `cond` holds (checked every 10 ms, the main thread sleeping between), or fails with the run. */
  until(cond: () => boolean): Promise<void> {
    return this.guarded(
      new Promise<void>((resolve) => {
        const check = () => (cond() ? resolve() : this.timer(10, check));
        check();
      }),
    );
  }

  private timer(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
    return t;
  }

  start(role: RoleName, index: number, statBlock: number, label: string): RoleHandle {
    // a plug-in registered from a .ts file (a test) imports the sources: its workers must too
    const sourcePlugins = [...policyModules(), ...workloadModules()].some((url) => url.endsWith('.ts'));
    const worker = spawnWorker(role, {}, sourcePlugins);
    const h: RoleHandle = { label, role, index, statBlock, worker, api: Comlink.wrap<RoleApi>(nodeEndpoint(worker)), finished: false };
    worker.on('error', (err) => this.fail(new RunError(`${label} crashed: ${err.message}`, label)));
    worker.on('exit', (code) => {
      if (!h.finished) this.fail(new RunError(`${label} exited unexpectedly (exit code ${code})`, label));
    });
    this.handles.push(h);
    return h;
  }

  /** Every role's run loop starts at t0; a role that throws fails the run with its name. */
  runAll(t0: number): void {
    for (const h of this.handles) {
      h.run = h.api.run(t0).then(
        (r) => {
          h.finished = true;
          return r;
        },
        (err: unknown) => {
          const e = this.blame(h, `${h.label} failed: ${err instanceof Error ? err.message : String(err)}`);
          this.fail(e);
          throw e;
        },
      );
      h.run.catch(() => {});
    }
  }

  /** The results of the roles `which` picks, or the run's failure. */
  results(which: (h: RoleHandle) => boolean): Promise<RoleResult[]> {
    return Promise.all(this.handles.filter(which).map((h) => h.run!));
  }

  /** A role whose heartbeat stalls for `watchdogMs` is hung: name it and stop the run. */
  watch(watchdogMs: number): NodeJS.Timeout {
    this.watchdogMs = watchdogMs;
    return setInterval(
      () => {
        const now = performance.now();
        for (const h of this.handles) {
          if (h.finished) continue;
          const stalled = this.stalledFor(h, now);
          if (stalled > watchdogMs) this.fail(new RunError(`watchdog: ${h.label} made no progress for ${Math.round(stalled)} ms (hung)`, h.label));
        }
      },
      Math.min(100, watchdogMs / 4),
    );
  }

  private watchdogMs = Infinity;

  /** How long h's heartbeat has not moved (0 when it just did). */
  private stalledFor(h: RoleHandle, now = performance.now()): number {
    const value = this.machine.statsBlock(h.statBlock)[STAT.HEARTBEAT];
    const last = this.beats.get(h);
    if (!last || last.value !== value) {
      this.beats.set(h, { value, at: now });
      return 0;
    }
    return now - last.at;
  }

  /**
   * `h` failed, maybe because it waited for a role that stopped (a request not answered, a lock
   * not released, a device that never completed). The error names the stuck role, the one whose
   * heartbeat stalled longest (at least half the watchdog), not the one that waited for it.
   */
  private blame(h: RoleHandle, message: string): RunError {
    let stuck: RoleHandle | undefined;
    let longest = this.watchdogMs / 2;
    for (const o of this.handles) {
      if (o === h || o.finished) continue;
      const s = this.stalledFor(o);
      if (s >= longest) [stuck, longest] = [o, s];
    }
    if (!stuck) return new RunError(message, h.label);
    return new RunError(`${stuck.label} is hung (no progress for ${Math.round(longest)} ms); ${h.label} waited for it: ${message}`, stuck.label);
  }

  /** Terminate every worker, whatever happened. */
  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    for (const h of this.handles) {
      h.finished = true;
      h.api[Comlink.releaseProxy]?.();
    }
    await Promise.all(this.handles.map((h) => h.worker.terminate().catch(() => 0)));
  }
}
