// coIOMMU, host side (DESIGN 1.1): the pin handler, the lazy unpin worker (a two-generation
// second-chance clock) and force-unpin for memory pressure. All of it under the pin-state lock.
import { STAT } from '../../machine/layout.js';
import type { Machine } from '../../machine/machine.js';
import type { SharedMem } from '../../machine/shared-mem.js';
import type { HostMemory } from '../../mem/host-memory.js';
import type { Lock } from '../../notify/lock.js';
import { anySlotRaised, serveSlots } from '../../notify/pin-request.js';
import type { Variant } from '../../core/types.js';
import type { HostClock } from '../../core/virtual-time.js';
import type { HostContext, HostPolicy, Leftover } from '../policy.js';
import type { CoiommuConfig } from './config.js';
import { ACCESSED, MAP_COUNT_MASK, PINNED, isPinned } from './dtt.js';

/** The old generation is scanned once every this many rounds. */
export const OLD_GENERATION_PERIOD = 10;

export class CoiommuHost implements HostPolicy {
  private round = 0;

  constructor(
    private readonly mem: SharedMem,
    private readonly m: Machine,
    private readonly host: HostMemory,
    private readonly lock: Lock,
    private readonly cfg: CoiommuConfig,
    private readonly stats: Float64Array,
    private readonly variant: Variant = 'none',
    /** Virtual time: pins and unpins are charged to the host thread that does them. */
    private readonly clock?: HostClock,
  ) {}

  /** Any vCPU's notify slot raised? */
  pending(): boolean {
    return anySlotRaised(this.mem, this.m);
  }

  /** Serve every raised notify slot once with the pin handler. */
  serve(beforeEach?: () => void): number {
    return serveSlots(this.mem, this.m, (g) => this.pin(g), beforeEach, (v) => this.clock?.complete(v));
  }

  /** The host's timer: one round of the lazy unpin worker. */
  periodic(): void {
    this.unpinScan();
  }

  pinnedFor(g: number): boolean {
    return isPinned(this.mem.load(this.m.dtt, g));
  }

  /** Teardown of one pinned page: its DTT entry must be exactly PINNED (nothing mapped). */
  releasePage(g: number, f: number, leftover: Leftover): void {
    const { mem, m } = this;
    mem.and(m.dtt, g, ~ACCESSED);
    const old = mem.compareExchange(m.dtt, g, PINNED, 0);
    if (old !== PINNED) leftover(`guest page ${g}: still mapped at teardown (map count ${old & MAP_COUNT_MASK})`, g, f);
    mem.store(m.dtt, g, 0);
  }

  /** After teardown no DTT entry may hold anything. */
  clearTables(leftover: Leftover): void {
    let counted = 0;
    for (let g = 0; g < this.m.spec.guestPages; g++) if (this.mem.load(this.m.dtt, g) !== 0) counted++;
    if (counted > 0) leftover(`${counted} DTT entries not zero after teardown`);
  }

  /** Pin request handler for one page (plus speculative neighbours). False if it could not pin. */
  pin(g: number): boolean {
    this.lock.lock();
    try {
      if (!this.pinOne(g)) return false;
      for (let k = 1; k <= this.cfg.speculativePages; k++) {
        const h = g + k;
        if (h >= this.m.spec.guestPages) break;
        if (!isPinned(this.mem.load(this.m.dtt, h)) && this.pinOne(h)) this.stats[STAT.SPECULATIVE_PINS]++;
      }
      return true;
    } finally {
      this.lock.unlock();
    }
  }

  private pinOne(g: number): boolean {
    const { mem, m } = this;
    if (isPinned(mem.load(m.dtt, g))) return true;
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
    this.clock?.charge(this.clock.costs.pinPageCycles + this.clock.costs.iommuMapCycles);
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
    } else if (this.variant === 'unpin-ignores-count') {
      // planted bug: a page that looks idle (ACCESSED clear) is unpinned whatever its map count
      const old = mem.load(m.dtt, g);
      won = isPinned(old) && (old & ACCESSED) === 0;
      if (won) mem.and(m.dtt, g, ~PINNED);
    } else won = mem.compareExchange(m.dtt, g, PINNED, 0) === PINNED;
    if (!won) return false;
    if (!this.host.unpin(g)) {
      mem.or(m.dtt, g, PINNED); // the host mapping could not be removed: keep the page pinned
      return false;
    }
    this.stats[STAT.UNPINS]++;
    this.clock?.charge(this.clock.costs.iommuMapCycles);
    return true;
  }
}

export function coiommuHost(ctx: HostContext): CoiommuHost {
  return new CoiommuHost(ctx.mem, ctx.m, ctx.host, ctx.lock, ctx.cfg.coiommu as CoiommuConfig, ctx.stats, ctx.cfg.variant, ctx.clock);
}
