// Benchmark results: every figure is a ratio against a baseline measured in the same run, taken
// in the direction its target states, then printed as a table or as JSON.
import { mergeHistograms, percentilesUs } from '../../src/core/latency.js';
import { grid } from '../../src/lab/table.js';
import { bootstrapMedian, halfWidth, type Interval } from '../../src/lab/stats.js';
import type { Percentiles } from '../../src/core/types.js';
import type { RoundTrips } from './messages.js';

/**
 * How the ratio is formed so that the target reads naturally:
 *  - 'value/baseline': our cost over the baseline's (`<= 3x` slower), or our rate over the baseline's (`>= 0.9`);
 *  - 'baseline/value': the baseline's cost over ours (`>= 20x` faster), or the baseline's rate over ours (`<= 1.5x`).
 */
export type RatioOf = 'value/baseline' | 'baseline/value';

export interface Target {
  op: '<=' | '>=';
  limit: number;
}

/** One line of `npm run bench -- --json`. The first seven keys are the contract; the rest explain. */
export interface BenchResult {
  name: string;
  value: number;
  baseline: number;
  ratio: number;
  target: string;
  unit: string;
  /** null: a figure reported without a target. */
  pass: boolean | null;
  /** How ratio was formed from value and baseline. */
  ratioOf: RatioOf;
  /** What `value` and `baseline` measure. */
  valueIs: string;
  baselineIs: string;
  /** Most threads spinning at once while this benchmark measured (both halves). */
  spinningThreads: number;
  /** Distribution / run details of both sides (p50/p99/max for round trips). */
  detail: { value: string; baseline: string; notes?: string[] };
  /** With --trials N: how many trials finished (value, baseline and ratio are then their medians). */
  trials?: number;
  /** With --trials N: the median and 95% bootstrap interval of each figure over the trials. */
  ci95?: { ratio: Interval; value: Interval; baseline: Interval };
  /** With --trials N: every trial's own result, in the order they ran. */
  trialResults?: BenchResult[];
}

export const targetText = (t: Target | null): string => (t === null ? 'reported' : `${t.op} ${t.limit}x`);

export function makeResult(r: {
  name: string;
  unit: string;
  value: number;
  baseline: number;
  ratioOf: RatioOf;
  /** null: reported, no target. */
  target: Target | null;
  valueIs: string;
  baselineIs: string;
  spinningThreads: number;
  detail: BenchResult['detail'];
}): BenchResult {
  const ratio = r.ratioOf === 'value/baseline' ? r.value / r.baseline : r.baseline / r.value;
  const pass = passes(r.target, ratio);
  return {
    name: r.name,
    value: round(r.value),
    baseline: round(r.baseline),
    ratio: round(ratio),
    target: targetText(r.target),
    unit: r.unit,
    pass,
    ratioOf: r.ratioOf,
    valueIs: r.valueIs,
    baselineIs: r.baselineIs,
    spinningThreads: r.spinningThreads,
    detail: r.detail,
  };
}

const passes = (t: Target | null, ratio: number): boolean | null =>
  t === null ? null : Number.isFinite(ratio) && (t.op === '<=' ? ratio <= t.limit : ratio >= t.limit);

/** The target back from its text (`<= 3x`), or null for `reported`. */
function parseTarget(text: string): Target | null {
  const m = /^(<=|>=) ([\d.]+)x$/.exec(text);
  return m ? { op: m[1] as Target['op'], limit: Number(m[2]) } : null;
}

/**
 * The trials of one benchmark (in the order they ran) as one result: value, baseline and ratio are
 * the medians over the trials (so ratio is the median ratio, not value / baseline), `pass` is
 * judged on the median ratio, and `ci95` holds each median's 95% bootstrap interval (seeded);
 * the details are the trial whose ratio is nearest the median. A target inside the ratio's
 * interval is noted: the trials cannot tell whether it is met.
 */
export function aggregateBench(trials: BenchResult[], seed: number): BenchResult {
  if (trials.length === 0) throw new Error('aggregateBench: no trials');
  const ci = (f: (r: BenchResult) => number) => bootstrapMedian(trials.map(f), seed);
  const ci95 = { ratio: ci((r) => r.ratio), value: ci((r) => r.value), baseline: ci((r) => r.baseline) };
  let mid = trials[0];
  for (const r of trials) if (Math.abs(r.ratio - ci95.ratio.median) < Math.abs(mid.ratio - ci95.ratio.median)) mid = r;
  const target = parseTarget(mid.target);
  const notes = [...(mid.detail.notes ?? [])];
  if (trials.length > 1 && target && ci95.ratio.lo <= target.limit && target.limit <= ci95.ratio.hi)
    notes.push(`the target ${mid.target} lies inside the ratio's 95% interval [${fmtNum(ci95.ratio.lo)}, ${fmtNum(ci95.ratio.hi)}]: within noise`);
  return {
    ...mid,
    value: round(ci95.value.median),
    baseline: round(ci95.baseline.median),
    ratio: round(ci95.ratio.median),
    pass: passes(target, ci95.ratio.median),
    detail: { ...mid.detail, ...(notes.length > 0 && { notes }) },
    trials: trials.length,
    ci95,
    trialResults: trials,
  };
}

/** Four significant digits: enough for a benchmark, short in JSON. */
export function round(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const digits = Math.max(0, 3 - Math.floor(Math.log10(Math.abs(x))));
  return Number(x.toFixed(Math.min(digits, 6)));
}

// ---- round-trip histograms ----

export interface RoundTripSummary extends Percentiles {
  count: number;
  meanUs: number;
}

export function summarise(rt: RoundTrips): RoundTripSummary {
  const p = percentilesUs(mergeHistograms([rt.histogram]));
  return { ...p, count: rt.count, meanUs: (rt.totalMs * 1000) / Math.max(1, rt.count) };
}

export function fmtNum(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 1e6) return `${(x / 1e6).toFixed(a >= 1e8 ? 0 : a >= 1e7 ? 1 : 2)}M`;
  if (a >= 1e4) return Math.round(x).toLocaleString('en-US');
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toFixed(3);
}

/** `p50 0.412 µs  p99 1.20 µs  max 35.4 µs  (200,000 round trips)` */
export function describeRoundTrips(s: RoundTripSummary, extra = ''): string {
  const us = (x: number) => `${fmtNum(x)} µs`;
  return `p50 ${us(s.p50)}  p99 ${us(s.p99)}  max ${us(s.max)}  (${s.count.toLocaleString('en-US')} round trips${extra})`;
}

// ---- output ----


/** `1.20x`, or over several trials `1.20x ±0.11` (the median ± half its 95% interval, alike decimals). */
function ratioText(r: BenchResult): string {
  const text = `${fmtNum(r.ratio)}x`;
  if ((r.trials ?? 1) <= 1 || !r.ci95) return text;
  const decimals = (fmtNum(r.ratio).split('.')[1] ?? '').length;
  return `${text} ±${halfWidth(r.ci95.ratio).toFixed(decimals)}`;
}

export function formatTable(results: BenchResult[]): string {
  const header = ['benchmark', 'value', 'baseline', 'unit', 'ratio', 'target', 'result', 'spinning'];
  const rows = results.map((r) => [
    r.name,
    fmtNum(r.value),
    fmtNum(r.baseline),
    r.unit,
    ratioText(r),
    r.target,
    r.pass === null ? '-' : r.pass ? 'PASS' : 'FAIL',
    String(r.spinningThreads),
  ]);
  const out = grid(header, rows, new Set([1, 2, 4, 7])).split('\n');
  out.push('');
  for (const r of results) {
    const over = (r.trials ?? 1) > 1 ? `, median of ${r.trials} trials: ${r.trialResults?.map((t) => `${fmtNum(t.ratio)}x`).join(', ')}` : '';
    out.push(`${r.name}: ratio = ${r.ratioOf}, target ${r.target}${over}`);
    out.push(`  value    = ${r.valueIs}: ${r.detail.value}`);
    out.push(`  baseline = ${r.baselineIs}: ${r.detail.baseline}`);
    for (const n of r.detail.notes ?? []) out.push(`  note: ${n}`);
  }
  return out.join('\n');
}
