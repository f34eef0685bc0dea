// The guest's allocator of DTT pages (the shipped driver's dtt_alloc_page: a page cache under a
// spinlock). Pages come from the coiommu region's pool: a bump pointer, then a stack of freed pages.
// A free page is all zeros: the shrinker frees only all-zero pages and an install race's loser gives
// back a page it never wrote, so an allocated page needs no clearing.
import type { Machine } from '../../machine/machine.js';
import type { SharedMem } from '../../machine/shared-mem.js';
import { PinStateLock, type Lock } from '../../notify/lock.js';
import { DETAIL, Oracle } from '../../core/oracle.js';
import { CO, frameOfPoolPage, poolPageOfFrame, type CoiommuRegion } from './region.js';

export class DttPool {
  private readonly lock: Lock;
  private readonly w: Int32Array;
  private readonly control: Int32Array;

  constructor(
    private readonly mem: SharedMem,
    m: Machine,
    private readonly r: CoiommuRegion,
    timeoutMs: number,
  ) {
    this.w = m.coiommu;
    this.control = m.control;
    this.lock = new PinStateLock(mem, m.coiommu, CO.ALLOC_LOCK, timeoutMs, 'DTT page allocator lock');
  }

  /** A zeroed page's frame number, or -1 when the pool is empty. */
  alloc(): number {
    const { mem, w, r } = this;
    this.lock.lock();
    try {
      let k: number;
      const top = mem.load(w, CO.FREE_TOP);
      if (top > 0) {
        mem.store(w, CO.FREE_TOP, top - 1);
        k = mem.load(w, r.freeStack + top - 1);
      } else {
        k = mem.load(w, CO.POOL_NEXT);
        if (k >= r.poolPages) return -1;
        mem.store(w, CO.POOL_NEXT, k + 1);
      }
      Atomics.store(w, r.pageState + k, 1); // the oracle's record, not protocol state
      return frameOfPoolPage(r, k);
    } finally {
      this.lock.unlock();
    }
  }

  /** Give back an all-zero page. */
  free(frame: number): void {
    const { mem, w, r } = this;
    const k = poolPageOfFrame(r, frame);
    // the oracle: the page is free from now on; the host must not be inside it (hazard word)
    Atomics.store(w, r.pageState + k, 0);
    if (Atomics.load(w, CO.HOST_LEAF) === frame) new Oracle(this.control, 'guest', 0).report('accounting', -1, frame, DETAIL.dttPageFreed);
    this.lock.lock();
    try {
      const top = mem.load(w, CO.FREE_TOP);
      mem.store(w, r.freeStack + top, k);
      mem.store(w, CO.FREE_TOP, top + 1);
    } finally {
      this.lock.unlock();
    }
  }
}

/** Is the page with this frame number handed out (the oracle's view)? */
export const pageInUse = (m: Machine, r: CoiommuRegion, frame: number): boolean => {
  const k = poolPageOfFrame(r, frame);
  return k >= 0 && k < r.poolPages && Atomics.load(m.coiommu, r.pageState + k) === 1;
};
