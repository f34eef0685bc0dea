// A vCPU's DMA policy as the reliance oracle sees it: every successful map is relied on until its
// unmap begins, and a map that fails must have a cause (a host pin that failed meanwhile). Wraps
// whatever policy buildGuest made, so the roles and the explorer's scenarios are checked alike.
import type { DmaDirection, GuestDmaPolicy } from '../core/guest-dma-policy.js';
import type { Reliance } from '../core/reliance.js';

export class RelianceChecked implements GuestDmaPolicy {
  readonly poll?: () => void;
  readonly nextTimerMs?: () => number;
  readonly drain?: () => void;
  readonly mapSg?: GuestDmaPolicy['mapSg'];
  readonly unmapSg?: GuestDmaPolicy['unmapSg'];

  constructor(
    readonly inner: GuestDmaPolicy,
    private readonly reliance: Reliance,
    /** Check that a failure had a cause (not under a vIOMMU, whose maps fail on IOVA space, not frames). */
    private readonly checkFailures: boolean,
  ) {
    if (inner.poll) this.poll = () => inner.poll!();
    if (inner.nextTimerMs) this.nextTimerMs = () => inner.nextTimerMs!();
    if (inner.drain) this.drain = () => inner.drain!();
    if (inner.mapSg) this.mapSg = (gfns, pages, dmas, dir) => this.checkedSg(gfns, pages, dmas, dir);
    if (inner.unmapSg) this.unmapSg = (dmas, gfns, pages, dir) => this.releaseSg(dmas, gfns, pages, dir);
  }

  map(gfn: number, n: number, dir?: DmaDirection): number {
    const failuresBefore = this.reliance.pinFailures();
    const dma = this.inner.map(gfn, n, dir);
    if (dma >= 0) this.reliance.relyOn(dma, gfn, n);
    else this.failed(failuresBefore, gfn);
    return dma;
  }

  unmap(dmaPage: number, gfn: number, n: number, dir?: DmaDirection): void {
    this.reliance.release(dmaPage, gfn, n);
    this.inner.unmap(dmaPage, gfn, n, dir);
  }

  /** A scatter-gather list as one map (one pin request): every segment relied on, or none. */
  private checkedSg(gfns: readonly number[], pages: readonly number[], dmas: number[], dir?: DmaDirection): boolean {
    const failuresBefore = this.reliance.pinFailures();
    const ok = this.inner.mapSg!(gfns, pages, dmas, dir);
    if (ok) for (let s = 0; s < gfns.length; s++) this.reliance.relyOn(dmas[s], gfns[s], pages[s]);
    else this.failed(failuresBefore, gfns[0]);
    return ok;
  }

  private releaseSg(dmas: readonly number[], gfns: readonly number[], pages: readonly number[], dir?: DmaDirection): void {
    for (let s = 0; s < gfns.length; s++) this.reliance.release(dmas[s], gfns[s], pages[s]);
    this.inner.unmapSg!(dmas, gfns, pages, dir);
  }

  /** A failed map must have a cause: a host pin failed (or a busy slot, a timeout) meanwhile. */
  private failed(failuresBefore: number, gfn: number): void {
    if (this.checkFailures && this.reliance.pinFailures() === failuresBefore) this.reliance.mapFailedWithoutCause(gfn);
  }
}
