// The vIOMMU paper's (ATC'11) 3 x 3 table: bare metal / trap-and-emulate / sidecore x strict /
// batched / optimistic teardown, as % of a 10 GbE line rate (modeled), the measured rate beside.
import { METRICS } from '../sweep/metrics.js';
import type { SweepResults } from '../sweep/results.js';
import { figure, metricPlot, type SweepView } from '../sweep/view.js';
import type { Reference } from '../html/plots.js';
import { groupOf, recipeConfig, type Experiment, type PaperValue } from './experiment.js';

const TEARDOWNS: [string, string][] = [['viommu-strict', 'strict'], ['viommu-lazy', 'batched'], ['viommu-optimistic', 'optimistic']];
const PATHS: [string, string][] = [['bare', 'bare metal'], ['trap', 'trap'], ['sidecore', 'sidecore']];

const VIOMMU = 'vIOMMU (Amit et al., USENIX ATC 2011)';
/** The paper's figures that its abstract and text give (the other cells are not in the sources here). */
export const LINE_RATE_PAPER: Record<string, PaperValue> = {
  'viommu-lazy/bare': { value: 91, source: `${VIOMMU}: batched teardown on bare metal keeps ~91% of line rate` },
  'viommu-optimistic/bare': { value: 100, source: `${VIOMMU}: optimistic teardown lets bare metal reach 100% of a 10 Gbps line rate` },
  'viommu-optimistic/sidecore': { value: 100, source: `${VIOMMU}: optimistic teardown on a sidecore lets an unmodified guest reach 100%` },
};

function view(r: SweepResults): SweepView {
  const cell = (pair: string) => {
    const g = groupOf(r, pair);
    const paper = LINE_RATE_PAPER[pair];
    return g ? `${figure(g, METRICS.lineRate)}%${paper ? ` (paper ${paper.value}%)` : ''}` : '-';
  };
  const measured = (pair: string) => {
    const g = groupOf(r, pair);
    return g ? figure(g, METRICS.measuredOps) : '-';
  };
  const rows = PATHS.map(([n, label]) => [label, ...TEARDOWNS.map(([p]) => cell(`${p}/${n}`)), ...TEARDOWNS.map(([p]) => measured(`${p}/${n}`))]);
  const header = ['', ...TEARDOWNS.map(([, t]) => `${t} line %*`), ...TEARDOWNS.map(([, t]) => `${t} measured ops/s`)];
  const axes = { x: (g: { pair: string }) => PATHS.find(([n]) => g.pair.endsWith(`/${n}`))![1], series: (g: { pair: string }) => TEARDOWNS.find(([p]) => g.pair.startsWith(`${p}/`))![1], xLabel: 'notify path' };
  const refs: Reference[] = Object.entries(LINE_RATE_PAPER).map(([pair, v]) => ({ x: axes.x({ pair }), series: axes.series({ pair }), y: v.value, source: v.source }));
  return {
    title: 'line-rate: % of 10 GbE line rate, notify path x IOTLB teardown (net, 1 vCPU)',
    tables: [{ heading: 'line rate', header, rows, note: '* modeled on the virtual clock; measured ops/s is this machine, 20-50x slower than hardware. Paper values where the sources give them.' }],
    plots: [metricPlot(r.groups, METRICS.lineRate, axes, 'bars', refs), metricPlot(r.groups, METRICS.measuredOps, axes, 'bars')],
    notes: Object.values(LINE_RATE_PAPER).map((v) => `reference: ${v.source}`),
  };
}

export const lineRate: Experiment = {
  name: 'line-rate',
  help: "the vIOMMU paper's 3 x 3 table: bare / trap / sidecore x strict / batched / optimistic, % of 10 GbE line rate",
  source: VIOMMU,
  plan: (quick) => ({
    pairs: PATHS.flatMap(([n]) => TEARDOWNS.map(([p]) => `${p}/${n}`)),
    vary: [],
    trials: quick ? 1 : 3,
    configFor: (pair, _v, trial) => recipeConfig({ workload: 'net', ops: quick ? 2000 : 20000, durationMs: 120_000, guestPages: quick ? 16_384 : 262_144, vcpus: 1 }, pair, [], trial),
  }),
  view,
};
