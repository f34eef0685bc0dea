// A vCPU's DMA policy as the reliance oracle sees it: every successful map is relied on until its
// unmap begins, and a map that fails must have a cause (a host pin that failed meanwhile). Wraps
// whatever policy buildGuest made, so the roles and the explorer's scenarios are checked alike.
import type { GuestDmaPolicy } from '../core/guest-dma-policy.js';
import type { Reliance } from '../core/reliance.js';

export class RelianceChecked implements GuestDmaPolicy {
  readonly poll?: () => void;
  readonly nextTimerMs?: () => number;
  readonly drain?: () => void;

  constructor(
    readonly inner: GuestDmaPolicy,
    private readonly reliance: Reliance,
    /** Check that a failure had a cause (not under a vIOMMU, whose maps fail on IOVA space, not frames). */
    private readonly checkFailures: boolean,
  ) {
    if (inner.poll) this.poll = () => inner.poll!();
    if (inner.nextTimerMs) this.nextTimerMs = () => inner.nextTimerMs!();
    if (inner.drain) this.drain = () => inner.drain!();
  }

  map(gfn: number, n: number): number {
    const failuresBefore = this.reliance.pinFailures();
    const dma = this.inner.map(gfn, n);
    if (dma >= 0) this.reliance.relyOn(dma, gfn, n);
    else if (this.checkFailures && this.reliance.pinFailures() === failuresBefore) this.reliance.mapFailedWithoutCause(gfn);
    return dma;
  }

  unmap(dmaPage: number, gfn: number, n: number): void {
    this.reliance.release(dmaPage, gfn, n);
    this.inner.unmap(dmaPage, gfn, n);
  }
}
