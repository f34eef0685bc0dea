// The emulated vIOMMU (issue 3):
//   viommu-map-trap / viommu-map-sidecore / viommu-trap-vs-sidecore
//       per-(un)map cost of viommu-strict (map + unmap of one page, each one invalidation with a
//       wait descriptor) with the host served by the real hypervisor role (trap: the tail write is
//       an exit) or the real sidecore role, against the same map + unmap with the host's handling
//       run inline on the vCPU's own thread (no vIOMMU exit, no other thread: the bare-metal case).
//       Measured here, and modeled with the cost table (the vIOMMU paper measured 34,969 / 9,225 /
//       6,909 cycles: 5.1x and 1.3x of bare metal).
//   net-<policy>-<notify>
//       `net` DMA ops/s of every policy relative to static, all in this run.
//   invq-vcpus
//       invalidation-queue submit latency (viommu-strict, trap) as vCPUs go 1 -> 2 -> 4.
import { defaultScenario } from '../../src/lab/config.js';
import { unmapCycles } from '../../src/lab/cost-model.js';
import { machineSpecFor, runScenario } from '../../src/lab/orchestrator.js';
import { Machine } from '../../src/machine/machine.js';
import type { NotifyPath, PolicyName as Policy, RunReport } from '../../src/core/types.js';
import type { ScenarioConfig } from '../../src/lab/scenario.js';
import { comparisonPairs } from '../../src/policies/index.js';
import type { Benchmark, BenchContext } from '../lib/context.js';
import { spinnerNotes } from '../lib/context.js';
import type { RoundTrips } from '../lib/messages.js';
import { describeRoundTrips, fmtNum, makeResult, summarise, type RoundTripSummary } from '../lib/report.js';
import { BenchWorker, RoleWorker, withBenchWorkers } from '../lib/workers.js';

// ---- per-(un)map cost -----------------------------------------------------------------------------

const LOOPS = {
  inline: { warmup: 20_000, count: 100_000 },
  sidecore: { warmup: 5_000, count: 50_000 },
  trap: { warmup: 500, count: 5_000 },
} as const;

interface MapCosts {
  inline: RoundTripSummary;
  sidecore: RoundTripSummary;
  trap: RoundTripSummary;
  /** Modeled cycles per (un)map: bare metal, sidecore, trap. */
  modeled: { bare: number; sidecore: number; trap: number };
}

/** A viommu-strict machine: 1,024 guest pages, no memory pressure. */
function viommuMachine(notify: NotifyPath) {
  const d = defaultScenario();
  const cfg: ScenarioConfig = { ...d, policy: 'viommu-strict', notify, guestPages: 1024, host: { ...d.host, memoryPages: 0, dataFrames: 64 } };
  const spec = machineSpecFor(cfg);
  const machine = Machine.create(spec);
  return { cfg, machine, spec, initFor: (role: 'hypervisor' | 'sidecore') => ({ sab: machine.sab, spec, cfg, role, index: 0 }) };
}

async function mapLoop(guest: BenchWorker, path: 'trap' | 'sidecore' | 'inline', ctx: BenchContext): Promise<RoundTripSummary> {
  const { cfg, machine, spec, initFor } = viommuMachine(path === 'inline' ? 'trap' : path);
  const loops = LOOPS[path];
  ctx.log(`viommu: map + unmap, host ${path === 'inline' ? 'inline' : `by the ${path === 'trap' ? 'hypervisor' : 'sidecore'} role`}, ${loops.count} loops`);
  const role = path === 'inline' ? undefined : await RoleWorker.start(initFor(path === 'trap' ? 'hypervisor' : 'sidecore'), machine.control);
  let rt: RoundTrips;
  try {
    role?.run();
    rt = await guest.call<RoundTrips>({
      mode: 'viommu-map',
      sab: machine.sab,
      spec,
      path,
      gfn: 7,
      spinUs: path === 'sidecore' ? cfg.notifyPath.spinUs : 0, // an exit stops the vCPU at once
      timeoutMs: cfg.watchdogMs,
      ...loops,
    });
  } finally {
    await role?.stop();
  }
  if (rt.failures > 0) throw new Error(`viommu ${path}: ${rt.failures} maps failed`);
  if (Atomics.load(machine.shadow, 0) !== 0 || machine.shadow.some((x) => x !== 0)) throw new Error(`viommu ${path}: shadow entries left behind`);
  // one loop = one map + one unmap: halve every figure for the per-(un)map cost
  const s = summarise(rt);
  return { ...s, p50: s.p50 / 2, p99: s.p99 / 2, max: s.max / 2, meanUs: s.meanUs / 2 };
}

function measureMapCosts(ctx: BenchContext): Promise<MapCosts> {
  return ctx.once('viommu-map', () =>
    withBenchWorkers(['vcpu'], async (guest) => {
      const inline = await mapLoop(guest, 'inline', ctx);
      const sidecore = await mapLoop(guest, 'sidecore', ctx);
      const trap = await mapLoop(guest, 'trap', ctx);
      const t = defaultScenario().costTable;
      return { inline, sidecore, trap, modeled: { bare: unmapCycles(t, 'bare'), sidecore: unmapCycles(t, 'sidecore'), trap: unmapCycles(t, 'trap') } };
    }),
  );
}

const perOp = (s: RoundTripSummary) => `per (un)map ${describeRoundTrips(s).replace('round trips', 'map+unmap loops')}`;
const modeledLine = (c: MapCosts) =>
  `modeled (cost table): bare ${fmtNum(c.modeled.bare)}, sidecore ${fmtNum(c.modeled.sidecore)}, trap ${fmtNum(c.modeled.trap)} cycles per (un)map ` +
  `= sidecore ${fmtNum(c.modeled.sidecore / c.modeled.bare)}x, trap ${fmtNum(c.modeled.trap / c.modeled.bare)}x of bare metal ` +
  `(vIOMMU, ATC'11 measured 9,225 / 34,969 / 6,909: 1.3x and 5.1x)`;

export const viommuMapTrap: Benchmark = {
  name: 'viommu-map-trap',
  title: 'viommu-strict per-(un)map cost, trap vs no vIOMMU (host inline), measured and modeled; paper 5.1x (reported)',
  async run(ctx) {
    const c = await measureMapCosts(ctx);
    return makeResult({
      name: this.name,
      unit: 'µs per (un)map (p50)',
      value: c.trap.p50,
      baseline: c.inline.p50,
      ratioOf: 'value/baseline',
      target: null, // reported beside the paper's 5.1x: a wake-up here is no VM exit (see the note)
      valueIs: 'ViommuGuest(strict) -> real hypervisor role; each tail write is an exit (the vCPU blocks until the queue is consumed)',
      baselineIs: 'the same map + unmap with ViommuHost.processQueue run inline on the vCPU thread (no exit, no other thread)',
      spinningThreads: 0,
      detail: {
        value: perOp(c.trap),
        baseline: perOp(c.inline),
        notes: [modeledLine(c), `measured trap / bare = ${fmtNum(c.trap.p50 / c.inline.p50)}x: a thread wake-up here costs far more than an exit's ~2,000 cycles`],
      },
    });
  },
};

export const viommuMapSidecore: Benchmark = {
  name: 'viommu-map-sidecore',
  title: 'viommu-strict per-(un)map cost, sidecore vs no vIOMMU (host inline), measured and modeled; paper 1.3x',
  async run(ctx) {
    const c = await measureMapCosts(ctx);
    return makeResult({
      name: this.name,
      unit: 'µs per (un)map (p50)',
      value: c.sidecore.p50,
      baseline: c.inline.p50,
      ratioOf: 'value/baseline',
      target: { op: '<=', limit: 3 },
      valueIs: 'ViommuGuest(strict) -> real sidecore role polling the queue tail; the vCPU spins on its wait descriptor',
      baselineIs: 'the same map + unmap with ViommuHost.processQueue run inline on the vCPU thread',
      spinningThreads: 2,
      detail: { value: perOp(c.sidecore), baseline: perOp(c.inline), notes: [modeledLine(c), ...spinnerNotes(ctx, 2)] },
    });
  },
};

export const viommuTrapVsSidecore: Benchmark = {
  name: 'viommu-trap-vs-sidecore',
  title: 'viommu-strict per-(un)map cost, trap vs sidecore (how much the sidecore saves); paper 3.8x',
  async run(ctx) {
    const c = await measureMapCosts(ctx);
    return makeResult({
      name: this.name,
      unit: 'µs per (un)map (p50)',
      value: c.sidecore.p50,
      baseline: c.trap.p50,
      ratioOf: 'baseline/value',
      target: { op: '>=', limit: 3.8 },
      valueIs: 'sidecore per (un)map (the viommu-map-sidecore figure)',
      baselineIs: 'trap per (un)map (the viommu-map-trap figure)',
      spinningThreads: 2,
      detail: { value: perOp(c.sidecore), baseline: perOp(c.trap), notes: [modeledLine(c)] },
    });
  },
};

// ---- net throughput of every policy relative to static ---------------------------------------------

const NET_MS = 1500;
const violations = (r: RunReport) => r.violations.dmaToUnpinned + r.violations.lostPayloads + r.violations.accounting;

function netRun(ctx: BenchContext, policy: Policy, notify: NotifyPath): Promise<RunReport> {
  return ctx.once(`net:${policy}/${notify}`, async () => {
    ctx.log(`net: ${policy}/${notify}, ${NET_MS} ms`);
    const r = await runScenario({ ...defaultScenario(), policy, notify, durationMs: NET_MS });
    if (violations(r) > 0) throw new Error(`${policy}/${notify}: ${violations(r)} invariant violations (${r.violations.first?.detail ?? '?'})`);
    if (r.teardownLeftovers.length > 0) throw new Error(`${policy}/${notify}: teardown leftovers: ${r.teardownLeftovers.join('; ')}`);
    if (r.dmaOps === 0) throw new Error(`${policy}/${notify}: no DMA completed`);
    return r;
  });
}

const describeNet = (r: RunReport) =>
  `${fmtNum(r.opsPerSecond)} DMA ops/s, exits/DMA ${fmtNum(r.exitsPerDma)}, submissions/DMA ${fmtNum(r.dmaOps ? r.invSubmits / r.dmaOps : 0)}, ` +
  `map p50 ${r.latencyUs.map.p50} µs p99 ${r.latencyUs.map.p99} µs, leaks ${r.protection.leaks}/${r.protection.probes}, ` +
  `${r.parallelism.threads} threads, ${r.parallelism.spinners} steady spinners${r.parallelism.oversubscribed ? ' (oversubscribed)' : ''}`;

/** Every pair of the default comparison but static, which is the baseline of each. */
const NET_PAIRS = comparisonPairs().filter(([p]) => p !== 'static');

export const netPolicies: Benchmark[] = NET_PAIRS.map(([policy, notify]) => ({
  name: `net-${policy.replace('viommu-', 'v-')}-${notify}`,
  title: `net DMA ops/s, ${policy}/${notify} vs static (same run, ${NET_MS / 1000} s each; reported${policy === 'passthrough' ? ', target >= 0.8' : ''})`,
  async run(ctx: BenchContext) {
    const s = await netRun(ctx, 'static', 'trap');
    const r = await netRun(ctx, policy, notify);
    return makeResult({
      name: this.name,
      unit: 'DMA ops/s',
      value: r.opsPerSecond,
      baseline: s.opsPerSecond,
      ratioOf: 'value/baseline',
      target: policy === 'passthrough' ? { op: '>=', limit: 0.8 } : null,
      valueIs: `runScenario ${policy}/${notify}, default config`,
      baselineIs: 'runScenario static/trap, default config',
      spinningThreads: r.parallelism.spinners,
      detail: {
        value: describeNet(r),
        baseline: describeNet(s),
        notes: r.parallelism.oversubscribed
          ? [`${r.parallelism.spinners} steady spinners on ${r.parallelism.cores} cores: throughput is bimodal from run to run here`]
          : [],
      },
    });
  },
}));

// ---- invalidation-queue contention as vCPUs are added ------------------------------------------------

const SCALING_MS = 1000;

export const invqVcpus: Benchmark = {
  name: 'invq-vcpus',
  title: 'viommu-strict/trap invalidation submit latency (p50), 4 vCPUs vs 1 (2 and 4 in detail); reported',
  async run(ctx) {
    const runs: RunReport[] = [];
    for (const vcpus of [1, 2, 4]) {
      ctx.log(`invq: viommu-strict/trap, ${vcpus} vCPU(s), ${SCALING_MS} ms`);
      const r = await runScenario({ ...defaultScenario(), policy: 'viommu-strict', notify: 'trap', vcpus, durationMs: SCALING_MS });
      if (violations(r) > 0 || r.protection.leaks > 0) throw new Error(`invq ${vcpus} vCPUs: violations or leaks`);
      runs.push(r);
    }
    const line = (r: RunReport) =>
      `${r.vcpus} vCPU${r.vcpus > 1 ? 's' : ''}: submit p50 ${r.latencyUs.invSubmit.p50} µs p99 ${r.latencyUs.invSubmit.p99} µs max ${r.latencyUs.invSubmit.max} µs, ` +
      `queue lock found held on ${fmtNum((100 * r.invQueueLockWaits) / Math.max(1, r.invSubmits))}% of ${r.invSubmits} submissions, ${fmtNum(r.opsPerSecond)} DMA ops/s`;
    return makeResult({
      name: this.name,
      unit: 'µs per submission (p50)',
      value: runs[2].latencyUs.invSubmit.p50,
      baseline: runs[0].latencyUs.invSubmit.p50,
      ratioOf: 'value/baseline',
      target: null,
      valueIs: 'viommu-strict/trap with 4 vCPUs sharing the one invalidation queue',
      baselineIs: 'viommu-strict/trap with 1 vCPU',
      spinningThreads: 0,
      detail: {
        value: line(runs[2]),
        baseline: line(runs[0]),
        notes: [
          line(runs[1]),
          `trap path on ${ctx.cores} cores: no vCPU spins. A vCPU that finds the queue lock held sleeps in its futex, and the ` +
            'holder is blocked in its exit until the hypervisor consumed the queue, so extra vCPUs block rather than spin ' +
            '(a sidecore run would put 1 + vCPUs + device spinners on the cores)',
        ],
      },
    });
  },
};
