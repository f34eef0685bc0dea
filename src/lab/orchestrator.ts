// Runs one scenario: builds the machine, starts the role workers, drives the run state through
// Running -> GuestsStop -> Stop, watches heartbeats, tears down, and builds the report. The main
// thread never spins: it sleeps in the event loop while the workers run.
import * as Comlink from 'comlink';
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { CTL, RunState, STAT, STAT_BLOCK, statBlockCount, type MachineSpec, type StatName } from '../machine/layout.js';
import { Machine } from '../machine/machine.js';
import { policyByName, runsSidecore } from '../policies/index.js';
import type { RoleApi } from '../roles/role-server.js';
import type { RoleResult, SetupResult, TeardownResult } from '../roles/role.js';
import { workloadByName } from '../workloads/index.js';
import { modelCycles, staticPinModeledMs } from './cost-model.js';
import type { ScenarioConfig } from './scenario.js';
import { nodeEndpoint } from '../core/comlink-node.js';
import { RunError } from '../core/errors.js';
import { mergeHistograms, percentilesUs } from '../core/latency.js';
import { readViolations } from '../core/oracle.js';
import { spawnWorker } from '../core/spawn.js';
import type { RoleName, RunReport } from '../core/types.js';

export interface RunProgress {
  elapsedMs: number;
  totalMs: number;
  dmaOps: number;
}
export interface RunOptions {
  onProgress?: (p: RunProgress) => void;
}

interface RoleHandle {
  label: string;
  role: RoleName;
  index: number;
  statBlock: number;
  worker: Worker;
  api: Comlink.Remote<RoleApi>;
  finished: boolean;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const nowAbs = () => performance.timeOrigin + performance.now();

export function machineSpecFor(cfg: ScenarioConfig): MachineSpec {
  return {
    guestPages: cfg.guestPages,
    vcpus: cfg.vcpus,
    hostFrames: cfg.guestPages,
    dataFrames: Math.min(cfg.host.dataFrames, cfg.guestPages),
    ringEntries: workloadByName(cfg.workload).ringEntries(cfg),
    ...policyByName(cfg.policy).machine?.(cfg),
  };
}

export { runsSidecore } from '../policies/index.js';

/**
 * Roles that poll without parking while work may come: the sidecore and the vCPUs waiting on it.
 * A vCPU waiting for the queue lock sleeps in the futex (it does not spin), but it spins on its
 * own wait descriptor once it holds the lock, so every vCPU counts. With a vIOMMU on the sidecore
 * path the device counts too: every DMA sits between two submissions a few µs apart, so the
 * device's idle spin never runs out and it never parks (measured: ~1 M loop turns/s).
 */
function steadySpinners(cfg: ScenarioConfig): number {
  if (!runsSidecore(cfg)) return 0;
  return 1 + cfg.vcpus + (policyByName(cfg.policy).extraSpinners ?? 0);
}

export async function runScenario(cfg: ScenarioConfig, opts: RunOptions = {}): Promise<RunReport> {
  const spec = machineSpecFor(cfg);
  const machine = Machine.create(spec);
  const control = machine.control;
  const handles: RoleHandle[] = [];
  let failure: RunError | undefined;
  let rejectFailed!: (e: RunError) => void;
  const failed = new Promise<never>((_, reject) => (rejectFailed = reject));
  failed.catch(() => {});
  const wakeAll = () => {
    for (const w of [CTL.HOST_DOORBELL, CTL.SIDECORE_DOORBELL, CTL.DEVICE_DOORBELL]) {
      Atomics.add(control, w, 1);
      Atomics.notify(control, w);
    }
  };
  const fail = (e: RunError) => {
    if (failure) return;
    failure = e;
    Atomics.store(control, CTL.STATE, RunState.Abort);
    wakeAll();
    rejectFailed(e);
  };
  const guarded = <T>(p: Promise<T>): Promise<T> => Promise.race([p, failed]);
  const bounded = <T>(p: Promise<T>, ms: number, what: string, role?: string): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const t = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const e = new RunError(`${what} did not finish within ${ms} ms`, role);
        fail(e);
        reject(e);
      }, ms);
    });
    return guarded(Promise.race([p, t])).finally(() => clearTimeout(timer));
  };

  const start = (role: RoleName, index: number, statBlock: number, label: string) => {
    const worker = spawnWorker(role);
    const h: RoleHandle = { label, role, index, statBlock, worker, api: Comlink.wrap<RoleApi>(nodeEndpoint(worker)), finished: false };
    worker.on('error', (err) => fail(new RunError(`${label} crashed: ${err.message}`, label)));
    worker.on('exit', (code) => {
      if (!h.finished) fail(new RunError(`${label} exited unexpectedly (exit code ${code})`, label));
    });
    handles.push(h);
    return h;
  };

  let watchdog: NodeJS.Timeout | undefined;
  let progress: NodeJS.Timeout | undefined;
  try {
    const hyp = start('hypervisor', 0, STAT_BLOCK.hypervisor, 'hypervisor');
    start('device', 0, STAT_BLOCK.device, 'device');
    if (runsSidecore(cfg)) start('sidecore', 0, STAT_BLOCK.sidecore, 'sidecore');
    for (let v = 0; v < cfg.vcpus; v++) start('guest', v, STAT_BLOCK.guest0 + v, `guest vCPU ${v}`);

    const startupMs = 30_000;
    await bounded(
      Promise.all(handles.map((h) => h.api.init({ sab: machine.sab, spec, cfg, role: h.role, index: h.index }))),
      startupMs,
      'starting the role workers',
    );
    const setupMs = 60_000 + cfg.guestPages * 0.01;
    const setup = (await bounded(hyp.api.setup(), setupMs, 'VM creation (static pinning)', 'hypervisor'))!;

    const t0 = nowAbs();
    Atomics.store(control, CTL.STATE, RunState.Running);
    const runs = new Map<RoleHandle, Promise<RoleResult>>();
    for (const h of handles) {
      const p = h.api.run(t0).then(
        (r) => {
          h.finished = true;
          return r;
        },
        (err: unknown) => {
          const e = new RunError(`${h.label} failed: ${err instanceof Error ? err.message : String(err)}`, h.label);
          fail(e);
          throw e;
        },
      );
      p.catch(() => {});
      runs.set(h, p);
    }

    // Watchdog: a role whose heartbeat stalls for watchdogMs is hung; name it and stop the run.
    const beats = new Map<RoleHandle, { value: number; at: number }>();
    watchdog = setInterval(() => {
      const now = performance.now();
      for (const h of handles) {
        if (h.finished) continue;
        const value = machine.statsBlock(h.statBlock)[STAT.HEARTBEAT];
        const last = beats.get(h);
        if (!last || last.value !== value) beats.set(h, { value, at: now });
        else if (now - last.at > cfg.watchdogMs)
          fail(new RunError(`watchdog: ${h.label} made no progress for ${Math.round(now - last.at)} ms (hung)`, h.label));
      }
    }, Math.min(100, cfg.watchdogMs / 4));
    if (opts.onProgress) {
      const report = () =>
        opts.onProgress!({
          elapsedMs: Math.min(cfg.durationMs, nowAbs() - t0),
          totalMs: cfg.durationMs,
          dmaOps: sumStat(machine, cfg.vcpus, 'guest', 'DMA_OPS'),
        });
      progress = setInterval(report, 250);
    }

    await guarded(sleep(cfg.durationMs));
    Atomics.store(control, CTL.STATE, RunState.GuestsStop);
    const guests = handles.filter((h) => h.role === 'guest');
    const guestResults = await guarded(Promise.all(guests.map((h) => runs.get(h)!)));
    const seconds = (nowAbs() - t0) / 1000;

    // Idle tail: the lazy unpin worker keeps running, so pages no longer used get unpinned.
    await guarded(sleep(cfg.drainMs));
    const pinnedEnd = Atomics.load(control, CTL.PINNED_NOW);
    const residentEnd = Atomics.load(control, CTL.RESIDENT_NOW);
    Atomics.store(control, CTL.STATE, RunState.Stop);
    wakeAll();
    const hostResults = await bounded(
      Promise.all(handles.filter((h) => h.role !== 'guest').map((h) => runs.get(h)!)),
      cfg.watchdogMs,
      'stopping the host and device roles',
    );
    const teardown = (await bounded(hyp.api.teardown(), cfg.watchdogMs + 10_000, 'VM teardown', 'hypervisor'))!;

    return buildReport(cfg, machine, {
      seconds,
      setup,
      teardown,
      pinnedEnd,
      residentEnd,
      guestResults,
      deviceResult: hostResults.find((r) => r.role === 'device'),
      threads: handles.length + 1,
    });
  } catch (err) {
    if (failure) throw failure;
    throw err;
  } finally {
    clearInterval(watchdog);
    clearInterval(progress);
    for (const h of handles) {
      h.finished = true;
      h.api[Comlink.releaseProxy]?.();
    }
    await Promise.all(handles.map((h) => h.worker.terminate().catch(() => 0)));
  }
}

const pinsAllMemoryAtCreation = (cfg: ScenarioConfig): boolean => policyByName(cfg.policy).pinsAtCreation;

function sumStat(m: Machine, vcpus: number, who: 'guest' | 'host' | 'device', name: StatName): number {
  const blocks =
    who === 'guest'
      ? Array.from({ length: vcpus }, (_, v) => STAT_BLOCK.guest0 + v)
      : who === 'host'
        ? [STAT_BLOCK.hypervisor, STAT_BLOCK.sidecore]
        : [STAT_BLOCK.device];
  let s = 0;
  for (const b of blocks) if (b < statBlockCount(vcpus)) s += m.statsBlock(b)[STAT[name]];
  return s;
}

interface RunFacts {
  seconds: number;
  setup: SetupResult;
  teardown: TeardownResult;
  pinnedEnd: number;
  residentEnd: number;
  guestResults: RoleResult[];
  deviceResult?: RoleResult;
  threads: number;
}

function buildReport(cfg: ScenarioConfig, m: Machine, f: RunFacts): RunReport {
  const g = (n: StatName) => sumStat(m, cfg.vcpus, 'guest', n);
  const h = (n: StatName) => sumStat(m, cfg.vcpus, 'host', n);
  const c = m.control;
  const dmaOps = g('DMA_OPS');
  const exits = g('EXITS');
  const pins = h('PINS') + h('SPECULATIVE_PINS');
  const unpins = h('UNPINS');
  const d = (n: StatName) => sumStat(m, cfg.vcpus, 'device', n);
  const hist = (k: string) => percentilesUs(mergeHistograms(f.guestResults.map((r) => r.histograms?.[k] ?? '').filter(Boolean)));
  const window = percentilesUs(mergeHistograms([f.deviceResult?.histograms?.protectionWindow ?? ''].filter(Boolean)));
  const iotlb = { hits: d('IOTLB_HITS'), misses: d('IOTLB_MISSES'), walkReads: d('IOTLB_WALK_READS') };
  const model = modelCycles(
    policyByName(cfg.policy),
    {
      notify: cfg.notify,
      dmaOps,
      dttOps: g('DTT_OPS'),
      pinRequests: g('PIN_REQUESTS'),
      invSubmits: g('INV_SUBMITS'),
      pins: pinsAllMemoryAtCreation(cfg) ? 0 : pins,
      unpins,
      walkReads: iotlb.walkReads,
    },
    cfg.costTable,
  );
  const cores = availableParallelism();
  const spinners = steadySpinners(cfg);
  return {
    policy: cfg.policy,
    notify: cfg.notify,
    workload: cfg.workload,
    variant: cfg.variant,
    guestPages: cfg.guestPages,
    vcpus: cfg.vcpus,
    dmaOps,
    seconds: f.seconds,
    opsPerSecond: f.seconds > 0 ? dmaOps / f.seconds : 0,
    exits,
    exitsPer1kDma: dmaOps > 0 ? (exits * 1000) / dmaOps : 0,
    pinRequests: g('PIN_REQUESTS'),
    mapFailures: g('MAP_FAILURES'),
    pins,
    unpins,
    pinnedPages: { peak: Atomics.load(c, CTL.PINNED_PEAK), end: f.pinnedEnd },
    host: {
      residentPeak: Atomics.load(c, CTL.RESIDENT_PEAK),
      residentEnd: f.residentEnd,
      reclaimed: h('RECLAIMED'),
      restored: h('RESTORED'),
      forceUnpins: h('FORCE_UNPINS'),
      reclaimablePagesEnd: f.residentEnd - f.pinnedEnd,
    },
    ...(pinsAllMemoryAtCreation(cfg)
      ? {
          staticPin: {
            pages: f.setup.staticPinnedPages,
            ms: f.setup.staticPinMs,
            modeledMs: staticPinModeledMs(f.setup.staticPinnedPages, cfg.costTable),
          },
        }
      : {}),
    violations: readViolations(c),
    latencyUs: { map: hist('map'), pinRequest: hist('pinRequest'), invSubmit: hist('invSubmit') },
    invalidations: h('INV_DESCS'),
    invSubmits: g('INV_SUBMITS'),
    invQueueLockWaits: g('QUEUE_LOCK_WAITS'),
    iotlb,
    protection: { probes: d('PROBES'), leaks: d('PROBE_LEAKS'), windowUs: { p50: window.p50, max: window.max } },
    exitsPerDma: dmaOps > 0 ? exits / dmaOps : 0,
    modeled: { cyclesPerDma: model.cyclesPerDma, costTable: cfg.costTable, breakdown: model.breakdown },
    parallelism: { cores, threads: f.threads, spinners, oversubscribed: spinners > cores },
    teardownLeftovers: f.teardown.leftovers,
    config: cfg,
  };
}
