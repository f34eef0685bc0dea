// Trials: the seeded interleaved order, the bootstrap interval, the aggregated report, the load
// figure. No workers run and nothing is timed.
import { describe, expect, it } from 'vitest';
import { aggregateBench, formatTable, makeResult } from '../bench/lib/report.js';
import type { RunReport } from '../src/core/types.js';
import { bootstrapMedian, halfWidth, overlaps, seededRandom } from '../src/lab/stats.js';
import { aggregateTrials, machineLoad, overloaded, trialOrder, type TrialSlot } from '../src/lab/trials.js';

const key = (s: TrialSlot) => `${s.config}:${s.trial}`;

describe('trialOrder', () => {
  it.each([
    [2, 2],
    [2, 10],
    [3, 3],
    [10, 3],
    [10, 7],
  ])('%i configurations x %i trials: every run once, never one configuration twice in a row', (configs, trials) => {
    for (const seed of [0, 1, 2, 42, 2 ** 32 - 1]) {
      const order = trialOrder(configs, trials, seed);
      expect(order).toHaveLength(configs * trials);
      expect(new Set(order.map(key)).size).toBe(configs * trials);
      for (let i = 1; i < order.length; i++) expect(order[i].config, `seed ${seed}, position ${i}`).not.toBe(order[i - 1].config);
      // trials of one configuration run in their own order: trial k before trial k+1
      for (let c = 0; c < configs; c++) expect(order.filter((s) => s.config === c).map((s) => s.trial)).toEqual([...Array(trials).keys()]);
    }
  });

  it('is the same for the same seed, and shuffled: another seed gives another order', () => {
    expect(trialOrder(10, 3, 7)).toEqual(trialOrder(10, 3, 7));
    const orders = new Set([1, 2, 3, 4, 5].map((seed) => trialOrder(10, 3, seed).map(key).join(' ')));
    expect(orders.size).toBeGreaterThan(1);
    const inGivenOrder = Array.from({ length: 3 }, (_, t) => Array.from({ length: 10 }, (_, c) => `${c}:${t}`)).flat().join(' ');
    expect(trialOrder(10, 3, 1).map(key).join(' ')).not.toBe(inGivenOrder);
  });

  it('one trial keeps the order given; one configuration runs its trials in turn', () => {
    expect(trialOrder(3, 1, 9)).toEqual([0, 1, 2].map((config) => ({ config, trial: 0 })));
    expect(trialOrder(1, 3, 9)).toEqual([0, 1, 2].map((trial) => ({ config: 0, trial })));
  });
});

describe('bootstrapMedian', () => {
  const data = [98, 103, 101, 97, 120, 99, 102, 100, 104, 96];

  it('holds the median and is reproducible for a seed (which it does use)', () => {
    const a = bootstrapMedian(data, 1);
    expect(a.median).toBe(100.5);
    expect(a.lo).toBeLessThanOrEqual(a.median);
    expect(a.hi).toBeGreaterThanOrEqual(a.median);
    expect(a.lo).toBeGreaterThanOrEqual(96);
    expect(a.hi).toBeLessThanOrEqual(120);
    expect(a.hi - a.lo).toBeGreaterThan(0);
    expect(bootstrapMedian(data, 1)).toEqual(a);
    // 2000 resamples make the quantiles all but seed-free; 20 show that the seed steers them
    const few = (seed: number) => JSON.stringify(bootstrapMedian(data, seed, 20));
    expect(few(9)).toBe(few(9));
    expect(new Set([1, 2, 3, 4, 5, 6].map(few)).size).toBeGreaterThan(1);
  });

  it('one value (or equal values) gives [x, x]', () => {
    expect(bootstrapMedian([5], 1)).toEqual({ median: 5, lo: 5, hi: 5 });
    expect(bootstrapMedian([7, 7, 7], 1)).toEqual({ median: 7, lo: 7, hi: 7 });
  });

  it('three values give about their range (three trials cannot say more)', () => {
    expect(bootstrapMedian([10, 30, 20], 1)).toEqual({ median: 20, lo: 10, hi: 30 });
  });

  it('overlaps and half-width', () => {
    expect(overlaps({ median: 1, lo: 0, hi: 2 }, { median: 3, lo: 2, hi: 4 })).toBe(true);
    expect(overlaps({ median: 1, lo: 0, hi: 2 }, { median: 4, lo: 3, hi: 5 })).toBe(false);
    expect(halfWidth({ median: 1, lo: 0, hi: 3 })).toBe(1.5);
  });

  it('seededRandom is uniform-looking in [0, 1) and the same for the same seed', () => {
    const r = seededRandom(3);
    const xs = Array.from({ length: 1000 }, r);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(Array.from({ length: 1000 }, seededRandom(3))).toEqual(xs);
    const mean = xs.reduce((a, b) => a + b) / xs.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
  });
});

/** Just the fields aggregation reads. */
function trial(opsPerSecond: number, extra: Partial<RunReport> = {}): RunReport {
  return {
    opsPerSecond,
    exitsPerDma: opsPerSecond / 1e6,
    latencyUs: { map: { p50: opsPerSecond / 1e5, p99: 1, max: 2 } },
    modeled: { cyclesPerDma: 1, costTable: {}, breakdown: {} },
    config: { seed: 1 },
    ...extra,
  } as unknown as RunReport;
}

describe('aggregateTrials', () => {
  it('is a copy of the median trial with trials, ci95 and every trial report', () => {
    const ts = [trial(300), trial(100), trial(200)];
    const a = aggregateTrials(ts);
    expect(a.opsPerSecond).toBe(200);
    expect(a.trials).toBe(3);
    expect(a.trialReports).toEqual(ts);
    expect(a.ci95?.opsPerSecond).toEqual({ median: 200, lo: 100, hi: 300 });
    expect(a.ci95?.exitsPerDma.median).toBeCloseTo(0.0002);
    expect(a.ci95?.mapP50Us.median).toBeCloseTo(0.002);
    expect(a.ci95).not.toHaveProperty('modeledOpsPerSecond');
  });

  it('takes modeled.opsPerSecond when every trial has it', () => {
    const withModeled = (ops: number, m: number) => trial(ops, { modeled: { cyclesPerDma: 1, costTable: {}, breakdown: {}, opsPerSecond: m } as unknown as RunReport['modeled'] });
    const a = aggregateTrials([withModeled(1, 10), withModeled(2, 30), withModeled(3, 20)]);
    expect(a.ci95?.modeledOpsPerSecond).toEqual({ median: 20, lo: 10, hi: 30 });
  });

  it('one trial: the interval is [x, x]', () => {
    const a = aggregateTrials([trial(123)]);
    expect(a.trials).toBe(1);
    expect(a.ci95?.opsPerSecond).toEqual({ median: 123, lo: 123, hi: 123 });
  });
});

describe('machineLoad', () => {
  it('reads the injected source; above the cores is overloaded', () => {
    const m = machineLoad({ loadavg: () => [3.456, 1, 1], cores: () => 2 });
    expect(m).toEqual({ loadAverage1m: 3.46, cores: 2 });
    expect(overloaded(m)).toBe(true);
    expect(overloaded(machineLoad({ loadavg: () => [1.5, 1, 1], cores: () => 2 }))).toBe(false);
    expect(overloaded(undefined)).toBe(false);
  });

  it('by default reads this machine', () => {
    const m = machineLoad();
    expect(m.cores).toBeGreaterThan(0);
    expect(m.loadAverage1m).toBeGreaterThanOrEqual(0);
  });
});

describe('bench --trials: aggregateBench', () => {
  const result = (ratio: number) =>
    makeResult({
      name: 'x',
      unit: 'µs',
      value: ratio * 10,
      baseline: 10,
      ratioOf: 'value/baseline',
      target: { op: '<=', limit: 1.5 },
      valueIs: 'ours',
      baselineIs: 'bare',
      spinningThreads: 0,
      detail: { value: `v${ratio}`, baseline: 'b' },
    });

  it('medians with 95% intervals, pass judged on the median ratio, every trial kept', () => {
    const trials = [result(1.2), result(5.7), result(1.1)];
    const a = aggregateBench(trials, 1);
    expect(a.ratio).toBe(1.2);
    expect(a.pass).toBe(true);
    expect(a.trials).toBe(3);
    expect(a.trialResults).toEqual(trials);
    expect(a.ci95?.ratio).toEqual({ median: 1.2, lo: 1.1, hi: 5.7 });
    expect(a.detail.value).toBe('v1.2'); // the median trial's details
    expect(a.detail.notes?.join('\n')).toContain('within noise');
    expect(aggregateBench(trials, 1)).toEqual(a);
    expect(formatTable([a])).toMatch(/1\.20x ±2\.30/);
  });

  it('clearly apart from the target: no noise note; one trial prints no ±', () => {
    const a = aggregateBench([result(1.0), result(1.1), result(1.05)], 1);
    expect(a.pass).toBe(true);
    expect(a.detail.notes ?? []).toEqual([]);
    const one = aggregateBench([result(2)], 1);
    expect(one.pass).toBe(false);
    expect(formatTable([result(2)])).not.toContain('±');
  });
});
