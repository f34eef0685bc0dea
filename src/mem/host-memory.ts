// Host memory: frames that back guest pages, the host IOMMU table (present only while pinned),
// the EPT-like residency map, swap for reclaimed pages (their stamps), and data frames for payloads.
// Every mutating method is called with the pin-state lock held.
import { CTL, STAT } from '../machine/layout.js';
import type { Machine } from '../machine/machine.js';
import type { SharedMem } from '../machine/shared-mem.js';
import type { Reliance } from '../core/reliance.js';
import { allocDataFrame, frameStamp, writePayload } from './payload.js';
import { failHere } from '../core/faults/hooks.js';

export class HostMemory {
  /** The reliance oracle, told of every unpin and reclaim (absent: nobody checks, e.g. at teardown). */
  reliance?: Reliance;

  constructor(
    private readonly mem: SharedMem,
    private readonly m: Machine,
    /** Stats block of the calling host role (fault-ins restored from swap are counted). */
    private readonly stats?: Float64Array,
  ) {}

  /** Host frame backing guest page g, or -1 if g is not resident. */
  residentFrame(g: number): number {
    return this.mem.load(this.m.ept, g) - 1;
  }

  /** Host frame g is pinned to (mapped in the host IOMMU), or -1. */
  pinnedFrame(g: number): number {
    return this.mem.load(this.m.iommu, g) - 1;
  }

  /** Make g resident (fault it in), restoring its contents from swap. -1 if no frame is free. */
  faultIn(g: number): number {
    const { mem, m } = this;
    const have = mem.load(m.ept, g) - 1;
    if (have >= 0) return have;
    const f = this.allocFrame();
    if (f < 0) return -1;
    mem.store(m.frameOwner, f, g + 1);
    if (!this.restore(f, g)) {
      this.freeFrame(f);
      mem.store(m.frameOwner, f, 0);
      return -1;
    }
    mem.store(m.ept, g, f + 1);
    bumpWithPeak(mem, m.control, CTL.RESIDENT_NOW, CTL.RESIDENT_PEAK);
    return f;
  }

  /**
   * Frame f now backs g: write back what swap kept of g (its stamp), or, on a recycled frame that
   * still holds an older page's payload, a zero page. False if no data frame is left for it.
   */
  private restore(f: number, g: number): boolean {
    const { mem, m } = this;
    const saved = mem.load(m.swap, g);
    let d = mem.load(m.frameData, f);
    if (saved === 0) {
      if (d !== 0) writePayload(mem, m, d, 0, g);
      return true;
    }
    if (d === 0) {
      d = allocDataFrame(mem, m);
      if (d < 0) return false;
      mem.store(m.frameData, f, d);
    }
    writePayload(mem, m, d, saved, g);
    mem.store(m.swap, g, 0);
    if (this.stats) this.stats[STAT.RESTORED]++;
    return true;
  }

  /** Pin g: resident, frame marked pinned, then the host IOMMU entry. False if out of frames. */
  pin(g: number): boolean {
    const { mem, m } = this;
    const f = this.faultIn(g);
    if (f < 0) {
      this.reliance?.pinFailed();
      return false;
    }
    if (mem.load(m.framePinned, f) !== 0) return true;
    if (failHere('iommu-map')) {
      this.reliance?.pinFailed(); // an injected IOMMU map failure: resident, not pinned
      return false;
    }
    mem.store(m.frameGen, f, 0);
    mem.store(m.framePinned, f, 1);
    mem.store(m.iommu, g, f + 1);
    bumpWithPeak(mem, m.control, CTL.PINNED_NOW, CTL.PINNED_PEAK);
    return true;
  }

  /** Unpin g: remove the host IOMMU entry first, then the frame's pin. False if it was not pinned. */
  unpin(g: number): boolean {
    const { mem, m } = this;
    const f = mem.load(m.iommu, g) - 1;
    if (f < 0) return false;
    mem.store(m.iommu, g, 0);
    this.reliance?.unpinned(g, f); // after the entry is gone: a guest relying from now on sees it gone
    mem.store(m.framePinned, f, 0);
    mem.sub(m.control, CTL.PINNED_NOW, 1);
    return true;
  }

  /** Take back an unpinned resident frame: its contents go to swap. False if pinned or free. */
  reclaim(f: number): boolean {
    const { mem, m } = this;
    const owner = mem.load(m.frameOwner, f);
    if (owner === 0 || mem.load(m.framePinned, f) !== 0) return false;
    const g = owner - 1;
    // the page's contents go to swap as its stamp; the data frame stays with the frame for reuse
    mem.store(m.swap, g, frameStamp(mem, m, mem.load(m.frameData, f), g));
    mem.store(m.ept, g, 0);
    this.reliance?.reclaimed(g, f);
    mem.store(m.frameOwner, f, 0);
    this.freeFrame(f);
    mem.sub(m.control, CTL.RESIDENT_NOW, 1);
    return true;
  }

  /** Pinned pages right now, as the host counts them. */
  pinnedNow(): number {
    return this.mem.load(this.m.control, CTL.PINNED_NOW);
  }

  /** Frames handed out so far: every resident frame has an index below this. */
  frameHigh(): number {
    return this.mem.load(this.m.control, CTL.FRAME_HIGH);
  }

  private allocFrame(): number {
    const { mem, m } = this;
    if (failHere('frame-alloc')) return -1; // an injected host out-of-memory
    const top = mem.load(m.control, CTL.FRAME_FREE_TOP);
    if (top > 0) {
      mem.store(m.control, CTL.FRAME_FREE_TOP, top - 1);
      return mem.load(m.frameFree, top - 1);
    }
    const high = mem.load(m.control, CTL.FRAME_HIGH);
    if (high >= m.spec.hostFrames) return -1;
    mem.store(m.control, CTL.FRAME_HIGH, high + 1);
    return high;
  }

  private freeFrame(f: number): void {
    const { mem, m } = this;
    const top = mem.load(m.control, CTL.FRAME_FREE_TOP);
    mem.store(m.frameFree, top, f);
    mem.store(m.control, CTL.FRAME_FREE_TOP, top + 1);
  }
}

function bumpWithPeak(mem: SharedMem, c: Int32Array, now: number, peak: number): void {
  const v = mem.add(c, now, 1) + 1;
  if (v > mem.load(c, peak)) mem.store(c, peak, v);
}
