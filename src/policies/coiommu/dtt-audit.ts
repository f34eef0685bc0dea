// The oracle's look at the whole multi-level table (free-running, when nothing else runs: at
// teardown, after a schedule, in tests): every present entry points at a page in use (no freed page
// still referenced), no page is in use without being reachable (none leaked, e.g. by an install that
// overwrote another), the page count agrees, high words are zero, what the leaves hold, and the
// allocator's free stack (every free page on it once, all zero).
import type { Machine } from '../../machine/machine.js';
import { LAST_LEVEL, LEAF_ENTRIES, UPPER_ENTRIES, UPPER_ENTRY_WORDS, frameOfEntry, isPresent } from './dtt-levels.js';
import { pageInUse } from './dtt-pool.js';
import { CO, frameOfPoolPage, wordOfFrame, wordOfGpa, type CoiommuRegion } from './region.js';

export interface TreeAudit {
  leaves: number;
  uppers: number;
  /** Leaf entries that are not zero, and the sum of their map counts. */
  nonZeroEntries: number;
  mapCounts: number;
  problems: string[];
}

export function auditTree(m: Machine, r: CoiommuRegion): TreeAudit {
  const w = m.coiommu;
  const a: TreeAudit = { leaves: 0, uppers: 0, nonZeroEntries: 0, mapCounts: 0, problems: [] };
  const levels = Atomics.load(w, CO.DTT_LEVEL);
  if (levels <= 0) return a;
  const root = wordOfGpa(Atomics.load(w, CO.DTT_ROOT_LO)) / LEAF_ENTRIES;
  const reached = new Set<number>([root]);
  const visit = (frame: number, level: number): void => {
    const base = wordOfFrame(frame);
    if (level === LAST_LEVEL) {
      a.leaves++;
      for (let i = 0; i < LEAF_ENTRIES; i++) {
        const e = Atomics.load(w, base + i);
        if (e !== 0) a.nonZeroEntries++;
        a.mapCounts += e & 0xffff;
      }
      return;
    }
    if (frame !== root) a.uppers++;
    for (let i = 0; i < UPPER_ENTRIES; i++) {
      const lo = Atomics.load(w, base + i * UPPER_ENTRY_WORDS);
      if (Atomics.load(w, base + i * UPPER_ENTRY_WORDS + 1) !== 0) a.problems.push(`level ${level} page ${frame}: entry ${i} has a non-zero high word`);
      if (!isPresent(lo)) continue;
      const child = frameOfEntry(lo);
      if (!pageInUse(m, r, child)) a.problems.push(`level ${level} page ${frame}: entry ${i} points at freed page ${child}`);
      else if (reached.has(child)) a.problems.push(`page ${child} is referenced twice`);
      else {
        reached.add(child);
        visit(child, level - 1);
      }
    }
  };
  visit(root, levels);
  for (let k = 0; k < r.poolPages; k++) {
    const f = frameOfPoolPage(r, k);
    if (pageInUse(m, r, f) && !reached.has(f)) a.problems.push(`page ${f} is in use but no entry points at it (leaked)`);
  }
  if (Atomics.load(w, CO.PAGES) !== a.leaves + a.uppers) a.problems.push(`page count ${Atomics.load(w, CO.PAGES)} but ${a.leaves + a.uppers} pages below the root`);
  a.problems.push(...auditPool(m, r));
  return a;
}

/**
 * The page allocator's side: each page below the bump pointer that is not in use is on the free
 * stack exactly once, and all zero (the allocator hands pages out without clearing them); none at or
 * above the bump pointer is in use. A lost push leaks a page; a lost pop or bump hands one out twice;
 * a dirty free page becomes a leaf with stale counts.
 */
export function auditPool(m: Machine, r: CoiommuRegion): string[] {
  const w = m.coiommu;
  const next = Atomics.load(w, CO.POOL_NEXT);
  const top = Atomics.load(w, CO.FREE_TOP);
  if (next < 0 || next > r.poolPages || top < 0 || top > next) return [`allocator: bump pointer ${next}, free stack top ${top}`];
  const problems: string[] = [];
  const onStack = new Set<number>();
  for (let i = 0; i < top; i++) {
    const k = Atomics.load(w, r.freeStack + i);
    if (k < 0 || k >= next || onStack.has(k) || Atomics.load(w, r.pageState + k) !== 0) problems.push(`free stack entry ${i}: page ${k} is not a free page below the bump pointer, or is there twice`);
    else if (!pageZero(w, wordOfFrame(frameOfPoolPage(r, k)))) problems.push(`free page ${frameOfPoolPage(r, k)} is not all zero`);
    onStack.add(k);
  }
  for (let k = 0; k < next; k++) {
    if (Atomics.load(w, r.pageState + k) === 0 && !onStack.has(k)) problems.push(`page ${frameOfPoolPage(r, k)} is free but not on the free stack (leaked)`);
  }
  // above the bump pointer nothing was ever handed out (a lost bump hands the page out twice)
  for (let k = next; k < r.poolPages; k++) {
    if (Atomics.load(w, r.pageState + k) !== 0) problems.push(`page ${frameOfPoolPage(r, k)} is in use at or above the bump pointer ${next}`);
  }
  if (next < r.poolPages && !pageZero(w, wordOfFrame(frameOfPoolPage(r, next)))) problems.push(`the next page to hand out, ${frameOfPoolPage(r, next)}, is not all zero`);
  return problems;
}

function pageZero(w: Int32Array, base: number): boolean {
  for (let i = 0; i < LEAF_ENTRIES; i++) if (Atomics.load(w, base + i) !== 0) return false;
  return true;
}
