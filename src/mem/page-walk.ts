// The IOMMU's page walk on an IOTLB miss, through three page-table caches (F&S, SOSP'24 §3): L1
// caches level-1 entries (IOVA >> 9: which leaf page), L2 level-2 entries (IOVA >> 18), L3 the
// root's entries (IOVA >> 27). The walk starts below the deepest cache that hits, so a miss costs
// 1 memory read (L1 hit) up to 4 (every cache missed): reads = 1 + the caches that missed, and
// M (reads per page) = IOTLB misses + page-table-cache misses at each level, per page.
//
// Flushes. A PT_FREED flush (a page-table page was freed) empties the caches at once: the host
// waits for it before it may reuse the page. Linux's invalidations (hint clear) also empty them,
// but that flush only costs time, it guards nothing, so it takes effect in virtual time: when the
// device's DMA reaches the moment the unmap was made. Real threads would apply it whenever this
// machine's scheduler let the host run, and the walk counts would change from run to run.
import { STAT } from '../machine/layout.js';
import { ROOT_LEVEL, ptRange, type WalkTable } from './io-radix-table.js';
import { PtCache } from './ptcache.js';

export interface PtCacheSizes {
  l1: number;
  l2: number;
  l3: number;
}

const MISS = [0, STAT.PTC_MISSES_L1, STAT.PTC_MISSES_L2, STAT.PTC_MISSES_L3];

export class PageWalker {
  /** caches[l]: level-l directory entries (index 0 unused). */
  readonly caches: PtCache[];
  /** Virtual times of Linux-style flushes not yet reached by the device's DMA. */
  private pending: number[] = [];
  /** The virtual time of the access being translated (Infinity: apply every flush at once). */
  now = Number.POSITIVE_INFINITY;

  constructor(
    readonly table: WalkTable,
    sizes: PtCacheSizes,
    private readonly stats: Float64Array,
  ) {
    this.caches = [new PtCache(0), new PtCache(sizes.l1), new PtCache(sizes.l2), new PtCache(sizes.l3)];
  }

  /** Translate `iova`: the frame, or -1 (not present). Counts the reads and the caches' misses. */
  walk(iova: number): number {
    this.catchUp();
    let page = -1;
    let level = 1;
    for (; level <= ROOT_LEVEL; level++) {
      page = this.caches[level].lookup(ptRange(iova, level));
      if (page >= 0) break;
      this.stats[MISS[level]]++;
    }
    if (page < 0) {
      page = this.table.root;
      level = ROOT_LEVEL;
    } else level--; // a hit at cache l gives the page of level l - 1
    for (; level > 0; level--) {
      this.stats[STAT.IOTLB_WALK_READS]++;
      const e = this.table.entry(page, level, iova);
      if (e === 0) return -1;
      page = e - 1;
      this.caches[level].fill(ptRange(iova, level), page);
    }
    this.stats[STAT.IOTLB_WALK_READS]++;
    return this.table.entry(page, 0, iova) - 1;
  }

  /** The same walk, through the caches as they are, changing and counting nothing (a probe). */
  peek(iova: number): number {
    let page = this.table.root;
    let start = ROOT_LEVEL;
    for (let l = 1; l <= ROOT_LEVEL; l++) {
      const p = this.caches[l].peek(ptRange(iova, l));
      if (p >= 0) {
        page = p;
        start = l - 1;
        break;
      }
    }
    for (let level = start; level > 0; level--) {
      const e = this.table.entry(page, level, iova);
      if (e === 0) return -1;
      page = e - 1;
    }
    return this.table.entry(page, 0, iova) - 1;
  }

  /** Empty every page-table cache now. */
  flush(): void {
    for (const c of this.caches) c.flush();
  }

  /** A Linux-style flush made at virtual time `vt`: it applies once the DMA reaches `vt`. */
  flushAt(vt: number): void {
    if (vt <= this.now) this.flush();
    else this.pending.push(vt);
  }

  private catchUp(): void {
    if (this.pending.length === 0) return;
    const due = this.pending.filter((t) => t <= this.now);
    if (due.length === 0) return;
    this.pending = this.pending.filter((t) => t > this.now);
    this.flush();
  }
}
