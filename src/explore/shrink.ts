// Shrinking a FORBIDDEN schedule (QuickCheck / shuttle style, on the choice string): try smaller
// candidates and keep one whenever it reaches the same outcome with fewer preemptions, or as many
// and fewer steps. A candidate is an intended choice list run leniently: a choice whose thread is
// not enabled is dropped, and past the list's end the schedule runs on without preemptions, so
// every candidate is a real, complete schedule whose recorded choices replay exactly.
import type { Chooser, ScheduleRunner } from './scheduler.js';

export interface ShrinkResult {
  choices: number[];
  preemptions: number;
  steps: number;
  /** Schedules run while shrinking. */
  runs: number;
}

/** Follows `intended` where it can, counting the preemptions of what it actually chose. */
class LenientChooser implements Chooser {
  private k = 0;
  preemptions = 0;
  constructor(private readonly intended: readonly number[]) {}
  choose(enabled: readonly number[], _step: number, last: number): number {
    let t = -1;
    while (this.k < this.intended.length && t < 0) {
      const want = this.intended[this.k++];
      if (enabled.includes(want)) t = want;
    }
    const lastEnabled = last >= 0 && enabled.includes(last);
    if (t < 0) t = lastEnabled ? last : enabled[0];
    if (lastEnabled && t !== last) this.preemptions++;
    return t;
  }
}

/** Maximal runs of one thread: [start, end) index pairs. */
function blocks(c: readonly number[]): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < c.length; ) {
    let j = i;
    while (j < c.length && c[j] === c[i]) j++;
    out.push([i, j]);
    i = j;
  }
  return out;
}

/** Smaller schedules to try from `c`: cut before a switch, drop a block, or move it to its thread's previous block. */
function* candidates(c: readonly number[]): Generator<number[]> {
  const bs = blocks(c);
  for (let j = 1; j < bs.length; j++) yield c.slice(0, bs[j][0]);
  for (let j = 1; j < bs.length; j++) yield [...c.slice(0, bs[j][0]), ...c.slice(bs[j][1])];
  for (let j = 1; j < bs.length; j++) {
    const t = c[bs[j][0]];
    let p = j - 1;
    while (p >= 0 && c[bs[p][0]] !== t) p--;
    if (p < 0 || p === j - 1) continue;
    const moved = c.slice(bs[j][0], bs[j][1]);
    yield [...c.slice(0, bs[p][1]), ...moved, ...c.slice(bs[p][1], bs[j][0]), ...c.slice(bs[j][1])];
  }
}

const better = (a: { preemptions: number; steps: number }, b: { preemptions: number; steps: number }): boolean =>
  a.preemptions < b.preemptions || (a.preemptions === b.preemptions && a.steps < b.steps);

/** Shrink `choices` (which reached `outcome`) within `maxRuns` schedules. */
export function shrinkSchedule(runner: ScheduleRunner, choices: readonly number[], outcome: string, maxRuns = 60): ShrinkResult {
  const first = new LenientChooser(choices);
  const r0 = runner.run(first);
  let runs = 1;
  // the schedule as found (a deterministic scenario gives the same outcome again)
  let best: ShrinkResult = { choices: r0.choices, preemptions: first.preemptions, steps: r0.steps, runs };
  if (r0.outcome !== outcome) return best;
  for (let improved = true; improved && runs < maxRuns; ) {
    improved = false;
    for (const cand of candidates(best.choices)) {
      if (runs >= maxRuns) break;
      const ch = new LenientChooser(cand);
      const r = runner.run(ch);
      runs++;
      const got = { choices: r.choices, preemptions: ch.preemptions, steps: r.steps, runs };
      if (r.outcome === outcome && better(got, best)) {
        best = got;
        improved = true;
        break; // restart from the smaller schedule
      }
    }
  }
  return { ...best, runs };
}

/** Preemptions of a recorded schedule, run again (for reports and tests). */
export function preemptionsOf(runner: ScheduleRunner, choices: readonly number[]): { preemptions: number; outcome: string; steps: number } {
  const ch = new LenientChooser(choices);
  const r = runner.run(ch);
  return { preemptions: ch.preemptions, outcome: r.outcome, steps: r.steps };
}
