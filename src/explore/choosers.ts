// Who runs next: the strategies of the explorer. A Chooser sees the enabled threads at a step and
// picks one; everything else about a schedule follows from those picks, so the picks replay it.
import { seededRandom } from '../core/random.js';
import type { Chooser } from './scheduler.js';

/** splitmix32 (src/core/random.ts). */
export const rng = seededRandom;

/** murmur3's 32-bit finaliser: every input bit moves every output bit. */
function mix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

/**
 * The seed of schedule `index` of a search started from `base` (the same on every shard and
 * thread). Both numbers are hashed, so the searches of two nearby bases share no schedules.
 */
export const scheduleSeed = (base: number, index: number): number =>
  mix32(mix32(base ^ 0x5bd1e995) ^ Math.imul(index + 1, 0x9e3779b9));

/** Keep running the last thread while it can run; else the lowest enabled. No preemptions. */
export class NonPreemptive implements Chooser {
  choose(enabled: readonly number[], _step: number, last: number): number {
    return enabled.includes(last) ? last : enabled[0];
  }
}

/** Seeded uniform choice at every step. */
export class RandomChooser implements Chooser {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = rng(seed);
  }
  choose(enabled: readonly number[]): number {
    return enabled[Math.floor(this.next() * enabled.length)];
  }
}

/**
 * PCT (Burckhardt et al., ASPLOS'10): random distinct thread priorities, always run the highest
 * enabled, and at d-1 distinct random change points k_i, once the thread that runs step k_i has
 * run it, drop its priority to d-i, below everyone. For a bug of depth d it finds it with
 * probability at least 1 / (n k^(d-1)) per schedule (n threads, k steps).
 */
export class PctChooser implements Chooser {
  private readonly prio: number[];
  private readonly changeAt: Map<number, number> = new Map();

  constructor(seed: number, threads: number, depth: number, steps: number) {
    const next = rng(seed);
    const order = Array.from({ length: threads }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    this.prio = new Array<number>(threads);
    order.forEach((t, rank) => (this.prio[t] = depth + rank)); // initial priorities depth .. depth+n-1
    const points = Math.min(depth - 1, Math.max(1, steps));
    for (let i = 1; i <= points; ) {
      const k = Math.floor(next() * Math.max(1, steps));
      if (this.changeAt.has(k)) continue; // the points are distinct
      this.changeAt.set(k, depth - i++);
    }
  }

  private highest(enabled: readonly number[]): number {
    let best = enabled[0];
    for (const t of enabled) if (this.prio[t] > this.prio[best]) best = t;
    return best;
  }

  choose(enabled: readonly number[], step: number): number {
    const t = this.highest(enabled);
    const lowered = this.changeAt.get(step);
    if (lowered !== undefined) this.prio[t] = lowered; // from the next step on
    return t;
  }
}

/** PCT's guarantee for a bug of depth d: per schedule, and over a whole budget. */
export function pctBound(threads: number, steps: number, depth: number, schedules: number) {
  const perSchedule = 1 / (threads * Math.max(1, steps) ** (depth - 1));
  return { depth, threads, steps, perSchedule, missAll: (1 - perSchedule) ** schedules };
}

export class ScheduleDivergedError extends Error {}

/** Replays a recorded choice sequence; past its end, continues without preemptions. */
export class FollowChooser implements Chooser {
  private readonly rest = new NonPreemptive();
  constructor(private readonly choices: readonly number[]) {}
  choose(enabled: readonly number[], step: number, last: number): number {
    if (step >= this.choices.length) return this.rest.choose(enabled, step, last);
    const t = this.choices[step];
    if (!enabled.includes(t))
      throw new ScheduleDivergedError(
        `the schedule does not fit this scenario: at step ${step} it picks thread ${t}, but the enabled threads are ${enabled.join(', ')}`,
      );
    return t;
  }
}
