// coIOMMU's memory footprint: pinned pages (peak and at the end of the idle tail) as a % of guest
// memory, beside static pinning (all of it), for each workload that exists.
import type { PlotAxes, SweepView } from '../sweep/view.js';
import { figure, groupTable, metricPlot } from '../sweep/view.js';
import { METRICS } from '../sweep/metrics.js';
import type { SweepResults } from '../sweep/results.js';
import { recipeConfig, type Experiment } from './experiment.js';

/** Workloads the recipe covers; `storage` (landed with issue 12) is not added yet. */
export const FOOTPRINT_WORKLOADS = ['net'];

const SIZES = { quick: ['64MiB', '256MiB'], full: ['1GiB', '4GiB', '16GiB'] };
const PAGES: Record<string, number> = { '64MiB': 16_384, '256MiB': 65_536, '1GiB': 262_144, '4GiB': 1_048_576, '16GiB': 4_194_304 };

function view(r: SweepResults): SweepView {
  const t = groupTable(r, [METRICS.pinnedPeakPct, METRICS.pinnedEndPct, METRICS.modeledOps, METRICS.violations], 'pinned memory, % of guest memory');
  const axes: PlotAxes = { x: (g) => g.vary['guest-mem'], series: (g) => g.pair, xLabel: 'guest memory' };
  const worst = r.groups.filter((g) => g.pair.startsWith('coiommu')).map((g) => `${g.pair} ${g.vary['guest-mem']}: peak ${figure(g, METRICS.pinnedPeakPct)}%, end ${figure(g, METRICS.pinnedEndPct)}%`);
  return {
    title: `footprint: pinned pages as % of guest memory (${FOOTPRINT_WORKLOADS.join(', ')}; storage awaits its workload)`,
    tables: [t],
    plots: [metricPlot(r.groups, METRICS.pinnedPeakPct, axes, 'bars'), metricPlot(r.groups, METRICS.pinnedEndPct, axes, 'bars')],
    notes: ['static pins all guest memory at VM creation (100%); coIOMMU pins what DMA touched and the lazy unpin worker releases it in the idle tail', ...worst],
  };
}

export const footprint: Experiment = {
  name: 'footprint',
  help: "coIOMMU's pinned pages (peak, end) as a % of guest memory, static pinning beside (net; storage when it lands)",
  source: 'coIOMMU (Tian et al., USENIX ATC 2020), memory footprint',
  plan: (quick) => ({
    pairs: ['static/trap', 'coiommu/trap', 'coiommu/sidecore'],
    vary: [{ key: 'guest-mem', values: quick ? SIZES.quick : SIZES.full }],
    trials: quick ? 1 : 3,
    configFor: (pair, v, trial) =>
      recipeConfig({ workload: 'net', ops: quick ? 3000 : 20000, durationMs: 120_000, drainMs: 500 }, pair, [{ guestPages: PAGES[v['guest-mem']] }], trial),
  }),
  view,
};
