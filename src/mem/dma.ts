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

export class DataPoolExhaustedError extends Error {}

/** What a device read returns when the IOMMU faulted (frameStamp's values are >= -1). */
export const READ_FAULT = -2;
/** An attempt missed in the translation and the device takes page faults (iopf): fault, then retry. */
const MISS = -3;

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
    return this.access(dmaPage, gfn, (f, strict) => this.writeFrame(f, gfn, stamp, strict)) === 1;
  }

  /**
   * One page of device read (DMA_TO_DEVICE): the stamp guest page `gfn` holds through the device's
   * translation of `dmaPage` (0 never written, -1 corrupt or another page's), or READ_FAULT
   * (iopf: the DMA was dropped).
   */
  read(dmaPage: number, gfn: number): number {
    const r = this.access(dmaPage, gfn, (f, strict) => this.readFrame(f, gfn, strict));
    return r === MISS ? READ_FAULT : r;
  }

  /** One access; under iopf a miss raises a page fault and the access is tried again. */
  private access(dmaPage: number, gfn: number, touch: (frame: number, strict: boolean) => number): number {
    const pf = this.faults;
    if (!pf) return this.translated(dmaPage, (f) => touch(f, true));
    for (;;) {
      pf.enter(dmaPage);
      let r: number;
      try {
        r = this.translated(dmaPage, (f) => touch(f, false));
      } finally {
        pf.leave(dmaPage);
      }
      // the wait for the host's answer is outside the access: a shootdown never waits for it
      if (r !== MISS) return r;
      if (!pf.fault(dmaPage, gfn)) return MISS;
    }
  }

  /** Translate, then touch the frame: one access, so a host flush waits until it has ended (see iotlb.ts). */
  private translated(dmaPage: number, touch: (frame: number) => number): number {
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

  /**
   * DMA safety at the moment of the access (DESIGN 3.1): 1 go on, 0 the IOMMU faulted (reported),
   * MISS when not strict (iopf: a page fault to raise, not a violation).
   */
  private check(f: number, gfn: number, read: boolean, strict: boolean): number {
    const { mem, m } = this;
    if (f < 0 && !strict) return MISS;
    this.stats[STAT.DMA_PAGES]++;
    if (f < 0) {
      this.stats[STAT.IOMMU_FAULTS]++;
      this.oracle.report('dmaToUnpinned', gfn, -1, read ? DETAIL.readIommuFault : DETAIL.iommuFault);
      return 0;
    }
    if (mem.load(m.frameOwner, f) !== gfn + 1) this.oracle.report('dmaToUnpinned', gfn, f, read ? DETAIL.readWrongOwner : DETAIL.wrongOwner);
    else if (mem.load(m.framePinned, f) === 0) this.oracle.report('dmaToUnpinned', gfn, f, read ? DETAIL.readNotPinned : DETAIL.notPinned);
    return 1;
  }

  private readFrame(f: number, gfn: number, strict: boolean): number {
    const c = this.check(f, gfn, true, strict);
    if (c !== 1) return c === MISS ? MISS : READ_FAULT;
    return frameStamp(this.mem, this.m, this.mem.load(this.m.frameData, f), gfn);
  }

  private writeFrame(f: number, gfn: number, stamp: number, strict: boolean): number {
    const { mem, m } = this;
    const c = this.check(f, gfn, false, strict);
    if (c !== 1) return c;
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
    return 1;
  }
}
