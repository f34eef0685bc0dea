// Per-(un)map cost of a strict vIOMMU: trap-and-emulate vs sidecore vs bare metal, measured (map
// latency on this machine) and modeled (cycles per map or unmap), with the vIOMMU paper's cycles.
import type { Reference } from '../html/plots.js';
import { METRICS } from '../sweep/metrics.js';
import type { SweepResults } from '../sweep/results.js';
import { figure, metricPlot, type SweepView } from '../sweep/view.js';
import { groupOf, recipeConfig, type Experiment, type PaperValue } from './experiment.js';

const SRC = 'vIOMMU (Amit et al., USENIX ATC 2011), cycles per (un)map';
export const UNMAP_CYCLES_PAPER: Record<string, PaperValue> = {
  bare: { value: 6909, source: `${SRC}: bare metal 6,909` },
  trap: { value: 34969, source: `${SRC}: trap-and-emulate 34,969` },
  sidecore: { value: 9225, source: `${SRC}: sidecore 9,225` },
};

const PER_UNMAP = METRICS.cyclesPerUnmap;

const PATHS = ['bare', 'sidecore', 'trap'];

function view(r: SweepResults): SweepView {
  const rows = PATHS.map((n) => {
    const g = groupOf(r, `viommu-strict/${n}`);
    const per = g?.figures[PER_UNMAP.key]?.median;
    return [n, per === undefined ? '-' : Math.round(per).toLocaleString('en-US'), UNMAP_CYCLES_PAPER[n].value.toLocaleString('en-US'), g ? figure(g, METRICS.modeledMapP50) : '-', g ? figure(g, METRICS.mapP50) : '-', g ? figure(g, METRICS.exitsPerDma) : '-'];
  });
  const axes = { x: (g: { pair: string }) => g.pair.split('/')[1], series: () => 'viommu-strict', xLabel: 'notify path' };
  const refs: Reference[] = PATHS.map((n) => ({ x: n, series: 'viommu-strict', y: UNMAP_CYCLES_PAPER[n].value, source: UNMAP_CYCLES_PAPER[n].source }));
  return {
    title: 'sidecore-vs-trap: cost of one strict (un)map, trap vs sidecore vs bare metal (net, 1 vCPU)',
    tables: [{ heading: 'per-(un)map cost', header: ['path', 'modeled cycles per unmap', 'paper cycles', 'modeled map p50 us', 'measured map p50 us', 'exits/DMA'], rows, note: 'modeled: the cost table as the virtual clock charged it (page-table write + request + invalidation and wait, per submitting (un)map); measured: this machine' }],
    plots: [metricPlot(r.groups, PER_UNMAP, axes, 'bars', refs), metricPlot(r.groups, METRICS.mapP50, axes, 'bars')],
    notes: Object.values(UNMAP_CYCLES_PAPER).map((v) => `reference: ${v.source}`),
  };
}


export const sidecoreVsTrap: Experiment = {
  name: 'sidecore-vs-trap',
  help: 'per-(un)map cost of a strict vIOMMU: trap vs sidecore vs bare metal, measured and modeled',
  source: SRC,
  plan: (quick) => ({
    pairs: PATHS.map((n) => `viommu-strict/${n}`),
    vary: [],
    trials: quick ? 1 : 3,
    configFor: (pair, _v, trial) => recipeConfig({ workload: 'net', ops: quick ? 1000 : 20000, durationMs: 120_000, guestPages: quick ? 16_384 : 262_144 }, pair, [], trial),
  }),
  view,
};
