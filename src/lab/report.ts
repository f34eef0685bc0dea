// The report of one run, from the machine's counters and the roles' histograms: the measured
// figures, the modeled cost, and what the oracle saw.
import { availableParallelism } from 'node:os';
import { mergeHistograms, percentilesUs } from '../core/latency.js';
import { readViolations } from '../core/oracle.js';
import type { RunReport } from '../core/types.js';
import { CTL, PAGE_SIZE, STAT, STAT_BLOCK, statBlockCount, type StatName } from '../machine/layout.js';
import type { Machine } from '../machine/machine.js';
import { policyByName, runsSidecore } from '../policies/index.js';
import { workloadByName } from '../workloads/index.js';
import type { RoleResult, SetupResult, TeardownResult } from '../roles/role.js';
import { modelCycles, staticPinModeledMs } from './cost-model.js';
import type { ScenarioConfig } from './scenario.js';

/**
 * Roles that poll without parking while work may come: the sidecore and the vCPUs waiting on it.
 * A vCPU waiting for the queue lock sleeps in the futex (it does not spin), but it spins on its
 * own wait descriptor once it holds the lock, so every vCPU counts. A policy may add threads that
 * never park (the vIOMMU's device: every DMA sits between two submissions a few µs apart).
 */
function steadySpinners(cfg: ScenarioConfig): number {
  if (!runsSidecore(cfg)) return 0;
  return 1 + cfg.vcpus + (policyByName(cfg.policy).extraSpinners ?? 0);
}

const pinsAllMemoryAtCreation = (cfg: ScenarioConfig): boolean => policyByName(cfg.policy).pinsAtCreation;

export function sumStat(m: Machine, vcpus: number, who: 'guest' | 'host' | 'device', name: StatName): number {
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

export interface RunFacts {
  seconds: number;
  setup: SetupResult;
  teardown: TeardownResult;
  pinnedEnd: number;
  residentEnd: number;
  guestResults: RoleResult[];
  deviceResult?: RoleResult;
  threads: number;
}

/** Counters summed over the roles that keep them. */
function counters(m: Machine, vcpus: number) {
  return {
    g: (n: StatName) => sumStat(m, vcpus, 'guest', n),
    h: (n: StatName) => sumStat(m, vcpus, 'host', n),
    d: (n: StatName) => sumStat(m, vcpus, 'device', n),
  };
}

/** The virtual clock's figures: DMAs per virtual second, line rate, map latency. */
function virtualFigures(cfg: ScenarioConfig, m: Machine, f: RunFacts): Omit<RunReport['modeled'], 'cyclesPerDma' | 'costTable' | 'breakdown'> {
  const { g } = counters(m, cfg.vcpus);
  let end = 0;
  for (let v = 0; v < cfg.vcpus; v++) end = Math.max(end, m.guestStats(v)[STAT.VT_END]);
  const virtualSeconds = end / 1e9;
  const opsPerSecond = virtualSeconds > 0 ? g('DMA_OPS') / virtualSeconds : 0;
  const map = percentilesUs(mergeHistograms(f.guestResults.map((r) => r.histograms?.mapVirtual ?? '').filter(Boolean)));
  const link = workloadByName(cfg.workload).lineRate?.(cfg);
  const gbps = link ? (opsPerSecond * link.bytesPerOp * 8) / 1e9 : undefined;
  const lineRate = link && gbps !== undefined ? { gbps, lineRatePercent: (100 * gbps) / link.gbps } : {};
  return { virtualSeconds, opsPerSecond, ...lineRate, latencyUs: { map: { p50: map.p50, p99: map.p99 } } };
}

/** The modeled clock: the run's counts priced by the policy's cost terms, and the virtual clock's figures. */
function modeled(cfg: ScenarioConfig, m: Machine, f: RunFacts): RunReport['modeled'] {
  const { g, h, d } = counters(m, cfg.vcpus);
  const model = modelCycles(
    policyByName(cfg.policy),
    {
      notify: cfg.notify,
      dmaOps: g('DMA_OPS'),
      dttOps: g('DTT_OPS'),
      pinRequests: g('PIN_REQUESTS'),
      invSubmits: g('INV_SUBMITS'),
      // pins at VM creation are a one-time cost (staticPin), not a per-DMA one
      pins: pinsAllMemoryAtCreation(cfg) ? 0 : h('PINS') + h('SPECULATIVE_PINS'),
      unpins: h('UNPINS'),
      walkReads: d('IOTLB_WALK_READS'),
      teardownSubmits: h('TEARDOWN_SUBMITS'),
      ptWrites: g('PT_WRITES'),
    },
    cfg.costTable,
    m,
  );
  const translation = d('IOTLB_HITS') + d('IOTLB_MISSES') > 0 ? translationModel(cfg, iotlbFigures(m, cfg.vcpus).readsPerPage ?? 0) : undefined;
  return { cyclesPerDma: model.cyclesPerDma, costTable: cfg.costTable, breakdown: model.breakdown, ...virtualFigures(cfg, m, f), ...(translation && { translation }) };
}

/** The device IOTLB's counts, its page-table caches' misses and M, the walk reads per page of DMA. */
function iotlbFigures(m: Machine, vcpus: number): RunReport['iotlb'] {
  const { d } = counters(m, vcpus);
  const pages = d('DMA_PAGES');
  return {
    hits: d('IOTLB_HITS'),
    misses: d('IOTLB_MISSES'),
    walkReads: d('IOTLB_WALK_READS'),
    ptcacheMisses: { l1: d('PTC_MISSES_L1'), l2: d('PTC_MISSES_L2'), l3: d('PTC_MISSES_L3') },
    readsPerPage: pages > 0 ? d('IOTLB_WALK_READS') / pages : 0,
    laps: d('IOTLB_LAPS'),
  };
}

/** F&S's throughput model: a page every l0 + M x l_m ns, T = 4 KiB per that time. */
function translationModel(cfg: ScenarioConfig, readsPerPage: number): NonNullable<RunReport['modeled']['translation']> {
  const pageNs = cfg.costTable.dmaPageNs + readsPerPage * cfg.costTable.iotlbMissReadNs;
  return { readsPerPage, pageNs, modelGbps: pageNs > 0 ? (PAGE_SIZE * 8) / pageNs : 0 };
}

/** The vIOMMU family's invalidation strategy, named in the report. */
const invalidationOf = (cfg: ScenarioConfig): Pick<RunReport, 'invalidation'> =>
  policyByName(cfg.policy).family === 'viommu' && cfg.viommu?.invalidation ? { invalidation: cfg.viommu.invalidation } : {};

/** Host memory at the end of the run and at its peak. */
function balloonFigures(m: Machine, vcpus: number, cfg: ScenarioConfig): Pick<RunReport['host'], 'balloon'> {
  if (!cfg.host.balloonPages) return {};
  const { h } = counters(m, vcpus);
  return { balloon: { requested: cfg.host.balloonPages, released: h('BALLOON_RELEASED'), refused: h('BALLOON_REFUSED'), atMs: cfg.host.balloonAtMs } };
}

function hostFigures(m: Machine, vcpus: number, f: RunFacts, cfg: ScenarioConfig): RunReport['host'] {
  const { h } = counters(m, vcpus);
  return {
    residentPeak: Atomics.load(m.control, CTL.RESIDENT_PEAK),
    residentEnd: f.residentEnd,
    reclaimed: h('RECLAIMED'),
    restored: h('RESTORED'),
    forceUnpins: h('FORCE_UNPINS'),
    reclaimablePagesEnd: f.residentEnd - f.pinnedEnd,
    ...balloonFigures(m, vcpus, cfg),
  };
}

/** Latency percentiles (guests), the protection oracle's probes and windows (device). */
function latencyAndProtection(m: Machine, vcpus: number, f: RunFacts): Pick<RunReport, 'latencyUs' | 'protection'> {
  const { d } = counters(m, vcpus);
  const hist = (k: string) => percentilesUs(mergeHistograms(f.guestResults.map((r) => r.histograms?.[k] ?? '').filter(Boolean)));
  const window = percentilesUs(mergeHistograms([f.deviceResult?.histograms?.protectionWindow ?? ''].filter(Boolean)));
  return {
    latencyUs: { map: hist('map'), pinRequest: hist('pinRequest'), invSubmit: hist('invSubmit') },
    protection: { probes: d('PROBES'), leaks: d('PROBE_LEAKS'), windowUs: { p50: window.p50, max: window.max } },
  };
}

function staticPinFigures(cfg: ScenarioConfig, f: RunFacts): Pick<RunReport, 'staticPin'> {
  if (!pinsAllMemoryAtCreation(cfg)) return {};
  const pages = f.setup.staticPinnedPages;
  return { staticPin: { pages, ms: f.setup.staticPinMs, modeledMs: staticPinModeledMs(pages, cfg.costTable) } };
}

export function buildReport(cfg: ScenarioConfig, m: Machine, f: RunFacts): RunReport {
  const { g, h, d } = counters(m, cfg.vcpus);
  const dmaOps = g('DMA_OPS');
  const exits = g('EXITS');
  const per = (x: number) => (dmaOps > 0 ? x / dmaOps : 0);
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
    exitsPer1kDma: per(exits * 1000),
    pinRequests: g('PIN_REQUESTS'),
    mapFailures: g('MAP_FAILURES'),
    pinFailures: { slotBusy: g('SLOT_BUSY'), timeouts: g('PIN_TIMEOUTS'), hostMapFailures: h('PIN_MAP_FAILURES'), rejected: h('REQUESTS_REJECTED') },
    dtt: { pagesFreed: g('DTT_PAGES_FREED'), countUnderflows: g('MAP_COUNT_UNDERFLOW'), unpinParked: h('UNPIN_PARKED') },
    pins: h('PINS') + h('SPECULATIVE_PINS'),
    unpins: h('UNPINS'),
    pinnedPages: { peak: Atomics.load(m.control, CTL.PINNED_PEAK), end: f.pinnedEnd },
    host: hostFigures(m, cfg.vcpus, f, cfg),
    ...staticPinFigures(cfg, f),
    violations: readViolations(m.control),
    ...latencyAndProtection(m, cfg.vcpus, f),
    invalidations: h('INV_DESCS'),
    invSubmits: g('INV_SUBMITS'),
    invQueueLockWaits: g('QUEUE_LOCK_WAITS'),
    iotlb: iotlbFigures(m, cfg.vcpus),
    ...invalidationOf(cfg),
    exitsPerDma: per(exits),
    modeled: modeled(cfg, m, f),
    parallelism: { cores, threads: f.threads, spinners, oversubscribed: spinners > cores },
    wakeCheck: { graceMs: cfg.notifyPath.wakeGraceMs, lateWakes: g('LATE_WAKES') + h('LATE_WAKES') + d('LATE_WAKES') },
    teardownLeftovers: f.teardown.leftovers,
    ...policyByName(cfg.policy).report?.(m, f.deviceResult?.histograms ?? {}),
    config: cfg,
  };
}
