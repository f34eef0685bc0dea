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
  /** Set by the ignore-pin-failure variant: the re-check after a pin request is skipped. */
  private readonly trustRequest: boolean;

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
    this.trustRequest = variant === 'ignore-pin-failure';
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

  /** One synchronous request for the pages found unpinned, then re-check PINNED on each. */
  private requestPins(n: number): boolean {
    const { stats } = this;
    stats[STAT.PIN_REQUESTS]++;
    stats[STAT.PIN_REQUEST_PAGES] += n;
    this.requester.request(this.missing, n);
    if (this.trustRequest) return true; // planted bug: the host's answer is taken as success
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
