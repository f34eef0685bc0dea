// The invalidation queue under several vCPUs: submit latency (measured) and modeled throughput vs
// vCPUs, trap vs sidecore, strict vIOMMU. All vCPUs submit under the queue's lock (qi_submit_sync).
import { METRICS, type Metric } from '../sweep/metrics.js';
import type { SweepResults } from '../sweep/results.js';
import { groupTable, metricPlot, type PlotAxes, type SweepView } from '../sweep/view.js';
import { recipeConfig, type Experiment } from './experiment.js';

const LOCK_WAITS: Metric = { key: 'lockWaitsPerSubmit', label: 'queue lock waits per submission', of: (r) => (r.invSubmits > 0 ? r.invQueueLockWaits / r.invSubmits : 0), digits: 3 };

function view(r: SweepResults): SweepView {
  const axes: PlotAxes = { x: (g) => Number(g.vary.vcpus), series: (g) => g.pair, xLabel: 'vCPUs' };
  return {
    title: 'invq-scaling: invalidation submit latency and throughput vs vCPUs, trap vs sidecore (viommu-strict, net)',
    tables: [groupTable(r, [METRICS.invSubmitP50, METRICS.modeledOps, METRICS.lineRate, METRICS.measuredOps], 'invalidation queue')],
    plots: [metricPlot(r.groups, METRICS.invSubmitP50, axes, 'line'), metricPlot(r.groups, METRICS.modeledOps, axes, 'line')],
    notes: [`${LOCK_WAITS.label}: in results.csv as inv_queue_lock_waits / inv_submits`, 'with several vCPUs on the sidecore path the modeled times vary 0.7-3.3% between runs (queueing order on the one sidecore thread)'],
  };
}

export const invqScaling: Experiment = {
  name: 'invq-scaling',
  help: 'invalidation submit latency and modeled throughput vs vCPUs (1, 2, 4, 8), trap vs sidecore',
  source: 'vIOMMU (Amit et al., USENIX ATC 2011); Linux qi_submit_sync',
  plan: (quick) => ({
    pairs: ['viommu-strict/trap', 'viommu-strict/sidecore'],
    vary: [{ key: 'vcpus', values: quick ? ['1', '2'] : ['1', '2', '4', '8'] }],
    trials: quick ? 1 : 3,
    configFor: (pair, v, trial) =>
      recipeConfig({ workload: 'net', ops: quick ? 1000 : 20000, durationMs: 120_000, guestPages: quick ? 16_384 : 262_144, watchdogMs: 10_000 }, pair, [{ vcpus: Number(v.vcpus) }], trial),
  }),
  view,
};
