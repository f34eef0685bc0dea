// The default search, `mixed`: random, PCT at several depths (each schedule its own seed) and the
// bounded DFS, dealt round robin from one budget. Each strategy has a blind spot (random rarely
// holds a thread back, one PCT depth misses bugs of another, DFS's budget can run out in the
// wrong subtree); together no single one decides whether a bug is found.
//
// Schedule i of the search goes to: i mod 3 = 0 random, 1 PCT (depth cycling through
// MIXED_PCT_DEPTHS), 2 DFS (the next schedule of this slice's DFS; random once it is exhausted).
// Slices deal schedule numbers round robin as random and PCT do; the DFS part of each slice
// searches that slice's subtrees, as a DFS search does.
import { PctChooser, RandomChooser, scheduleSeed } from './choosers.js';
import { DfsSearch } from './dfs.js';
import type { Chooser } from './scheduler.js';
import type { Slice } from './slice.js';

/** PCT depths the mixed search cycles through: bugs of 1, 2 and 3 ordering constraints past the first. */
export const MIXED_PCT_DEPTHS = [2, 3, 4] as const;

export interface MixedCounts {
  random: number;
  pct: number;
  dfs: number;
  /** The DFS part searched its whole bounded space (its share went to random afterwards). */
  dfsExhausted: boolean;
}

/** Runs one schedule with `chooser`; false if it was not counted (a DFS repeat). */
export type Record_ = (chooser: Chooser, index: number, skip?: () => boolean) => boolean;

export function runMixed(
  o: { budget: number; seed: number; preemptions: number },
  threads: number,
  steps: number,
  path: readonly Slice[],
  slice: Slice,
  record: Record_,
  stopped: () => boolean,
): MixedCounts {
  const dfs = new DfsSearch(o.preemptions, path);
  const counts: MixedCounts = { random: 0, pct: 0, dfs: 0, dfsExhausted: false };
  for (let i = slice.index; i < o.budget && !stopped(); i += slice.count) {
    const seed = scheduleSeed(o.seed, i);
    const kind = i % 3;
    if (kind === 2 && !counts.dfsExhausted && runDfs(dfs, i, record)) {
      counts.dfs++;
      continue;
    }
    if (kind === 2) counts.dfsExhausted = true;
    if (kind === 1) {
      const depth = MIXED_PCT_DEPTHS[Math.floor(i / 3) % MIXED_PCT_DEPTHS.length];
      record(new PctChooser(seed, threads, depth, steps), i);
      counts.pct++;
    } else {
      record(new RandomChooser(seed), i);
      counts.random++;
    }
  }
  counts.dfsExhausted ||= !dfs.hasMore();
  return counts;
}

/** The DFS's next counted schedule; false once its bounded space is exhausted. */
function runDfs(dfs: DfsSearch, index: number, record: Record_): boolean {
  for (;;) {
    const chooser = dfs.next();
    if (!chooser) return false;
    if (record(chooser, index, () => dfs.uncounted())) return true;
  }
}
