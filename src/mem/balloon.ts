// The balloon event (--balloon size@time): once, at that time on the policies' clock, the guest's
// balloon asks the host to take back `pages` pages. Unpinned resident frames go first; then each
// pinned page is offered to the policy's force-unpin (coIOMMU: only an idle entry, a page with a
// non-zero map count is refused, as crosvm's balloon does; iopf: after a device-TLB shootdown;
// static pinning has no way to let go). Refusals are counted and reported.
import { STAT } from '../machine/layout.js';
import type { Machine } from '../machine/machine.js';
import type { SharedMem } from '../machine/shared-mem.js';
import type { Lock } from '../notify/lock.js';
import type { HostMemory } from './host-memory.js';

export class Balloon {
  private fired = false;

  constructor(
    private readonly mem: SharedMem,
    private readonly m: Machine,
    private readonly host: HostMemory,
    private readonly lock: Lock,
    private readonly stats: Float64Array,
    private readonly pages: number,
    private readonly atMs: number,
    private readonly forceUnpin?: (g: number) => boolean,
  ) {}

  /** The host's timer at `nowMs`: inflate once the time has come. Returns pages released. */
  tick(nowMs: number): number {
    if (this.fired || this.pages <= 0 || nowMs < this.atMs) return 0;
    this.fired = true;
    let released = this.pass(false, this.pages);
    if (released < this.pages) released += this.pass(true, this.pages - released);
    return released;
  }

  private pass(pinned: boolean, want: number): number {
    const { mem, m } = this;
    let n = 0;
    const high = this.host.frameHigh();
    for (let f = 0; f < high && n < want; f++) {
      const owner = mem.load(m.frameOwner, f);
      if (owner === 0 || (mem.load(m.framePinned, f) !== 0) !== pinned) continue;
      if (pinned && !this.forceUnpin?.(owner - 1)) {
        this.stats[STAT.BALLOON_REFUSED]++;
        continue;
      }
      if (this.reclaim(f)) n++;
    }
    this.stats[STAT.BALLOON_RELEASED] += n;
    return n;
  }

  private reclaim(f: number): boolean {
    this.lock.lock();
    try {
      if (!this.host.reclaim(f)) return false;
      this.stats[STAT.RECLAIMED]++;
      return true;
    } finally {
      this.lock.unlock();
    }
  }
}
