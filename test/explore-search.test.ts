// The explorer's search machinery without workers: schedule strings, the bounded DFS (complete,
// bounded, and split into shards that partition it), PCT and the merge of shard results.
import { describe, expect, it } from 'vitest';
import { NonPreemptive, PctChooser, RandomChooser, pctBound, scheduleSeed } from '../src/explore/choosers.js';
import { DfsSearch } from '../src/explore/dfs.js';
import { flatten, mergeResults, sliceBudget, type ExploreResult, type Slice } from '../src/explore/explore.js';
import type { Chooser } from '../src/explore/scheduler.js';
import { ScheduleSyntaxError, decodeChoices, encodeChoices } from '../src/explore/schedule-string.js';

/** Whether thread t may take its next step, given the steps every thread has done (blocking). */
type Dep = (done: number[], t: number) => boolean;
const free: Dep = () => true;

/** A toy program: thread t runs lengths[t] steps, enabled while `dep` allows (always, by default). */
function simulate(chooser: Chooser, lengths: number[], dep: Dep = free): number[] {
  const left = [...lengths];
  const choices: number[] = [];
  let last = -1;
  for (let step = 0; ; step++) {
    const done = lengths.map((n, t) => n - left[t]);
    const enabled = left.flatMap((n, t) => (n > 0 && dep(done, t) ? [t] : []));
    if (enabled.length === 0) return choices;
    const t = chooser.choose(enabled, step, last);
    expect(enabled).toContain(t);
    left[t]--;
    choices.push(t);
    last = t;
  }
}

function preemptionsOf(choices: number[], lengths: number[]): number {
  const left = [...lengths];
  let n = 0;
  for (let i = 0; i < choices.length; i++) {
    if (i > 0 && choices[i] !== choices[i - 1] && left[choices[i - 1]] > 0) n++;
    left[choices[i]]--;
  }
  return n;
}

/** Every schedule of the DFS (without the repeats of lower passes), and how many runs it took. */
function dfsRuns(bound: number, lengths: number[], path?: Slice[], dep: Dep = free): { out: string[]; runs: number } {
  const dfs = new DfsSearch(bound, path);
  const out: string[] = [];
  let runs = 0;
  for (let c = dfs.next(); c; c = dfs.next()) {
    runs++;
    const s = encodeChoices(simulate(c, lengths, dep));
    if (!dfs.uncounted()) out.push(s);
  }
  expect(dfs.exhausted).toBe(true);
  expect(dfs.hasMore()).toBe(false);
  return { out, runs };
}
const allDfs = (bound: number, lengths: number[], path?: Slice[], dep: Dep = free): string[] => dfsRuns(bound, lengths, path, dep).out;

/** Brute force: every interleaving with at most `bound` preemptions (a switch away from a thread that could go on). */
function bruteForce(bound: number, lengths: number[], dep: Dep = free): string[] {
  const out: string[] = [];
  const rec = (done: number[], choices: number[], last: number, used: number) => {
    const enabled = lengths.flatMap((n, t) => (done[t] < n && dep(done, t) ? [t] : []));
    if (enabled.length === 0) {
      out.push(encodeChoices(choices));
      return;
    }
    for (const t of enabled) {
      const p = used + (last >= 0 && enabled.includes(last) && t !== last ? 1 : 0);
      if (p > bound) continue;
      const next = [...done];
      next[t]++;
      rec(next, [...choices, t], t, p);
    }
  };
  rec(lengths.map(() => 0), [], -1, 0);
  return out;
}

describe('schedule strings', () => {
  it('round-trip run-length encoded choices', () => {
    const c = [0, 0, 0, 2, 1, 1, 1, 1, 0];
    expect(encodeChoices(c)).toBe('0*3.2.1*4.0');
    expect(decodeChoices('0*3.2.1*4.0', 3)).toEqual(c);
    expect(decodeChoices('', 3)).toEqual([]);
  });
  it.each(['0*', 'a', '0..1', '1*0', '0*-1', '3', '0.7'])('rejects %j with a message that shows the syntax', (s) => {
    expect(() => decodeChoices(s, 3)).toThrow(ScheduleSyntaxError);
  });
});

describe('bounded DFS', () => {
  it.each([
    [0, [2, 3]],
    [1, [2, 3]],
    [2, [2, 2, 2]],
    [1, [3, 1, 2]],
    [2, [4]],
  ])('with bound %i over threads of lengths %j runs every schedule within the bound exactly once', (bound, lengths) => {
    const got = allDfs(bound, lengths);
    expect(new Set(got).size).toBe(got.length);
    expect([...got].sort()).toEqual([...bruteForce(bound, lengths)].sort());
  });

  it.each([
    [2, [2, 2, 2]],
    [3, [2, 2, 2]],
    [5, [2, 2, 2]],
    [3, [3]],
    [4, [1, 3]],
  ])('split into %i shards, the shards partition the space of %j', (n, lengths) => {
    const whole = allDfs(2, lengths).sort();
    const parts = Array.from({ length: n }, (_, i) => allDfs(2, lengths, [{ index: i, count: n }]));
    const union = parts.flat().sort();
    expect(union).toEqual(whole);
    if (lengths.length === 3) expect(parts.filter((p) => p.length > 0).length).toBe(n); // every shard gets work here
  });

  const BLOCKING: [string, number[], Dep][] = [
    ['thread 1 waits until thread 0 has done 2 steps', [3, 3, 2], (d, t) => t !== 1 || d[1] > 0 || d[0] >= 2],
    ['ping-pong between two threads', [3, 3], (d, t) => (t === 0 ? d[0] <= d[1] : d[1] < d[0])],
    ['thread 2 waits for 0 and 1 to finish', [2, 2, 2], (d, t) => t !== 2 || (d[0] === 2 && d[1] === 2)],
  ];
  it.each(BLOCKING)('with blocking (%s) it still runs each schedule within the bound once, whole and in shards', (_n, lengths, dep) => {
    for (const bound of [0, 1, 2, 3]) {
      const want = bruteForce(bound, lengths, dep).sort();
      const got = allDfs(bound, lengths, undefined, dep);
      expect(new Set(got).size).toBe(got.length);
      expect([...got].sort()).toEqual(want);
      for (const n of [2, 3, 5]) {
        const parts = Array.from({ length: n }, (_, i) => allDfs(bound, lengths, [{ index: i, count: n }], dep)).flat();
        expect(parts.sort()).toEqual(want);
      }
    }
  });

  it('stops deepening once a pass cut nothing: a large bound costs no extra passes', () => {
    const small = dfsRuns(3, [2, 2]);
    const large = dfsRuns(16, [2, 2]);
    expect(large.out.sort()).toEqual(small.out.sort());
    expect(large.runs).toBe(small.runs);
    expect(large.runs).toBeLessThanOrEqual(2 * large.out.length);
  });

  it('nested slices (shard, then pool thread) also partition the space', () => {
    const lengths = [2, 2, 2];
    const whole = allDfs(2, lengths).sort();
    const parts: string[] = [];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) parts.push(...allDfs(2, lengths, [{ index: i, count: 2 }, { index: j, count: 3 }]));
    expect(parts.sort()).toEqual(whole);
  });

  it('deepens one preemption at a time: every 1-preemption schedule comes before any 2-preemption one', () => {
    const lengths = [3, 3];
    const dfs = new DfsSearch(2);
    const seen: number[] = [];
    for (let c = dfs.next(); c; c = dfs.next()) {
      const ch = simulate(c, lengths);
      if (!dfs.repeated()) seen.push(preemptionsOf(ch, lengths));
    }
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
  });
});

describe('random and PCT choosers', () => {
  it('searches from nearby base seeds share no schedule seeds', () => {
    const seeds = (base: number) => new Set(Array.from({ length: 1000 }, (_, i) => scheduleSeed(base, i)));
    const a = seeds(1);
    for (const other of [0, 2, 3]) expect([...seeds(other)].filter((x) => a.has(x)).length).toBe(0);
  });

  it('the same seed gives the same schedule; another seed, another', () => {
    const a = simulate(new RandomChooser(42), [5, 5, 5]);
    expect(simulate(new RandomChooser(42), [5, 5, 5])).toEqual(a);
    const others = [1, 2, 3, 4].map((s) => encodeChoices(simulate(new RandomChooser(s), [5, 5, 5])));
    expect(others.some((o) => o !== encodeChoices(a))).toBe(true);
  });

  it('PCT with depth 1 never preempts; with depth 3 it does at most 2 priority changes', () => {
    for (let seed = 0; seed < 50; seed++) {
      const c1 = simulate(new PctChooser(seed, 3, 1, 15), [5, 5, 5]);
      expect(preemptionsOf(c1, [5, 5, 5])).toBe(0);
      const c3 = simulate(new PctChooser(seed, 3, 3, 15), [5, 5, 5]);
      expect(preemptionsOf(c3, [5, 5, 5])).toBeLessThanOrEqual(2);
    }
  });

  it('the non-preemptive chooser runs each thread to its end', () => {
    expect(encodeChoices(simulate(new NonPreemptive(), [2, 3, 1]))).toBe('0*2.1*3.2');
  });

  it('states the PCT bound 1/(n k^(d-1))', () => {
    const b = pctBound(3, 40, 3, 1000);
    expect(b.perSchedule).toBeCloseTo(1 / (3 * 40 * 40));
    expect(b.missAll).toBeCloseTo((1 - 1 / 4800) ** 1000);
  });
});

describe('slices and merge', () => {
  it('seed slices add up to the budget and nest', () => {
    for (const budget of [1, 7, 100]) {
      const sum = [0, 1, 2].reduce((s, i) => s + sliceBudget(budget, { index: i, count: 3 }), 0);
      expect(sum).toBe(budget);
    }
    expect(flatten([{ index: 1, count: 4 }, { index: 2, count: 3 }])).toEqual({ index: 9, count: 12 });
  });

  const part = (slice: string, hist: Record<string, number>, first?: number): ExploreResult => ({
    scenario: 's',
    variant: 'none',
    strategy: 'random',
    schedules: Object.values(hist).reduce((a, b) => a + b, 0),
    steps: 10,
    maxSteps: 5,
    forbidden: hist.bad ?? 0,
    histogram: hist,
    verdicts: { ok: 'ACCEPTABLE', bad: 'FORBIDDEN' },
    ...(first !== undefined ? { firstForbidden: { schedule: `${first}`, outcome: 'bad', replay: 'r', index: first } } : {}),
    slices: [slice],
    options: { scenario: 's', variant: 'none', strategy: 'random', budget: 10, seed: 1, depth: 3, preemptions: 2, maxSteps: 100 },
    seconds: 1,
  });

  it('adds histograms and keeps the earliest FORBIDDEN schedule', () => {
    const m = mergeResults([part('0/2', { ok: 3, bad: 2 }, 8), part('1/2', { ok: 4, bad: 1 }, 3)]);
    expect(m.histogram).toEqual({ ok: 7, bad: 3 });
    expect(m.schedules).toBe(10);
    expect(m.forbidden).toBe(3);
    expect(m.firstForbidden?.index).toBe(3);
    expect(m.slices).toEqual(['0/2', '1/2']);
  });

  it('refuses results of different searches, a shard twice, a missing shard, or mixed splits', () => {
    const other = { ...part('1/2', { ok: 1 }), options: { ...part('1/2', {}).options, seed: 2 } };
    expect(() => mergeResults([part('0/2', { ok: 1 }), other])).toThrow(/seed/);
    expect(() => mergeResults([part('0/2', { ok: 1 }), part('0/2', { ok: 1 })])).toThrow(/twice/);
    expect(() => mergeResults([part('0/3', { ok: 1 }), part('2/3', { ok: 1 })])).toThrow(/shards 1\/3 are missing/);
    expect(() => mergeResults([part('0/2', { ok: 1 }), part('1/4', { ok: 1 })])).toThrow(/different splits/);
    const steps = { ...part('1/2', { ok: 1 }), options: { ...part('1/2', {}).options, maxSteps: 7 } };
    expect(() => mergeResults([part('0/2', { ok: 1 }), steps])).toThrow(/maxSteps/);
  });
});
