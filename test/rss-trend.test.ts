// The soak's leak test: a least-squares slope of RSS with its 95% interval.
import { describe, expect, it } from 'vitest';
import { formatTrend, rssTrend } from '../src/lab/rss-trend.js';
import { seededRandom } from '../src/lab/stats.js';

const minutes = Array.from({ length: 60 }, (_, i) => i / 6); // one sample every 10 s for 10 min

describe('rssTrend', () => {
  it('finds a steady leak under GC-like noise: the interval excludes zero and holds the true slope ~95% of the time', () => {
    let covered = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const r = seededRandom(seed * 7919);
      const t = rssTrend(minutes, minutes.map((m) => 200 + 1.5 * m + (r() - 0.5) * 8))!;
      expect(t.n).toBe(60);
      expect(t.lo).toBeGreaterThan(0);
      if (t.lo <= 1.5 && t.hi >= 1.5) covered++;
    }
    expect(covered / 400).toBeGreaterThan(0.91);
    expect(covered / 400).toBeLessThan(0.99);
  });

  it('gives flat memory an interval that holds zero, however far its endpoints swing', () => {
    const mb = minutes.map((_, i) => 250 + (i % 2 === 0 ? 6 : -6));
    mb[0] = 238; // the first sample low, the last high: the endpoint growth is +5%
    mb[mb.length - 1] = 262;
    const t = rssTrend(minutes, mb)!;
    expect(t.lo).toBeLessThan(0);
    expect(t.hi).toBeGreaterThan(0);
  });

  it('needs three samples at two times at least', () => {
    expect(rssTrend([0, 1], [1, 2])).toBeUndefined();
    expect(rssTrend([1, 1, 1], [1, 2, 3])).toBeUndefined();
    expect(formatTrend(undefined)).toBe('-');
    expect(formatTrend({ slope: 0.5, lo: -0.25, hi: 1.25, n: 9 })).toBe('+0.50 [-0.25, +1.25]');
  });
});
