// The `net` workload end to end: DMA ops/s of coIOMMU with a sidecore vs static pinning, both run
// by the orchestrator (runScenario) in this process, after a short warm-up scenario.
import { defaultScenario } from '../../src/lab/config.js';
import { runScenario } from '../../src/lab/orchestrator.js';
import type { RunReport } from '../../src/core/types.js';
import type { ScenarioConfig } from '../../src/lab/scenario.js';
import type { Benchmark } from '../lib/context.js';
import { spinnerNotes } from '../lib/context.js';
import { fmtNum, makeResult } from '../lib/report.js';

const DURATION_MS = 3000;
const WARMUP_MS = 600;

const violations = (r: RunReport) => r.violations.dmaToUnpinned + r.violations.lostPayloads + r.violations.accounting;

function checked(r: RunReport, what: string): RunReport {
  if (violations(r) > 0) throw new Error(`${what}: ${violations(r)} invariant violations (${r.violations.first?.detail ?? '?'})`);
  if (r.teardownLeftovers.length > 0) throw new Error(`${what}: teardown leftovers: ${r.teardownLeftovers.join('; ')}`);
  if (r.dmaOps === 0) throw new Error(`${what}: no DMA completed`);
  return r;
}

const describe = (r: RunReport) =>
  `${fmtNum(r.opsPerSecond)} DMA ops/s (${r.dmaOps.toLocaleString('en-US')} in ${r.seconds.toFixed(2)} s), ` +
  `pin requests ${r.pinRequests}, map p50 ${r.latencyUs.map.p50} µs p99 ${r.latencyUs.map.p99} µs max ${r.latencyUs.map.max} µs, ` +
  `${r.parallelism.threads} threads, orchestrator counts ${r.parallelism.spinners} steady spinners`;

export const netDma: Benchmark = {
  name: 'net-dma',
  title: 'net workload DMA ops/s: coiommu + sidecore vs static, same run (~3 s each), target >= 0.9',
  async run(ctx) {
    const base = defaultScenario();
    const coiommu: ScenarioConfig = { ...base, policy: 'coiommu', notify: 'sidecore', durationMs: DURATION_MS };
    const stat: ScenarioConfig = { ...base, policy: 'static', notify: 'sidecore', durationMs: DURATION_MS };
    ctx.log(`net: warm-up scenario (coiommu/sidecore, ${WARMUP_MS} ms)`);
    checked(await runScenario({ ...coiommu, durationMs: WARMUP_MS }), 'warm-up');
    ctx.log(`net: static, ${DURATION_MS} ms`);
    const s = checked(await runScenario(stat), 'static');
    ctx.log(`net: coiommu/sidecore, ${DURATION_MS} ms`);
    const c = checked(await runScenario(coiommu), 'coiommu/sidecore');
    // guest + device spin (<= spinUs) before parking in both runs; with coiommu the sidecore also
    // spins for spinUs after each pin request.
    const spinners = 3;
    return makeResult({
      name: this.name,
      unit: 'DMA ops/s',
      value: c.opsPerSecond,
      baseline: s.opsPerSecond,
      ratioOf: 'value/baseline',
      target: { op: '>=', limit: 0.9 },
      valueIs: 'runScenario coiommu/sidecore, default config',
      baselineIs: 'runScenario static, default config',
      spinningThreads: spinners,
      detail: {
        value: describe(c),
        baseline: describe(s),
        notes: [
          'spinning threads: guest and device spin up to notifyPath.spinUs before parking (both runs); the sidecore ' +
            'spins up to spinUs after each pin request, so 3 can spin at once for a moment after a pin request',
          ...spinnerNotes(ctx, spinners),
        ],
      },
    });
  },
};
