// coIOMMU's memory footprint: pinned pages (peak and at the end of the idle tail) as a % of guest
// memory, beside static pinning (all of it), for net and storage. Storage's page cache is half of
// guest memory (its requests fall in it uniformly), so its footprint grows with what DMA touched.
import type { PlotAxes, SweepView } from '../sweep/view.js';
import { figure, groupTable, metricPlot } from '../sweep/view.js';
import { METRICS } from '../sweep/metrics.js';
import type { SweepResults } from '../sweep/results.js';
import { recipeConfig, type Experiment } from './experiment.js';

/** Workloads the recipe covers. */
export const FOOTPRINT_WORKLOADS = ['net', 'storage'];

const SIZES = { quick: ['64MiB', '256MiB'], full: ['1GiB', '4GiB', '16GiB'] };
/** DMAs per point: a storage request maps 32 pages (128 KiB), a net packet one. */
const OPS = { quick: { net: 3000, storage: 300 }, full: { net: 20000, storage: 3000 } };
const PAGES: Record<string, number> = { '64MiB': 16_384, '256MiB': 65_536, '1GiB': 262_144, '4GiB': 1_048_576, '16GiB': 4_194_304 };

function view(r: SweepResults): SweepView {
  const t = groupTable(r, [METRICS.pinnedPeakPct, METRICS.pinnedEndPct, METRICS.modeledOps, METRICS.violations], 'pinned memory, % of guest memory');
  const axes: PlotAxes = { x: (g) => g.vary['guest-mem'], series: (g) => `${g.pair} ${g.vary.workload}`, xLabel: 'guest memory' };
  const worst = r.groups.filter((g) => g.pair.startsWith('coiommu')).map((g) => `${g.pair} ${g.vary.workload} ${g.vary['guest-mem']}: peak ${figure(g, METRICS.pinnedPeakPct)}%, end ${figure(g, METRICS.pinnedEndPct)}%`);
  return {
    title: `footprint: pinned pages as % of guest memory (${FOOTPRINT_WORKLOADS.join(', ')})`,
    tables: [t],
    plots: [metricPlot(r.groups, METRICS.pinnedPeakPct, axes, 'bars'), metricPlot(r.groups, METRICS.pinnedEndPct, axes, 'bars')],
    notes: ['static pins all guest memory at VM creation (100%); coIOMMU pins what DMA touched and the lazy unpin worker releases it in the idle tail', 'storage: a page cache of half the guest memory, uniform blocks, 128 KiB requests (scatter-gather)', ...worst],
  };
}

export const footprint: Experiment = {
  name: 'footprint',
  help: "coIOMMU's pinned pages (peak, end) as a % of guest memory, static pinning beside, for net and storage",
  source: 'coIOMMU (Tian et al., USENIX ATC 2020), memory footprint',
  plan: (quick) => ({
    // --quick leaves out coiommu/sidecore: the notify path does not change what is pinned
    pairs: quick ? ['static/trap', 'coiommu/trap'] : ['static/trap', 'coiommu/trap', 'coiommu/sidecore'],
    vary: [{ key: 'guest-mem', values: quick ? SIZES.quick : SIZES.full }, { key: 'workload', values: FOOTPRINT_WORKLOADS }],
    trials: quick ? 1 : 3,
    configFor: (pair, v, trial) => {
      const pages = PAGES[v['guest-mem']];
      const workload = v.workload as 'net' | 'storage';
      const storage = workload === 'storage' ? { storage: { workingSetPages: pages / 2 } } : {};
      return recipeConfig({ workload, ops: OPS[quick ? 'quick' : 'full'][workload], durationMs: 120_000, drainMs: 500, ...storage }, pair, [{ guestPages: pages }], trial);
    },
  }),
  view,
};
