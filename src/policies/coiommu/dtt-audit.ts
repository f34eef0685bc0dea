// The oracle's look at the whole multi-level table (free-running, when nothing else runs: at
// teardown, after a schedule, in tests): every present entry points at a page in use (no freed page
// still referenced), no page is in use without being reachable (none leaked, e.g. by an install that
// overwrote another), the page count agrees, high words are zero, and what the leaves hold.
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
  return a;
}
