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

export class DmaEngine {
  constructor(
    private readonly mem: SharedMem,
    private readonly m: Machine,
    private readonly stats: Float64Array,
    private readonly oracle: Oracle,
    /** The device IOTLB (vIOMMU family); absent: DMA addresses are guest pages, walked directly. */
    readonly iotlb?: Iotlb,
  ) {}

  /** One page of DMA. Returns false if the access faulted in the IOMMU. */
  write(dmaPage: number, gfn: number, stamp: number): boolean {
    const tlb = this.iotlb;
    if (!tlb) return this.writeFrame(this.mem.load(this.m.iommu, dmaPage) - 1, gfn, stamp);
    // translate + write is one access: a host flush waits until it has ended (see iotlb.ts)
    tlb.begin();
    try {
      return this.writeFrame(tlb.translate(dmaPage), gfn, stamp);
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

  private writeFrame(f: number, gfn: number, stamp: number): boolean {
    const { mem, m } = this;
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
