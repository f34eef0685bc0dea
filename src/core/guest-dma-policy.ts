// What the guest driver asks of a DMA policy, whatever the design behind it.

/** Which way the device moves the data (Linux's enum dma_data_direction). */
export const DMA_DIRECTIONS = ['BIDIRECTIONAL', 'TO_DEVICE', 'FROM_DEVICE', 'NONE'] as const;
export type DmaDirection = (typeof DMA_DIRECTIONS)[number];

export interface GuestDmaPolicy {
  /**
   * Make guest pages [gfn, gfn+n) DMA-able. Returns the DMA address (a page number) or -1. `dir`
   * (default FROM_DEVICE: the device writes) is what the driver says the DMA does; the policies
   * treat both directions alike, a recorder writes it down.
   */
  map(gfn: number, n: number, dir?: DmaDirection): number;
  /** Tear the mapping down again. */
  unmap(dmaPage: number, gfn: number, n: number, dir?: DmaDirection): void;
  /**
   * Map a scatter-gather list as one (Linux's dma_map_sg): segment s is guest pages
   * [gfns[s], gfns[s] + pages[s]), its DMA address goes to dmas[s]. False if it failed, with
   * nothing left mapped. Optional: a policy that can batch the list's work has it (coIOMMU: one
   * pin request for the pages of all segments); a driver maps segment by segment otherwise.
   */
  mapSg?(gfns: readonly number[], pages: readonly number[], dmas: number[], dir?: DmaDirection): boolean;
  /** Unmap a list mapSg mapped (optional: segment by segment otherwise). */
  unmapSg?(dmas: readonly number[], gfns: readonly number[], pages: readonly number[], dir?: DmaDirection): void;
  /** Timers of deferred teardown (lazy flush queue, optimistic time limit); called from the vCPU loop. */
  poll?(): void;
  /** When (ms, on the policy's clock) poll() next has something to do; Infinity: nothing pending. */
  nextTimerMs?(): number;
  /** The driver stops: tear down everything still deferred. */
  drain?(): void;
}
