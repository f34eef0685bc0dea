// DMA temporal locality (the coIOMMU paper's "DMA Temporal Locality"): the distribution of reuse
// distances — maps between two maps of the same guest page — of each workload's own maps and of the
// traces shipped in examples/ replayed. Each point records its trace and the lab analyzes it in
// one pass (src/lab/sweep/locality.ts, the same analysis as `trace analyze`).
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HistogramBucket } from '../../core/types.js';
import type { PlotSpec } from '../html/plots.js';
import { METRICS } from '../sweep/metrics.js';
import type { SweepResults } from '../sweep/results.js';
import { groupTable, type SweepView, type ViewTable } from '../sweep/view.js';
import type { PartialScenario } from '../config.js';
import { recipeConfig, type Experiment } from './experiment.js';

/** The package's examples/ folder (from src/ under tsx, or from dist/src/). */
function examplesDir(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json')) && dirname(d) !== d) d = dirname(d);
  return join(d, 'examples');
}

/** The workloads and traces compared, each as a partial scenario (guest memory given per setting). */
export function localityWorkloads(guestPages: number, storageOps: number, traceFile?: string): Record<string, PartialScenario> {
  const storage = (locality: string): PartialScenario => ({ workload: 'storage', ops: storageOps, storage: { locality, workingSetPages: guestPages / 2 } });
  const trace = (file: string): PartialScenario => ({ workload: 'trace', trace: { file: resolve(examplesDir(), file), speed: 'max' } });
  // --trace FILE: that trace alone, replayed (a relative path is from the current folder)
  if (traceFile !== undefined) return { [`trace:${basename(traceFile)}`]: trace(resolve(traceFile)) };
  return {
    net: { workload: 'net' },
    'storage-uniform': storage('uniform'),
    'storage-zipf:1.2': storage('zipf:1.2'),
    // the shipped net trace (300 maps, no page mapped twice) has no reuse to show
    'trace:recorded-storage-coiommu': trace('recorded-storage-coiommu.trace'),
  };
}

/** DMAs per point (a storage request maps 32 pages, a net packet one). */
const SETTING = { quick: { guestPages: 16_384, ops: 2000, storageOps: 400 }, full: { guestPages: 262_144, ops: 50_000, storageOps: 10_000 } };

/** Reuse distances of a group, summed over its trials. */
function bucketsOf(r: SweepResults, key: string): HistogramBucket[] {
  const sum = new Map<number, HistogramBucket>();
  for (const p of r.points) {
    if (p.report === undefined || `${p.pair} workload=${p.vary.workload}` !== key) continue;
    for (const b of p.report.locality?.reuseDistanceMaps ?? []) {
      const have = sum.get(b.from) ?? { ...b, count: 0 };
      sum.set(b.from, { ...have, count: have.count + b.count });
    }
  }
  return [...sum.values()].sort((a, b) => a.from - b.from);
}

/** Cumulative share of the reuses below each bucket's bound, one line per workload (log x). */
function cdfPlot(r: SweepResults): PlotSpec {
  const data = r.groups.flatMap((g) => {
    const b = bucketsOf(r, g.key);
    const total = b.reduce((s, x) => s + x.count, 0);
    let seen = 0;
    return total === 0 ? [] : b.map((x) => ({ x: x.to, series: g.vary.workload, y: (100 * (seen += x.count)) / total }));
  });
  return { kind: 'line', title: 'reuse distance CDF', xLabel: 'reuse distance (maps between two maps of a page, < bound)', yLabel: '% of reuses', data, logX: true };
}

/** The histogram: share of reuses in each power-of-two bucket, grouped by bucket. */
function histogramPlot(r: SweepResults): PlotSpec {
  const data = r.groups.flatMap((g) => {
    const b = bucketsOf(r, g.key);
    const total = b.reduce((s, x) => s + x.count, 0);
    return total === 0 ? [] : b.filter((x) => x.count > 0).map((x) => ({ x: `<${x.to}`, series: g.vary.workload, y: (100 * x.count) / total }));
  });
  return { kind: 'bars', title: 'reuse distance histogram', xLabel: 'reuse distance (maps, log2 buckets)', yLabel: '% of reuses', data };
}

/** One row per workload, one column per log2 bucket any of them has: the share of its reuses there. */
function histogramTable(r: SweepResults): ViewTable {
  const per = r.groups.map((g) => ({ g, b: bucketsOf(r, g.key) }));
  const bounds = [...new Set(per.flatMap(({ b }) => b.filter((x) => x.count > 0).map((x) => x.to)))].sort((x, y) => x - y);
  const rows = per.map(({ g, b }) => {
    const total = b.reduce((s, x) => s + x.count, 0);
    return [g.vary.workload, ...bounds.map((to) => {
      const c = b.find((x) => x.to === to)?.count ?? 0;
      return total === 0 ? '-' : ((100 * c) / total).toFixed(1);
    })];
  });
  const header = ['workload', ...bounds.map((to) => `<${to}`)];
  return { heading: 'reuse distance histogram: % of reuses per log2 bucket [to/2, to) of maps (trials summed)', header, rows };
}

function view(r: SweepResults): SweepView {
  const metrics = [METRICS.pageMaps, METRICS.distinctPages, METRICS.firstTouchPct, METRICS.reuseP50, METRICS.reuseP90, METRICS.reusedWithin64Pct, METRICS.violations];
  const hist = histogramTable(r);
  return {
    title: 'locality: DMA reuse distance of each workload and shipped trace (coiommu/trap; pages mapped, maps between two maps of a page)',
    tables: [groupTable(r, metrics, 'reuse distance'), hist],
    plots: [cdfPlot(r), histogramPlot(r)],
    notes: [
      'reuse distance: map events between two maps of the same guest page, in power-of-two buckets [2^k, 2^(k+1)); p50/p90 are the bucket bound below which that share falls; first touches have none',
      'the shipped net trace (examples/recorded-net-viommu-strict-2vcpu.trace) is left out: its 300 maps never map a page twice',
      'net reuses its buffer pool (--reuse-distance buffers, moved to fresh memory every --rotate); storage picks blocks from its --working-set by --locality; traces replay examples/ as fast as they go (--trace-speed max), pages folded into guest memory as the trace workload does',
      'no published values beside: the coIOMMU talk has a "DMA Temporal Locality" section, but the sources here give no figure for it; `trace analyze FILE` prints the same figures for any trace',
    ],
  };
}

export const locality: Experiment = {
  name: 'locality',
  help: 'DMA reuse-distance distribution of net, storage (uniform, zipf) and a trace in examples/; --trace FILE: of that trace instead',
  options: ['trace'],
  source: 'coIOMMU (Tian et al., USENIX ATC 2020), DMA temporal locality',
  plan: (quick, options = {}) => {
    const s = quick ? SETTING.quick : SETTING.full;
    const workloads = localityWorkloads(s.guestPages, s.storageOps, options.trace);
    return {
      pairs: ['coiommu/trap'],
      vary: [{ key: 'workload', values: Object.keys(workloads) }],
      trials: 1,
      configFor: (pair, v, trial) =>
        recipeConfig({ ops: s.ops, durationMs: 120_000, drainMs: 0, guestPages: s.guestPages, trace: { record: `locality-${v.workload.replace(/[^\w.-]/g, '_')}.trace` } }, pair, [workloads[v.workload]], trial),
    };
  },
  view,
};
