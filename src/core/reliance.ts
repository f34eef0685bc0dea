// The reliance oracle: what the guest relies on, checked at the moment the host takes it away.
// When a guest's map returns success, each page it covers (and, under a vIOMMU, each IOVA page) is
// "relied on" until the guest's unmap begins. A host unpin, force-unpin, reclaim or shadow removal
// of a relied-on page is a violation there and then, with no DMA needed in the window.
//
// Exact, not sampled: both sides use a Dekker pair of sequentially consistent words. The guest
// raises its count and then checks the host mapping; the host removes the mapping and then checks
// the count. Whatever the interleaving, one of the two sees the other. Like the rest of the
// oracle it observes with plain Atomics, never through the scheduled SharedMem, so it adds no
// step to an explorer schedule.
import { CTL } from '../machine/layout.js';
import type { Machine } from '../machine/machine.js';
import { DETAIL, type Oracle } from './oracle.js';

export class Reliance {
  /** DMA addresses are IOVAs (a vIOMMU machine), not guest pages. */
  private readonly iova: boolean;

  constructor(
    private readonly m: Machine,
    private readonly oracle: Oracle,
  ) {
    this.iova = m.iovaPages > 0;
  }

  /** The guest's map of [gfn, gfn + n) at DMA address `dma` returned success. */
  relyOn(dma: number, gfn: number, n: number): void {
    const { m, oracle } = this;
    for (let i = 0; i < n; i++) {
      const g = gfn + i;
      Atomics.add(m.reliedPages, g, 1);
      const frame = Atomics.load(m.iommu, g) - 1;
      if (frame < 0) oracle.report('unpinnedWhileMapped', g, -1, DETAIL.reliedUnpinned);
      if (!this.iova) continue;
      const v = dma + i;
      if (Atomics.add(m.reliedIovas, v, 1) > 0) oracle.report('unpinnedWhileMapped', g, v, DETAIL.iovaReused);
      if (Atomics.load(m.shadow, v) - 1 !== frame || frame < 0) oracle.report('unpinnedWhileMapped', g, v, DETAIL.reliedUnshadowed);
    }
  }

  /** The guest begins to unmap: from here on the host may take the pages back. */
  release(dma: number, gfn: number, n: number): void {
    const { m } = this;
    for (let i = 0; i < n; i++) {
      Atomics.sub(m.reliedPages, gfn + i, 1);
      if (this.iova) Atomics.sub(m.reliedIovas, dma + i, 1);
    }
  }

  /** Host: guest page g's host IOMMU entry was just removed (unpin, force-unpin). */
  unpinned(g: number, frame: number): void {
    if (Atomics.load(this.m.reliedPages, g) > 0) this.oracle.report('unpinnedWhileMapped', g, frame, DETAIL.unpinRelied);
  }

  /** Host: the frame of guest page g was just taken back (reclaim: the frame may back another page next). */
  reclaimed(g: number, frame: number): void {
    if (Atomics.load(this.m.reliedPages, g) > 0) this.oracle.report('unpinnedWhileMapped', g, frame, DETAIL.reclaimRelied);
  }

  /** Host: the shadow entry of IOVA page v was just removed or replaced. */
  shadowRemoved(v: number, g: number): void {
    if (Atomics.load(this.m.reliedIovas, v) > 0) this.oracle.report('unpinnedWhileMapped', g, v, DETAIL.shadowRemoved);
  }

  /** Host: page g is being unpinned while a device access of an older IOTLB generation is in flight. */
  undrainedUnpin(g: number): void {
    this.oracle.report('undrainedUnpins', g, -1, DETAIL.undrained);
  }

  /** Host: a pin of g failed for want of a frame (a guest's map failure is then explained). */
  pinFailed(): void {
    Atomics.add(this.m.control, CTL.HOST_PIN_FAILS, 1);
  }

  /** Guest: failed pins so far (read before a map, compared after a failed one). */
  pinFailures(): number {
    return Atomics.load(this.m.control, CTL.HOST_PIN_FAILS);
  }

  /** Guest: a map failed and no host pin failed while it ran: the failure had no cause. */
  mapFailedWithoutCause(gfn: number): void {
    this.oracle.report('mapFailures', gfn, -1, DETAIL.mapFailedFree);
  }
}
