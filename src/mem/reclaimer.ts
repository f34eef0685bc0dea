// The host's memory-pressure path: keep resident guest memory under a budget by taking back
// unpinned frames, then (coIOMMU only) force-unpinning idle pinned ones. Static pinning leaves it
// nothing to take: that is the memory cost the table shows.
import { CTL, STAT } from '../machine/layout.js';
import type { Machine } from '../machine/machine.js';
import type { SharedMem } from '../machine/shared-mem.js';
import type { Lock } from '../notify/lock.js';
import type { HostMemory } from './host-memory.js';

export class Reclaimer {
  constructor(
    private readonly mem: SharedMem,
    private readonly m: Machine,
    private readonly host: HostMemory,
    private readonly lock: Lock,
    /** Resident frames to stay under; 0 = no pressure. */
    private readonly budget: number,
    private readonly stats: Float64Array,
    /** Force-unpin for a pinned page (coIOMMU); absent when pins are permanent (static). */
    private readonly forceUnpin?: (g: number) => boolean,
  ) {}

  private over(): number {
    return this.mem.load(this.m.control, CTL.RESIDENT_NOW) - this.budget;
  }

  run(): number {
    if (this.budget <= 0 || this.over() <= 0) return 0;
    // Nothing unpinned to take and no way to unpin (static pinning): no scan of every frame.
    const c = this.m.control;
    if (!this.forceUnpin && this.mem.load(c, CTL.RESIDENT_NOW) <= this.mem.load(c, CTL.PINNED_NOW)) return 0;
    let reclaimed = this.pass(false);
    if (this.over() > 0 && this.forceUnpin) reclaimed += this.pass(true);
    return reclaimed;
  }

  private pass(force: boolean): number {
    const { mem, m } = this;
    const high = this.host.frameHigh();
    let n = 0;
    for (let f = 0; f < high && this.over() > 0; f++) {
      const owner = mem.load(m.frameOwner, f);
      if (owner === 0) continue;
      const pinned = mem.load(m.framePinned, f) !== 0;
      if (pinned !== force) continue;
      if (force && !this.forceUnpin!(owner - 1)) continue;
      this.lock.lock();
      try {
        if (this.host.reclaim(f)) {
          n++;
          this.stats[STAT.RECLAIMED]++;
        }
      } finally {
        this.lock.unlock();
      }
    }
    return n;
  }
}
