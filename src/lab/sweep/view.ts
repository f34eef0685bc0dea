// What a sweep shows: its tables (printed and in the HTML report) and its plots. A generic sweep
// gets the default view below; an experiment builds its own from the same pieces.
import { grid } from '../../core/grid.js';
import type { PlotSpec, Reference } from '../html/plots.js';
import { METRICS, type Metric } from './metrics.js';
import type { GroupSummary, SweepResults } from './results.js';

export interface ViewTable {
  heading: string;
  header: string[];
  rows: string[][];
  note?: string;
}

export interface SweepView {
  title: string;
  tables: ViewTable[];
  plots: PlotSpec[];
  notes: string[];
}

/** `median ±half` (no ± when the interval is a point). */
export function figure(g: GroupSummary, m: Metric): string {
  const f = g.figures[m.key];
  if (!f) return '-';
  const fmt = (x: number) => x.toLocaleString('en-US', { maximumFractionDigits: m.digits, minimumFractionDigits: m.digits });
  const half = (f.hi - f.lo) / 2;
  return half > 0 ? `${fmt(f.median)} ±${fmt(half)}` : fmt(f.median);
}

/** A plain number if the value is one (so the axis is numeric), else the text. */
export const asX = (v: string): string | number => (/^[-+]?\d+(\.\d+)?$/.test(v) ? Number(v) : v);

export interface PlotAxes {
  /** x of a group: a varied value, or the pair. */
  x: (g: GroupSummary) => string | number;
  series: (g: GroupSummary) => string;
  xLabel: string;
}

/** Axes for a sweep: x = the first varied setting, one line per pair (and value of the second). */
export function sweepAxes(r: SweepResults): PlotAxes {
  const [v1, v2] = r.manifest.vary;
  if (!v1) return { x: (g) => g.pair, series: (g) => g.pair, xLabel: 'policy/notify' };
  return { x: (g) => asX(g.vary[v1.key]), series: (g) => (v2 ? `${g.pair} ${v2.key}=${g.vary[v2.key]}` : g.pair), xLabel: v1.key };
}

export function metricPlot(groups: readonly GroupSummary[], m: Metric, axes: PlotAxes, kind: 'line' | 'bars', references: Reference[] = [], title = m.label): PlotSpec {
  const data = groups.flatMap((g) => {
    const f = g.figures[m.key];
    return f ? [{ x: axes.x(g), series: axes.series(g), y: f.median, lo: f.lo, hi: f.hi }] : [];
  });
  return { kind, title, xLabel: axes.xLabel, yLabel: m.label, data, references };
}

export const DEFAULT_METRICS: readonly Metric[] = [METRICS.modeledOps, METRICS.lineRate, METRICS.measuredOps, METRICS.exitsPerDma, METRICS.pinnedPeakPct, METRICS.violations];

/** One row per configuration: its pair, varied values, trials and the figures. */
export function groupTable(r: SweepResults, metrics: readonly Metric[], heading = 'results'): ViewTable {
  const keys = r.manifest.vary.map((v) => v.key);
  const header = ['policy/notify', ...keys, 'trials', ...metrics.map((m) => m.label)];
  const rows = r.groups.map((g) => [g.pair, ...keys.map((k) => g.vary[k]), String(g.trials), ...metrics.map((m) => figure(g, m))]);
  return { heading, header, rows, note: 'median ±half its 95% bootstrap interval over the trials (trial k runs with seed + k)' };
}

export function defaultView(r: SweepResults): SweepView {
  const axes = sweepAxes(r);
  const kind = r.manifest.vary.length > 0 ? 'line' : 'bars';
  const plots = [METRICS.modeledOps, METRICS.measuredOps, METRICS.exitsPerDma, METRICS.pinnedPeakPct].map((m) => metricPlot(r.groups, m, axes, kind));
  return { title: r.manifest.title, tables: [groupTable(r, DEFAULT_METRICS)], plots: plots.filter((p) => p.data.length > 0), notes: [] };
}

/** The view as text: every table, then the notes. */
export function formatView(v: SweepView): string {
  const right = (t: ViewTable) => new Set(t.header.map((_, i) => i).filter((i) => t.rows.every((row) => /^[-\d]/.test(row[i] ?? ''))));
  const parts = v.tables.map((t) => `${t.heading}\n${grid(t.header, t.rows, right(t))}${t.note ? `\n(${t.note})` : ''}`);
  return `${v.title}\n\n${parts.join('\n\n')}${v.notes.length ? `\n\n${v.notes.join('\n')}` : ''}\n`;
}
