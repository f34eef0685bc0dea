// VM creation time vs guest size: static pinning and passthrough pin all guest memory before the VM
// runs; coIOMMU and iopf pin nothing up front. Measured and modeled.
import type { Reference } from '../html/plots.js';
import { METRICS } from '../sweep/metrics.js';
import type { SweepResults } from '../sweep/results.js';
import { figure, metricPlot, type PlotAxes, type SweepView } from '../sweep/view.js';
import { GIB_PAGES, groupOf, recipeConfig, type Experiment, type PaperValue } from './experiment.js';

/** Policies compared. */
export const VM_CREATION_PAIRS = ['static/trap', 'passthrough/trap', 'coiommu/trap', 'iopf/trap'];

const SIZES = { quick: ['0.125', '0.5'], full: ['1', '4', '16', '64', '128'] };

export const VM_CREATION_PAPER: PaperValue = {
  value: 73,
  source: 'coIOMMU (Tian et al., USENIX ATC 2020; Phoronix summary): static pinning makes VM creation up to 73x longer with ~128 GB of guest memory',
};

function view(r: SweepResults): SweepView {
  const sizes = r.manifest.vary[0].values;
  const cell = (pair: string, s: string, which: 'vmCreationMs' | 'vmCreationModeledMs') => {
    const g = groupOf(r, pair, { 'guest-gib': s });
    return g ? figure(g, METRICS[which]) : '-';
  };
  const rows = sizes.map((s) => [s, ...VM_CREATION_PAIRS.flatMap((p) => [cell(p, s, 'vmCreationModeledMs'), cell(p, s, 'vmCreationMs')])]);
  const header = ['guest GiB', ...VM_CREATION_PAIRS.flatMap((p) => [`${p.split('/')[0]} modeled ms`, `${p.split('/')[0]} measured ms`])];
  const axes: PlotAxes = { x: (g) => Number(g.vary['guest-gib']), series: (g) => g.pair.split('/')[0], xLabel: 'guest memory (GiB)' };
  const refs: Reference[] = [];
  return {
    title: 'vm-creation: VM creation time (pinning guest memory up front) vs guest size',
    tables: [{ heading: 'VM creation', header, rows, note: 'modeled: pages x (pinPageCycles + iommuMapCycles); measured: the hypervisor pinning every page on this machine' }],
    plots: [metricPlot(r.groups, METRICS.vmCreationModeledMs, axes, 'line', refs), metricPlot(r.groups, METRICS.vmCreationMs, axes, 'line')],
    notes: [
      `reference: ${VM_CREATION_PAPER.source}. The lab models only the pinning part of VM creation: coIOMMU and iopf pin nothing up front, so their pinning time is 0 and the ratio is unbounded; the paper's 73x is static vs coIOMMU total creation time.`,
    ],
  };
}

export const vmCreation: Experiment = {
  name: 'vm-creation',
  help: 'VM creation time vs guest size: static pinning and passthrough vs coIOMMU and iopf, measured and modeled',
  source: VM_CREATION_PAPER.source,
  plan: (quick) => ({
    pairs: VM_CREATION_PAIRS,
    vary: [{ key: 'guest-gib', values: quick ? SIZES.quick : SIZES.full }],
    trials: quick ? 1 : 3,
    configFor: (pair, v, trial) =>
      recipeConfig({ workload: 'net', ops: 500, durationMs: 600_000, watchdogMs: 120_000, drainMs: 0 }, pair, [{ guestPages: Math.round(Number(v['guest-gib']) * GIB_PAGES) }], trial),
  }),
  view,
};
