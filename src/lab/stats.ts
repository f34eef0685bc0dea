// The statistics of repeated trials: a seeded random source, the median, and its 95% confidence
// interval by the percentile bootstrap. The resampling, the median and the quantiles are
// simple-statistics' own (sampleWithReplacement, median, quantile); this file only feeds them a
// seeded random source, so the same data and seed always give the same interval.
import { median, quantile, sampleWithReplacement, shuffle } from 'simple-statistics';
import { seededRandom } from '../core/random.js';
import type { TrialInterval } from '../core/types.js';

/** A figure over several trials: the median and its 95% bootstrap interval. */
export type Interval = TrialInterval;

/** Bootstrap resamples per interval: enough for stable 2.5% / 97.5% quantiles, fast for a table. */
export const BOOTSTRAP_RESAMPLES = 2000;

export { seededRandom };

/** A seeded shuffle (simple-statistics' Fisher-Yates with our random source); `xs` is left alone. */
export function seededShuffle<T>(xs: readonly T[], random: () => number): T[] {
  return shuffle([...xs], random);
}

/**
 * The median of `xs` and the 95% percentile-bootstrap interval of the median: resample `xs` with
 * replacement `resamples` times, take each resample's median, and the 2.5% and 97.5% quantiles
 * of those. One value gives [x, x]; a few values give an interval close to their range, which is
 * honest: three trials cannot say more.
 */
export function bootstrapMedian(xs: readonly number[], seed: number, resamples = BOOTSTRAP_RESAMPLES): Interval {
  if (xs.length === 0) throw new Error('bootstrapMedian: no values');
  const m = median(xs);
  if (xs.length === 1 || xs.every((x) => x === xs[0])) return { median: m, lo: m, hi: m };
  const random = seededRandom(seed);
  const values = [...xs];
  const medians: number[] = [];
  for (let i = 0; i < resamples; i++) medians.push(median(sampleWithReplacement(values, values.length, random)));
  const [lo, hi] = quantile(medians, [0.025, 0.975]);
  // The interval always holds the sample median (a resample median can only be a sample value or
  // the mean of two, so with very few values a quantile may fall just short of it).
  return { median: m, lo: Math.min(lo, m), hi: Math.max(hi, m) };
}

/** Half the interval's width: the `±` printed after a median. */
export const halfWidth = (i: Interval): number => (i.hi - i.lo) / 2;

/** Do two intervals share any value? Then their order is within noise. */
export const overlaps = (a: Interval, b: Interval): boolean => a.lo <= b.hi && b.lo <= a.hi;
