// coIOMMU, guest side (DESIGN 1.1): the map count goes up BEFORE PINNED is tested, so the host's
// unpin exchange (which needs a zero count) can never slip between the test and the DMA.
import type { Machine } from '../../machine/machine.js';
import type { SharedMem } from '../../machine/shared-mem.js';
import { SLOT_MAX_PAGES, STAT } from '../../machine/layout.js';
import { SlotRequester, TimedRequester, type PinRequester } from '../../notify/pin-request.js';
import type { GuestContext } from '../policy.js';
import type { GuestClock } from '../../core/virtual-time.js';
import type { Variant } from '../../core/types.js';
import { ACCESSED, MAP_COUNT_MASK, isPinned, maxMapCount } from './dtt.js';
import type { GuestDmaPolicy } from '../../core/guest-dma-policy.js';

export class CoiommuGuest implements GuestDmaPolicy {
  private readonly maxCount: number;
  private readonly missing = new Int32Array(SLOT_MAX_PAGES);
  /** Set by the pinned-check-before-add variant: what PINNED looked like before the add. */
  private readonly testFirst: boolean;

  constructor(
    private readonly mem: SharedMem,
    private readonly m: Machine,
    private readonly requester: PinRequester,
    private readonly stats: Float64Array,
    variant: Variant = 'none',
    /** Virtual time: each DTT update costs the vCPU dttUpdateCycles. */
    private readonly clock?: GuestClock,
  ) {
    this.maxCount = maxMapCount(m.spec.vcpus);
    this.testFirst = variant === 'pinned-check-before-add';
  }

  map(gfn: number, n: number): number {
    this.clock?.sync();
    const { mem, m, stats } = this;
    const dtt = m.dtt;
    let missing = 0;
    for (let i = 0; i < n; i++) {
      const g = gfn + i;
      // planted bug: decide "already pinned" before the count protects the page
      const pinnedBefore = this.testFirst ? isPinned(mem.load(dtt, g)) : false;
      const old = mem.add(dtt, g, 1);
      if ((old & MAP_COUNT_MASK) >= this.maxCount) {
        mem.sub(dtt, g, 1);
        this.undo(gfn, i, false);
        return -1;
      }
      mem.or(dtt, g, ACCESSED);
      const pinned = this.testFirst ? pinnedBefore : isPinned(mem.load(dtt, g));
      if (!pinned) {
        if (missing === SLOT_MAX_PAGES) {
          if (!this.requestPins(missing)) return this.fail(gfn, i + 1);
          missing = 0;
        }
        this.missing[missing++] = g;
      }
    }
    stats[STAT.DTT_OPS] += n;
    this.clock?.advanceCycles(n * this.clock.costs.dttUpdateCycles);
    if (missing > 0 && !this.requestPins(missing)) return this.fail(gfn, n);
    return gfn;
  }

  unmap(_dmaPage: number, gfn: number, n: number): void {
    // Lazy unpinning: only the count drops; PINNED stays until the host's scan finds the page idle.
    this.clock?.sync();
    for (let i = 0; i < n; i++) this.mem.sub(this.m.dtt, gfn + i, 1);
    this.stats[STAT.DTT_OPS] += n;
    this.clock?.advanceCycles(n * this.clock.costs.dttUpdateCycles);
  }

  /**
   * A scatter-gather list as one: every page's count raised as map() does, the unpinned pages of
   * all segments gathered into one pin request (one per slot's worth), the same undo on failure.
   */
  mapSg(gfns: readonly number[], pages: readonly number[], dmas: number[]): boolean {
    this.clock?.sync();
    let missing = 0;
    let total = 0;
    for (let s = 0; s < gfns.length; s++) {
      for (let i = 0; i < pages[s]; i++) {
        const g = gfns[s] + i;
        const pinnedBefore = this.testFirst ? isPinned(this.mem.load(this.m.dtt, g)) : false; // the planted bug, as in map()
        const old = this.mem.add(this.m.dtt, g, 1);
        if ((old & MAP_COUNT_MASK) >= this.maxCount) {
          this.mem.sub(this.m.dtt, g, 1);
          return this.failSg(gfns, pages, s, i, false);
        }
        this.mem.or(this.m.dtt, g, ACCESSED);
        if (this.testFirst ? pinnedBefore : isPinned(this.mem.load(this.m.dtt, g))) continue;
        if (missing === SLOT_MAX_PAGES) {
          if (!this.requestPins(missing)) return this.failSg(gfns, pages, s, i + 1, true);
          missing = 0;
        }
        this.missing[missing++] = g;
      }
      total += pages[s];
      dmas[s] = gfns[s];
    }
    this.stats[STAT.DTT_OPS] += total;
    this.clock?.advanceCycles(total * this.clock.costs.dttUpdateCycles);
    if (missing > 0 && !this.requestPins(missing)) return this.failSg(gfns, pages, gfns.length - 1, pages[gfns.length - 1], true);
    return true;
  }

  /** Undo a list's map: the segments before `seg` whole, then `mapped` pages of segment `seg`. */
  private failSg(gfns: readonly number[], pages: readonly number[], seg: number, mapped: number, counted: boolean): boolean {
    for (let s = 0; s < seg; s++) this.undo(gfns[s], pages[s], counted);
    this.undo(gfns[seg], mapped, counted);
    if (counted) this.stats[STAT.MAP_FAILURES]++;
    return false;
  }

  /** One synchronous request for the pages found unpinned, then re-check PINNED on each. */
  private requestPins(n: number): boolean {
    const { stats } = this;
    stats[STAT.PIN_REQUESTS]++;
    stats[STAT.PIN_REQUEST_PAGES] += n;
    this.requester.request(this.missing, n);
    for (let k = 0; k < n; k++) if (!isPinned(this.mem.load(this.m.dtt, this.missing[k]))) return false;
    return true;
  }

  private fail(gfn: number, mapped: number): number {
    this.undo(gfn, mapped, true);
    this.stats[STAT.MAP_FAILURES]++;
    return -1;
  }

  private undo(gfn: number, mapped: number, clearAccessed: boolean): void {
    for (let i = 0; i < mapped; i++) {
      this.mem.sub(this.m.dtt, gfn + i, 1);
      if (clearAccessed) this.mem.and(this.m.dtt, gfn + i, ~ACCESSED);
    }
  }
}

export function coiommuGuest(ctx: GuestContext): CoiommuGuest {
  const { mem, m, cfg, vcpu, stats } = ctx;
  const requester = new SlotRequester(cfg.notify, mem, m, vcpu, ctx.spinUs, ctx.timeoutMs, stats, cfg.variant);
  requester.clock = ctx.clock;
  return new CoiommuGuest(mem, m, new TimedRequester(requester, ctx.latency.pinRequest), stats, cfg.variant, ctx.clock);
}
