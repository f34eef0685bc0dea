// The soak's leak test: the least-squares slope of RSS over the samples after warm-up, with its
// 95% confidence interval. Two endpoints (warm, end) of a 25 s slice swing with every GC cycle; a
// slope over every sample says whether memory keeps growing, and its interval says whether the
// growth is told apart from the noise (an interval that holds 0 is no evidence of a leak).
import { linearRegression } from 'simple-statistics';

export interface RssTrend {
  /** MB per minute, fitted. */
  slope: number;
  /** The slope's 95% confidence interval (Student's t with n - 2 degrees of freedom). */
  lo: number;
  hi: number;
  /** Samples fitted. */
  n: number;
}

/** The 97.5% quantiles of Student's t for 1..30 degrees of freedom (tables); above, Cornish-Fisher. */
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

export function tQuantile975(df: number): number {
  if (df <= 30) return T975[df - 1];
  const z = 1.959964;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2);
}

/** The fitted slope of `mb` over `minutes`, or undefined with fewer than three samples. */
export function rssTrend(minutes: readonly number[], mb: readonly number[]): RssTrend | undefined {
  const n = minutes.length;
  if (n < 3 || mb.length !== n) return undefined;
  const { m, b } = linearRegression(minutes.map((t, i) => [t, mb[i]]));
  const tMean = minutes.reduce((s, t) => s + t, 0) / n;
  const sxx = minutes.reduce((s, t) => s + (t - tMean) ** 2, 0);
  if (sxx === 0) return undefined;
  const sse = minutes.reduce((s, t, i) => s + (mb[i] - (m * t + b)) ** 2, 0);
  const half = tQuantile975(n - 2) * Math.sqrt(sse / (n - 2) / sxx);
  return { slope: m, lo: m - half, hi: m + half, n };
}

/** `+0.12 [-0.30, +0.55]` MB/min, or `-` when too few samples. */
export function formatTrend(t: RssTrend | undefined): string {
  if (!t) return '-';
  const s = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;
  return `${s(t.slope)} [${s(t.lo)}, ${s(t.hi)}]`;
}
