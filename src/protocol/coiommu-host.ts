// coIOMMU, host side (DESIGN 1.1): the pin handler, the lazy unpin worker (a two-generation
// second-chance clock) and force-unpin for memory pressure. All of it under the pin-state lock.
import { CTL, STAT } from '../machine/layout.js';
import type { Machine } from '../machine/machine.js';
import type { SharedMem } from '../machine/shared-mem.js';
import type { HostMemory } from '../mem/host-memory.js';
import type { Lock } from '../notify/lock.js';
import type { CoiommuConfig, Variant } from '../run/types.js';
import { ACCESSED, PINNED } from './dtt.js';

/** The old generation is scanned once every this many rounds. */
export const OLD_GENERATION_PERIOD = 10;

export class CoiommuHost {
  private round = 0;

  constructor(
    private readonly mem: SharedMem,
    private readonly m: Machine,
    private readonly host: HostMemory,
    private readonly lock: Lock,
    private readonly cfg: CoiommuConfig,
    private readonly stats: Float64Array,
    private readonly variant: Variant = 'none',
  ) {}

  /** Pin request handler for one page (plus speculative neighbours). False if it could not pin. */
  pin(g: number): boolean {
    this.lock.lock();
    try {
      if (!this.pinOne(g)) return false;
      for (let k = 1; k <= this.cfg.speculativePages; k++) {
        const h = g + k;
        if (h >= this.m.spec.guestPages) break;
        if ((this.mem.load(this.m.dtt, h) & PINNED) === 0 && this.pinOne(h)) this.stats[STAT.SPECULATIVE_PINS]++;
      }
      return true;
    } finally {
      this.lock.unlock();
    }
  }

  private pinOne(g: number): boolean {
    const { mem, m } = this;
    if ((mem.load(m.dtt, g) & PINNED) !== 0) return true;
    if (this.variant === 'pinned-before-map') {
      // planted bug: the guest may see PINNED while the host IOMMU entry does not exist yet
      mem.or(m.dtt, g, PINNED);
      if (!this.host.pin(g)) {
        mem.and(m.dtt, g, ~PINNED);
        return false;
      }
    } else {
      if (!this.host.pin(g)) return false;
      mem.or(m.dtt, g, PINNED); // only now: the mapping exists
    }
    this.stats[STAT.PINS]++;
    return true;
  }

  /**
   * One round of the lazy unpin worker. A pinned page is unpinned only by an exchange from exactly
   * PINNED (count 0, ACCESSED clear); otherwise ACCESSED is cleared for a second chance. A page busy
   * for unpinGenThreshold rounds moves to the old generation, scanned every OLD_GENERATION_PERIOD rounds.
   */
  unpinScan(): number {
    const { mem, m, cfg } = this;
    const oldRound = this.round++ % OLD_GENERATION_PERIOD === 0;
    const high = this.host.frameHigh();
    let unpins = 0;
    for (let f = 0; f < high; f++) {
      if (mem.load(m.framePinned, f) === 0) continue;
      const gen = mem.load(m.frameGen, f);
      if (gen >= cfg.unpinGenThreshold && !oldRound) continue;
      this.lock.lock();
      try {
        const owner = mem.load(m.frameOwner, f);
        if (owner === 0 || mem.load(m.framePinned, f) === 0) continue;
        const g = owner - 1;
        if (this.tryUnpin(g)) unpins++;
        else {
          mem.and(m.dtt, g, ~ACCESSED);
          if (gen < cfg.unpinGenThreshold) mem.store(m.frameGen, f, gen + 1);
        }
      } finally {
        this.lock.unlock();
      }
      if (cfg.unpinLimit > 0 && unpins >= cfg.unpinLimit) break;
    }
    this.stats[STAT.SCANS]++;
    return unpins;
  }

  /** Memory-pressure path: clear ACCESSED, then the same exchange. Fails on a mapped page. */
  forceUnpin(g: number): boolean {
    this.lock.lock();
    try {
      this.mem.and(this.m.dtt, g, ~ACCESSED);
      const ok = this.tryUnpin(g);
      if (ok) this.stats[STAT.FORCE_UNPINS]++;
      return ok;
    } finally {
      this.lock.unlock();
    }
  }

  /** With the lock held: PINNED -> 0 only if count is 0 and ACCESSED clear, then unmap. */
  private tryUnpin(g: number): boolean {
    const { mem, m } = this;
    let won: boolean;
    if (this.variant === 'unpin-load-store') {
      // planted bug: a guest's add between the load and the store is wiped out
      won = mem.load(m.dtt, g) === PINNED;
      if (won) mem.store(m.dtt, g, 0);
    } else won = mem.compareExchange(m.dtt, g, PINNED, 0) === PINNED;
    if (!won) return false;
    if (!this.host.unpin(g)) {
      mem.or(m.dtt, g, PINNED); // the host mapping could not be removed: keep the page pinned
      return false;
    }
    this.stats[STAT.UNPINS]++;
    return true;
  }

  /** Pinned pages right now, as the host counts them. */
  pinnedNow(): number {
    return this.mem.load(this.m.control, CTL.PINNED_NOW);
  }
}
