// The IO page table the device walks: a 4-level radix table of 512-entry pages in shared memory
// (VT-d second level, 4 KiB pages), as the host's IOMMU driver keeps it. Level 3 is the root, level
// 0 the leaf; a directory entry holds its child page + 1, a leaf entry the host frame + 1 (what the
// flat shadow table holds for the same IOVA). The host writes it under the pin-state lock; the
// device reads it on IOTLB misses (src/mem/page-walk.ts).
//
// Page-table pages are freed as Linux frees them: only when one unmap covers the whole range a page
// maps (2 MiB for a leaf page, 1 GiB for the directory above it), and only once nothing in it is
// live. A freed page goes on a free stack and the next directory that needs a page reuses it: a
// page-table cache that still points into it would walk someone else's entries.
import { PT_ENTRIES, PT_LEVELS, PT_POOL, ptFreeStackBase, ptPageBase, ptPoolPages } from '../machine/layout.js';
import type { Machine } from '../machine/machine.js';
import type { SharedMem } from '../machine/shared-mem.js';

export const PT_BITS = 9;
export const ROOT_PAGE = 0;
export const ROOT_LEVEL = PT_LEVELS - 1;

/** Index of `iova`'s entry in a page of `level`. */
export const ptIndex = (iova: number, level: number): number => Math.floor(iova / PT_ENTRIES ** level) % PT_ENTRIES;
/** The number of the level-`level` range holding `iova` (the tag a page-table cache keeps). */
export const ptRange = (iova: number, level: number): number => Math.floor(iova / PT_ENTRIES ** level);

export class PtPoolExhaustedError extends Error {}

/** What a walk needs: the word of `iova`'s entry in page `page` of level `level` (0: not present). */
export interface WalkTable {
  readonly root: number;
  entry(page: number, level: number, iova: number): number;
}

export class IoRadixTable implements WalkTable {
  readonly root = ROOT_PAGE;
  private readonly pages: number;
  private readonly pageBase: number;
  private readonly freeBase: number;

  constructor(
    private readonly mem: SharedMem,
    private readonly m: Machine,
  ) {
    this.pages = ptPoolPages(m.iovaPages);
    this.pageBase = ptPageBase(this.pages);
    this.freeBase = ptFreeStackBase(this.pages);
  }

  private word(page: number, level: number, iova: number): number {
    return this.pageBase + page * PT_ENTRIES + ptIndex(iova, level);
  }

  entry(page: number, level: number, iova: number): number {
    return this.mem.load(this.m.ptPool, this.word(page, level, iova));
  }

  /** Host: the leaf entry of `iova` (frame + 1, 0 = none), walked from the root. */
  leaf(iova: number): number {
    const page = this.leafPage(iova, false);
    return page < 0 ? 0 : this.entry(page, 0, iova);
  }

  /** Host: set `iova`'s leaf entry to frame + 1, making the directory pages on the way. */
  set(iova: number, value: number): void {
    const page = this.leafPage(iova, true);
    const at = this.word(page, 0, iova);
    const old = this.mem.load(this.m.ptPool, at);
    if (old === 0 && value !== 0) this.count(page, 1);
    else if (old !== 0 && value === 0) this.count(page, -1);
    this.mem.store(this.m.ptPool, at, value);
  }

  /** Host: clear `iova`'s leaf entry (nothing to do if its page does not exist). */
  clear(iova: number): void {
    const page = this.leafPage(iova, false);
    if (page < 0) return;
    const at = this.word(page, 0, iova);
    if (this.mem.load(this.m.ptPool, at) === 0) return;
    this.count(page, -1);
    this.mem.store(this.m.ptPool, at, 0);
  }

  /**
   * Host, after an unmap of [iova, iova + n): unlink each page-table page whose whole range lies in
   * it and holds nothing live, bottom up (Linux's rule), into `freed`. They may be reused only
   * once the device's page-table caches cannot point at them any more: `release` them after the
   * flush (Linux too frees its page list only after the IOTLB sync).
   */
  freeCovered(iova: number, n: number, freed: number[]): number {
    const before = freed.length;
    for (let level = 1; level <= ROOT_LEVEL; level++) {
      const span = PT_ENTRIES ** level; // IOVA pages one entry of this level maps
      for (let r = Math.ceil(iova / span) * span; r + span <= iova + n; r += span) this.unlinkChild(r, level, freed);
    }
    return freed.length - before;
  }

  /** Host: unlinked pages go back to the free stack (after the device flush). */
  release(pages: number[]): void {
    for (const p of pages) this.push(p);
  }

  /** The page a level-`level` entry points at for range start `r`: unlinked if empty. */
  private unlinkChild(r: number, level: number, freed: number[]): void {
    const parent = this.pageAt(r, level);
    if (parent < 0) return;
    const at = this.word(parent, level, r);
    const child = this.mem.load(this.m.ptPool, at) - 1;
    if (child < 0 || this.mem.load(this.m.ptPool, PT_POOL.COUNTS + child) !== 0) return;
    this.mem.store(this.m.ptPool, at, 0); // no new walk can reach it
    this.count(parent, -1);
    freed.push(child);
  }

  /** The level-`level` page on `iova`'s path (-1 if missing). */
  private pageAt(iova: number, level: number): number {
    let page = this.root;
    for (let l = ROOT_LEVEL; l > level; l--) {
      page = this.entry(page, l, iova) - 1;
      if (page < 0) return -1;
    }
    return page;
  }

  private leafPage(iova: number, make: boolean): number {
    let page = this.root;
    for (let l = ROOT_LEVEL; l > 0; l--) {
      const at = this.word(page, l, iova);
      let child = this.mem.load(this.m.ptPool, at) - 1;
      if (child < 0) {
        if (!make) return -1;
        child = this.alloc();
        this.mem.store(this.m.ptPool, at, child + 1);
        this.count(page, 1);
      }
      page = child;
    }
    return page;
  }

  private count(page: number, d: number): void {
    this.mem.add(this.m.ptPool, PT_POOL.COUNTS + page, d);
  }

  /** A zeroed page: from the free stack (freed pages are empty), else never used. */
  private alloc(): number {
    const { mem } = this;
    const pool = this.m.ptPool;
    const top = mem.load(pool, PT_POOL.FREE_TOP);
    if (top > 0) {
      mem.store(pool, PT_POOL.FREE_TOP, top - 1);
      return mem.load(pool, this.freeBase + top - 1);
    }
    const high = mem.load(pool, PT_POOL.HIGH) + 1; // page 0 is the root, in use from the start
    if (high >= this.pages) throw new PtPoolExhaustedError(`IO page table: all ${this.pages} page-table pages in use`);
    mem.store(pool, PT_POOL.HIGH, high);
    return high;
  }

  private push(page: number): void {
    const pool = this.m.ptPool;
    const top = this.mem.load(pool, PT_POOL.FREE_TOP);
    this.mem.store(pool, this.freeBase + top, page);
    this.mem.store(pool, PT_POOL.FREE_TOP, top + 1);
  }

  /** Pages in use besides the root (tests, teardown). */
  inUse(): number {
    return this.mem.load(this.m.ptPool, PT_POOL.HIGH) - this.mem.load(this.m.ptPool, PT_POOL.FREE_TOP);
  }
}

/**
 * An identity table over a flat guest-physical -> frame array (passthrough: the host IOMMU table).
 * Its directory levels always exist (page numbers made from the range), so only its leaf is read.
 */
export class FlatWalkTable implements WalkTable {
  readonly root = 0;
  constructor(
    private readonly mem: SharedMem,
    private readonly table: Int32Array,
  ) {}
  entry(_page: number, level: number, iova: number): number {
    if (level === 0) return this.mem.load(this.table, iova);
    return iova < this.table.length ? ptRange(iova, level) + 1 : 0;
  }
}
