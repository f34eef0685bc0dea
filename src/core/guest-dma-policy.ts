// What the guest driver asks of a DMA policy, whatever the design behind it.
export interface GuestDmaPolicy {
  /** Make guest pages [gfn, gfn+n) DMA-able. Returns the DMA address (a page number) or -1. */
  map(gfn: number, n: number): number;
  /** Tear the mapping down again. */
  unmap(dmaPage: number, gfn: number, n: number): void;
  /** Timers of deferred teardown (lazy flush queue, optimistic time limit); called from the vCPU loop. */
  poll?(): void;
  /** When (ms, on the policy's clock) poll() next has something to do; Infinity: nothing pending. */
  nextTimerMs?(): number;
  /** The driver stops: tear down everything still deferred. */
  drain?(): void;
}
