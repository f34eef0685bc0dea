// The device's DMA engine: translate a DMA address (through the device IOTLB when the policy has
// one, else straight through the host IOMMU table) and write a stamped payload into the frame, or
// (a device read, DMA_TO_DEVICE) read back what the page holds. The oracle's DMA-safety check
// (DESIGN 3.1) runs at the moment of each access, whatever its direction: the page is mapped, the
// frame belongs to that guest page, and it is pinned (a read of a page the device may not touch
// leaks the guest's data, so it counts exactly like a write).
import { STAT } from '../machine/layout.js';
import type { Machine } from '../machine/machine.js';
import type { SharedMem } from '../machine/shared-mem.js';
import { DETAIL, type Oracle } from '../core/oracle.js';
import type { Iotlb } from './iotlb.js';
import { allocDataFrame, frameStamp, writePayload } from './payload.js';

/** What a device read returns when the IOMMU faulted (frameStamp's values are >= -1). */
export const READ_FAULT = -2;

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
    return this.access(dmaPage, (f) => this.writeFrame(f, gfn, stamp)) as boolean;
  }

  /**
   * One page of device read (DMA_TO_DEVICE): the stamp guest page `gfn` holds through the device's
   * translation of `dmaPage` (0 never written, -1 corrupt or another page's), or READ_FAULT.
   */
  read(dmaPage: number, gfn: number): number {
    return this.access(dmaPage, (f) => this.readFrame(f, gfn)) as number;
  }

  /** Translate, then touch the frame: one access, so a host flush waits until it has ended (see iotlb.ts). */
  private access(dmaPage: number, touch: (frame: number) => boolean | number): boolean | number {
    const tlb = this.iotlb;
    if (!tlb) return touch(this.mem.load(this.m.iommu, dmaPage) - 1);
    tlb.begin();
    try {
      return touch(tlb.translate(dmaPage));
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

  /** DMA safety at the moment of the access (DESIGN 3.1); false if the IOMMU faulted. */
  private check(f: number, gfn: number, read: boolean): boolean {
    const { mem, m } = this;
    this.stats[STAT.DMA_PAGES]++;
    if (f < 0) {
      this.stats[STAT.IOMMU_FAULTS]++;
      this.oracle.report('dmaToUnpinned', gfn, -1, read ? DETAIL.readIommuFault : DETAIL.iommuFault);
      return false;
    }
    if (mem.load(m.frameOwner, f) !== gfn + 1) this.oracle.report('dmaToUnpinned', gfn, f, read ? DETAIL.readWrongOwner : DETAIL.wrongOwner);
    else if (mem.load(m.framePinned, f) === 0) this.oracle.report('dmaToUnpinned', gfn, f, read ? DETAIL.readNotPinned : DETAIL.notPinned);
    return true;
  }

  private readFrame(f: number, gfn: number): number {
    if (!this.check(f, gfn, true)) return READ_FAULT;
    return frameStamp(this.mem, this.m, this.mem.load(this.m.frameData, f), gfn);
  }

  private writeFrame(f: number, gfn: number, stamp: number): boolean {
    const { mem, m } = this;
    if (!this.check(f, gfn, false)) return false;
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
