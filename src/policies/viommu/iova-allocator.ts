// IOVA allocator with per-vCPU caches, after Linux's iova rcache: sizes are rounded up to a power
// of two (one size class per order); each vCPU keeps a private magazine of freed IOVAs per order
// (127 entries, as Linux), so the common alloc / free touches no shared word. A full magazine spills
// to a global depot stack in shared memory, an empty one refills from it, and only then does the
// allocator carve fresh, size-aligned IOVA space from the global bump pointer. Depot and bump
// pointer are guarded by the IOVA lock.
import { INVQ, IOVA_ORDERS, iovaDepotBase, iovaDepotCapacity } from '../../machine/layout.js';
import type { Machine } from '../../machine/machine.js';
import type { SharedMem } from '../../machine/shared-mem.js';
import { PinStateLock } from '../../notify/lock.js';

/** Linux's IOVA_MAG_SIZE. */
export const MAGAZINE_SIZE = 127;

export class IovaSpaceExhaustedError extends Error {}

export const orderOf = (pages: number): number => Math.max(0, Math.ceil(Math.log2(pages)));

export class IovaAllocator {
  private readonly mags: Int32Array[] = [];
  private readonly magCount = new Int32Array(IOVA_ORDERS);
  private readonly depotBase: number[] = [];
  private readonly depotCapacity: number[] = [];
  private readonly lock: PinStateLock;

  constructor(
    private readonly mem: SharedMem,
    private readonly m: Machine,
    readonly magazineSize = MAGAZINE_SIZE,
    timeoutMs = 5000,
    /** Told of each IOVA that leaves this vCPU for the depot (another vCPU may map it next). */
    private readonly onSpill?: (iova: number) => void,
    /** The planted bug `iova-refill-unlocked`: the slow path (depot refill, fresh space) takes no lock. */
    private readonly unlocked = false,
  ) {
    for (let o = 0; o < IOVA_ORDERS; o++) {
      this.mags.push(new Int32Array(magazineSize));
      this.depotBase.push(iovaDepotBase(m.iovaPages, o));
      this.depotCapacity.push(iovaDepotCapacity(m.iovaPages, o));
    }
    this.lock = new PinStateLock(mem, m.invq, INVQ.IOVA_LOCK, timeoutMs, 'IOVA lock');
  }

  /** A size-aligned IOVA range of at least `pages` pages; -1 if the IOVA space is exhausted. */
  alloc(pages: number): number {
    const o = orderOf(pages);
    if (o >= IOVA_ORDERS) throw new RangeError(`IOVA allocation of ${pages} pages exceeds ${1 << (IOVA_ORDERS - 1)}`);
    if (this.magCount[o] > 0) return this.mags[o][--this.magCount[o]];
    const { mem, m } = this;
    if (!this.unlocked) this.lock.lock();
    try {
      // Refill half a magazine from the depot, so the next frees and allocs stay local.
      const countAt = INVQ.DEPOT_COUNT + o;
      let n = mem.load(m.invq, countAt);
      if (n > 0) {
        const take = Math.min(n, Math.max(1, this.magazineSize >> 1));
        for (let k = 0; k < take; k++) this.mags[o][this.magCount[o]++] = mem.load(m.iovaDepot, this.depotBase[o] + --n);
        mem.store(m.invq, countAt, n);
        return this.mags[o][--this.magCount[o]];
      }
      const size = 1 << o;
      const next = mem.load(m.invq, INVQ.IOVA_NEXT);
      const iova = Math.ceil(next / size) * size;
      if (iova + size > m.iovaPages) return -1;
      mem.store(m.invq, INVQ.IOVA_NEXT, iova + size);
      return iova;
    } finally {
      if (!this.unlocked) this.lock.unlock();
    }
  }

  /** Give an IOVA range back (the caller guarantees the host no longer maps it). */
  free(iova: number, pages: number): void {
    const o = orderOf(pages);
    if (this.magCount[o] < this.magazineSize) {
      this.mags[o][this.magCount[o]++] = iova;
      return;
    }
    // Magazine full: spill half of it to the depot.
    const { mem, m } = this;
    this.lock.lock();
    try {
      const countAt = INVQ.DEPOT_COUNT + o;
      let n = mem.load(m.invq, countAt);
      const spill = Math.max(1, this.magazineSize >> 1);
      if (n + spill > this.depotCapacity[o]) // cannot happen: the depot holds every IOVA of its order
        throw new IovaSpaceExhaustedError(`IOVA depot of order ${o} is full (${this.depotCapacity[o]} entries): an IOVA freed twice?`);
      for (let k = 0; k < spill; k++) {
        const iova = this.mags[o][--this.magCount[o]];
        this.onSpill?.(iova);
        mem.store(m.iovaDepot, this.depotBase[o] + n++, iova);
      }
      mem.store(m.invq, countAt, n);
    } finally {
      this.lock.unlock();
    }
    this.mags[o][this.magCount[o]++] = iova;
  }

  /** IOVAs cached in this vCPU's magazines (tests). */
  cached(pages: number): number {
    return this.magCount[orderOf(pages)];
  }
}
