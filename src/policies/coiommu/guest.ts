// coIOMMU, guest side (DESIGN 1.1, as the shipped driver does it): under the DTT's read lock, each
// page's map count goes up BEFORE PINNED is tested, so the host's unpin exchange (which needs a zero
// count) can never slip between the test and the DMA. Pages found unpinned go to the host in one
// request; then each is looked up again: one still unpinned fails the whole map, and every page of
// it is undone (count, and ACCESSED where the count drops to zero).
import type { Machine } from '../../machine/machine.js';
import type { SharedMem } from '../../machine/shared-mem.js';
import { STAT } from '../../machine/layout.js';
import { pinStateLock } from '../wiring.js';
import { parkUnpin } from './park.js';
import { DttShrinker } from './shrinker.js';
import { SlotRequester, TimedRequester, type PinRequester } from '../../notify/pin-request.js';
import type { GuestContext } from '../policy.js';
import type { GuestClock } from '../../core/virtual-time.js';
import type { Variant } from '../../core/types.js';
import type { GuestDmaPolicy } from '../../core/guest-dma-policy.js';
import { ACCESSED, MAP_COUNT_MASK, isPinned, maxMapCount } from './dtt.js';
import { LEAF_ENTRIES } from './dtt-levels.js';
import type { DttTable } from './dtt-table.js';
import type { DttRwLock } from './rw-lock.js';
import { PIN_INFO_MAX_PAGES } from './region.js';
import { guestTable, type GuestTableParts } from './guest-table.js';
import { MapLedger } from './map-ledger.js';

export class CoiommuGuest implements GuestDmaPolicy {
  private readonly maxCount: number;
  private readonly missing = new Int32Array(PIN_INFO_MAX_PAGES);
  private readonly testFirst: boolean;
  /** Set by the ignore-pin-failure variant: the re-check after a pin request is skipped. */
  private readonly trustRequest: boolean;
  private readonly words: Int32Array;
  /** Set by the unmap-off-by-one variant: an unmap drops one page too few. */
  private readonly shortUnmap: boolean;
  private readonly ledger: MapLedger;

  constructor(
    private readonly mem: SharedMem,
    m: Machine,
    private readonly table: DttTable,
    /** The DTT's read lock (multilevel: the shrinker frees pages under its write lock). */
    private readonly lock: DttRwLock | undefined,
    private readonly requester: PinRequester,
    private readonly stats: Float64Array,
    variant: Variant = 'none',
    /** Virtual time: each DTT update costs the vCPU dttUpdateCycles. */
    private readonly clock?: GuestClock,
    /** The DTT shrinker this vCPU runs every shrinkMs (multilevel, vCPU 0, --dtt-shrink). */
    private readonly shrinker?: DttShrinker,
    private readonly shrinkMs = 0,
    /** Whose line of the map-count ledger this guest writes. */
    vcpu = 0,
  ) {
    this.maxCount = maxMapCount(m.spec.vcpus);
    this.testFirst = variant === 'pinned-check-before-add';
    this.trustRequest = variant === 'ignore-pin-failure';
    this.shortUnmap = variant === 'unmap-off-by-one';
    this.words = table.words;
    this.ledger = new MapLedger(m, vcpu);
  }

  private nextShrinkMs = 0;

  /** Memory pressure, modeled as a period: run the shrinker when it is due. */
  poll(): void {
    if (!this.shrinker || this.shrinkMs <= 0) return;
    const now = this.nowMs();
    if (now < this.nextShrinkMs) return;
    if (this.nextShrinkMs === 0) this.nextShrinkMs = now + this.shrinkMs;
    else {
      this.nextShrinkMs = now + this.shrinkMs;
      this.clock?.sync();
      this.shrinker.shrink();
    }
  }

  nextTimerMs(): number {
    return this.shrinker && this.shrinkMs > 0 && this.nextShrinkMs > 0 ? this.nextShrinkMs : Infinity;
  }

  private nowMs(): number {
    return this.clock ? this.clock.now / 1e6 : performance.now();
  }

  map(gfn: number, n: number): number {
    this.clock?.sync();
    this.lock?.readLock();
    this.ledger.started(n);
    try {
      const ok = this.mark(gfn, n);
      this.stats[STAT.DTT_OPS] += n;
      this.clock?.advanceCycles(n * this.clock.costs.dttUpdateCycles);
      if (ok) return gfn;
      this.ledger.finished(n); // every count it raised is down again
      this.stats[STAT.MAP_FAILURES]++;
      return -1;
    } finally {
      this.lock?.readUnlock();
    }
  }

  /** Mark every page, ask for the unpinned ones; false (all undone) if any could not be pinned. */
  private mark(gfn: number, n: number): boolean {
    const missing = this.markRun(gfn, n, 0);
    if (missing < 0) return false;
    if (missing > 0 && !this.requestPins(missing)) return this.undo(gfn, n, true);
    return true;
  }

  /**
   * Mark pages [gfn, gfn+n), adding the unpinned ones to the `missing` already gathered (a request
   * goes out whenever the buffer is full). Returns how many are gathered now, or -1 with this
   * run undone (the caller undoes what it marked before).
   */
  private markRun(gfn: number, n: number, missing: number): number {
    const { mem, words } = this;
    let e = -1;
    for (let i = 0; i < n; i++) {
      const g = gfn + i;
      e = e >= 0 && (g & (LEAF_ENTRIES - 1)) !== 0 ? e + 1 : this.table.locate(g, true); // same leaf: next entry
      if (e < 0) return this.undo(gfn, i, true) || -1;
      // planted bug: decide "already pinned" before the count protects the page
      const pinnedBefore = this.testFirst ? isPinned(mem.load(words, e)) : false;
      const old = mem.add(words, e, 1);
      if ((old & MAP_COUNT_MASK) >= this.maxCount) {
        mem.sub(words, e, 1);
        return this.undo(gfn, i, true) || -1;
      }
      mem.or(words, e, ACCESSED);
      if (!(this.testFirst ? pinnedBefore : isPinned(mem.load(words, e)))) {
        if (missing === this.missing.length) {
          if (!this.requestPins(missing)) return this.undo(gfn, i + 1, true) || -1;
          missing = 0;
        }
        this.missing[missing++] = g;
      }
    }
    return missing;
  }

  /**
   * A scatter-gather list as one (Linux's dma_map_sg): every segment marked as map() marks a run,
   * the unpinned pages of all segments gathered into one pin request (one per buffer's worth); a
   * failure undoes the whole list.
   */
  mapSg(gfns: readonly number[], pages: readonly number[], dmas: number[]): boolean {
    this.clock?.sync();
    this.lock?.readLock();
    const pagesOfList = pages.reduce((s, p) => s + p, 0);
    this.ledger.started(pagesOfList);
    try {
      let missing = 0;
      let marked = 0;
      let total = 0;
      for (; marked < gfns.length && missing >= 0; marked++) {
        missing = this.markRun(gfns[marked], pages[marked], missing);
        dmas[marked] = gfns[marked];
        total += pages[marked];
      }
      const ok = missing >= 0 && (missing === 0 || this.requestPins(missing));
      this.stats[STAT.DTT_OPS] += total;
      this.clock?.advanceCycles(total * this.clock.costs.dttUpdateCycles);
      if (ok) return true;
      // the segment that failed undid itself; the ones before it are undone here
      const whole = missing >= 0 ? marked : marked - 1;
      for (let s = 0; s < whole; s++) this.undo(gfns[s], pages[s], true);
      this.ledger.finished(pagesOfList);
      this.stats[STAT.MAP_FAILURES]++;
      return false;
    } finally {
      this.lock?.readUnlock();
    }
  }

  unmap(_dmaPage: number, gfn: number, n: number): void {
    // Lazy unpinning: only the count drops; PINNED stays until the host's scan finds the page idle.
    this.clock?.sync();
    this.lock?.readLock();
    try {
      this.undo(gfn, this.shortUnmap ? n - 1 : n, false); // planted bug: one page too few
    } finally {
      this.lock?.readUnlock();
    }
    this.ledger.finished(n);
    this.stats[STAT.DTT_OPS] += n;
    this.clock?.advanceCycles(n * this.clock.costs.dttUpdateCycles);
  }

  /** One synchronous request for the pages found unpinned, then look each up again. */
  private requestPins(n: number): boolean {
    const { stats } = this;
    stats[STAT.PIN_REQUESTS]++;
    stats[STAT.PIN_REQUEST_PAGES] += n;
    this.requester.request(this.missing, n); // busy or timed out: the look-up below decides
    if (this.trustRequest) return true; // planted bug: the host's answer is taken as success
    for (let k = 0; k < n; k++) {
      const e = this.table.locate(this.missing[k], false);
      if (e < 0 || !isPinned(this.mem.load(this.words, e))) return false;
    }
    return true;
  }

  /**
   * Unmark pages [gfn, gfn+n): a count already zero is logged and left alone (the shipped driver's
   * check); on a failed map (clearAccessed) ACCESSED goes too where the count reaches zero. Returns false.
   */
  private undo(gfn: number, n: number, clearAccessed: boolean): false {
    const { mem, words } = this;
    let e = -1;
    for (let i = 0; i < n; i++) {
      const g = gfn + i;
      e = e >= 0 && (g & (LEAF_ENTRIES - 1)) !== 0 ? e + 1 : this.table.locate(g, false);
      if (e < 0) continue;
      if ((mem.load(words, e) & MAP_COUNT_MASK) === 0) {
        this.stats[STAT.MAP_COUNT_UNDERFLOW]++;
        continue;
      }
      const old = mem.sub(words, e, 1);
      if (clearAccessed && (old & MAP_COUNT_MASK) === 1) mem.and(words, e, ~ACCESSED);
    }
    return false;
  }
}

export function coiommuGuest(ctx: GuestContext): CoiommuGuest {
  const { mem, m, cfg, vcpu, stats } = ctx;
  const parts: GuestTableParts = guestTable(mem, m, cfg, vcpu);
  const requester = new SlotRequester(cfg.notify, mem, m, vcpu, ctx.spinUs, parts.config.pinTimeoutMs, stats, cfg.variant);
  requester.clock = ctx.clock;
  requester.pinInfo = parts.pinInfo;
  const { config, lock, pool } = parts;
  const shrinker =
    lock && pool && vcpu === 0 && config.dttShrinkMs > 0
      ? new DttShrinker(mem, m, lock, pool, parkCommand(mem, m, cfg, stats), stats, cfg.variant)
      : undefined;
  const timed = new TimedRequester(requester, ctx.latency.pinRequest);
  return new CoiommuGuest(mem, m, parts.table, lock, timed, stats, cfg.variant, ctx.clock, shrinker, config.dttShrinkMs, vcpu);
}

/** The vCPU's write of PARK_UNPIN / UNPARK_UNPIN: an MMIO exit the VMM serves under the pin-state lock. */
export function parkCommand(mem: SharedMem, m: Machine, cfg: GuestContext['cfg'], stats: Float64Array): (park: boolean) => void {
  const lock = pinStateLock(mem, m, cfg.variant, cfg.watchdogMs);
  return (park) => {
    stats[STAT.EXITS]++;
    parkUnpin(mem, m, lock, park);
  };
}
