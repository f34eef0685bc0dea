// An audit of the IO page table's pool (src/mem/io-radix-table.ts), for scenario outcomes, tests
// and teardown: every page-table page handed out (1..HIGH; 0 is the root) is either reachable from
// the root exactly once or on the free stack exactly once, never both; each reachable page's count
// equals its present entries. A skipped free-stack push, a directory entry left pointing at a freed
// page or a lost count all show here, where a walk alone would not notice them. Plain Atomics: the
// audit observes, it is not part of the protocol.
import { PT_ENTRIES, PT_POOL, ptFreeStackBase, ptPageBase, ptPoolPages } from '../machine/layout.js';
import type { Machine } from '../machine/machine.js';
import { ROOT_LEVEL, ROOT_PAGE } from './io-radix-table.js';

/** What is wrong with the IO page table's pool, in words (empty: nothing). */
export function auditIoRadix(m: Machine): string[] {
  const pool = m.ptPool;
  const pages = ptPoolPages(m.iovaPages);
  if (pages === 0) return [];
  const problems: string[] = [];
  const high = Atomics.load(pool, PT_POOL.HIGH);
  const free = freeStack(pool, pages, high, problems);
  const reached = new Set<number>();
  visit(pool, ptPageBase(pages), ROOT_PAGE, ROOT_LEVEL, { high, free, reached, problems });
  for (let p = 1; p <= high; p++) if (!free.has(p) && !reached.has(p)) problems.push(`page ${p} leaked: neither reachable nor free`);
  return problems;
}

function freeStack(pool: Int32Array, pages: number, high: number, problems: string[]): Set<number> {
  const free = new Set<number>();
  const top = Atomics.load(pool, PT_POOL.FREE_TOP);
  if (top < 0 || top > high) problems.push(`free stack holds ${top} pages of ${high} handed out`);
  for (let k = 0; k < Math.min(Math.max(top, 0), high); k++) {
    const p = Atomics.load(pool, ptFreeStackBase(pages) + k);
    if (p < 1 || p > high) problems.push(`free stack slot ${k} holds page ${p}, never handed out (or the root)`);
    else if (free.has(p)) problems.push(`page ${p} is on the free stack twice`);
    else free.add(p);
  }
  return free;
}

interface Walk {
  high: number;
  free: Set<number>;
  reached: Set<number>;
  problems: string[];
}

function visit(pool: Int32Array, base: number, page: number, level: number, w: Walk): void {
  let present = 0;
  for (let i = 0; i < PT_ENTRIES; i++) {
    const e = Atomics.load(pool, base + page * PT_ENTRIES + i);
    if (e === 0) continue;
    present++;
    if (level === 0) continue;
    const child = e - 1;
    if (child < 1 || child > w.high) w.problems.push(`page ${page} (level ${level}) points at page ${child}, never handed out`);
    else if (w.free.has(child)) w.problems.push(`page ${page} (level ${level}) points at page ${child}, which is free`);
    else if (w.reached.has(child)) w.problems.push(`page ${child} is reachable twice`);
    else {
      w.reached.add(child);
      visit(pool, base, child, level - 1, w);
    }
  }
  const counted = Atomics.load(pool, PT_POOL.COUNTS + page);
  if (counted !== present) w.problems.push(`page ${page} (level ${level}) counts ${counted} entries, holds ${present}`);
}
