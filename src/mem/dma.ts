// The device's DMA engine: translate a DMA address (through the device IOTLB when the policy has
// one, else straight through the host IOMMU table) and write a stamped payload into the frame. The oracle's DMA-safety check (DESIGN 3.1) runs at the moment of
// each write: the page is mapped, the frame belongs to that guest page, and it is pinned.
import { STAT } from '../machine/layout.js';
import type { Machine } from '../machine/machine.js';
import type { SharedMem } from '../machine/shared-mem.js';
import { DETAIL, type Oracle } from '../core/oracle.js';
import type { Iotlb } from './iotlb.js';
import { allocDataFrame, writePayload } from './payload.js';

export class DataPoolExhaustedError extends Error {}

/**
 * A device that takes I/O page faults (iopf): a translation miss is not a violation but a page
 * request to the host. The DMA engine brackets each page's attempt with enter/leave (the page is
 * under DMA: the host's reclaimer skips it) and asks fault() what to do after a miss.
 */
export interface IoPageFaults {
  enter(dmaPage: number): void;
  leave(dmaPage: number): void;
  /** Page dmaPage missed: raise a page request. True: answered SUCCESS, retry; false: the DMA is dropped. */
  fault(dmaPage: number, gfn: number): boolean;
  /** Modeled ns the device has spent stalled on faults so far (its virtual clock adds them). */
  readonly stalledNs: number;
}

export class DmaEngine {
  constructor(
    private readonly mem: SharedMem,
    private readonly m: Machine,
    private readonly stats: Float64Array,
    private readonly oracle: Oracle,
    /** The device IOTLB (vIOMMU family); absent: DMA addresses are guest pages, walked directly. */
    readonly iotlb?: Iotlb,
    /** The device takes I/O page faults (iopf); absent: a miss is an IOMMU fault and a violation. */
    readonly faults?: IoPageFaults,
  ) {}

  /** One page of DMA. Returns false if the access faulted in the IOMMU (iopf: the DMA was dropped). */
  write(dmaPage: number, gfn: number, stamp: number): boolean {
    const pf = this.faults;
    if (!pf) return this.attempt(dmaPage, gfn, stamp, true);
    for (;;) {
      pf.enter(dmaPage);
      let ok: boolean;
      try {
        ok = this.attempt(dmaPage, gfn, stamp, false);
      } finally {
        pf.leave(dmaPage);
      }
      // the wait for the host's answer is outside the access: a shootdown never waits for it
      if (ok) return true;
      if (!pf.fault(dmaPage, gfn)) return false;
    }
  }

  private attempt(dmaPage: number, gfn: number, stamp: number, strict: boolean): boolean {
    const tlb = this.iotlb;
    if (!tlb) return this.writeFrame(this.mem.load(this.m.iommu, dmaPage) - 1, gfn, stamp, strict);
    // translate + write is one access: a host flush waits until it has ended (see iotlb.ts)
    tlb.begin();
    try {
      return this.writeFrame(tlb.translate(dmaPage), gfn, stamp, strict);
    } finally {
      tlb.end();
    }
  }

  /** The device's translation of a DMA address as a protection probe: the frame, or -1. */
  probe(dmaPage: number): number {
    const tlb = this.iotlb;
    if (!tlb) return this.mem.load(this.m.iommu, dmaPage) - 1;
    tlb.begin();
    try {
      return tlb.probe(dmaPage);
    } finally {
      tlb.end();
    }
  }

  /** Not strict (iopf): a miss returns false, a page fault to raise, not a violation. */
  private writeFrame(f: number, gfn: number, stamp: number, strict = true): boolean {
    const { mem, m } = this;
    if (f < 0 && !strict) return false;
    this.stats[STAT.DMA_PAGES]++;
    if (f < 0) {
      this.stats[STAT.IOMMU_FAULTS]++;
      this.oracle.report('dmaToUnpinned', gfn, -1, DETAIL.iommuFault);
      return false;
    }
    if (mem.load(m.frameOwner, f) !== gfn + 1) this.oracle.report('dmaToUnpinned', gfn, f, DETAIL.wrongOwner);
    else if (mem.load(m.framePinned, f) === 0) this.oracle.report('dmaToUnpinned', gfn, f, DETAIL.notPinned);
    let d = mem.load(m.frameData, f);
    if (d === 0) {
      d = allocDataFrame(mem, m);
      if (d < 0) {
        this.oracle.report('accounting', gfn, f, DETAIL.dataPoolExhausted);
        throw new DataPoolExhaustedError(
          `data frame pool exhausted (${m.spec.dataFrames} frames): DMA touched more distinct pages; raise --data-frames`,
        );
      }
      mem.store(m.frameData, f, d);
    }
    writePayload(mem, m, d, stamp, gfn);
    return true;
  }
}
