// coIOMMU, host side (DESIGN 1.1, as crosvm's CoIommuDev does it): the pin handler, the lazy unpin
// worker (two generations, a shared limit, parked while the guest's shrinker runs) and force-unpin
// for memory pressure. All of it under the pin-state lock, each page looked up by walking the DTT.
import { STAT } from '../../machine/layout.js';
import type { Machine } from '../../machine/machine.js';
import type { SharedMem } from '../../machine/shared-mem.js';
import type { HostMemory } from '../../mem/host-memory.js';
import type { Lock } from '../../notify/lock.js';
import { DEFAULT_BDF, anySlotRaised, decodeRequest, serveSlots, type RequestDecoder } from '../../notify/pin-request.js';
import { failHere } from '../../core/faults/hooks.js';
import type { Variant } from '../../core/types.js';
import type { HostClock } from '../../core/virtual-time.js';
import type { HostContext, HostPolicy, Leftover } from '../policy.js';
import type { CoiommuConfig } from './config.js';
import { ACCESSED, MAP_COUNT_MASK, PINNED, isPinned } from './dtt.js';
import { FlatDtt, MultiLevelDtt, type DttTable } from './dtt-table.js';
import { auditTree } from './dtt-audit.js';
import { CO, PIN_INFO_MAX_PAGES, coiommuRegion, type CoiommuRegion } from './region.js';
import { UnpinScan } from './unpin-scan.js';
import { MapCountCheck } from './map-ledger.js';
import { parkUnpin, unpinParked } from './park.js';

export class CoiommuHost implements HostPolicy {
  readonly table: DttTable;
  private readonly region: CoiommuRegion;
  private readonly decoder: RequestDecoder;
  private readonly pages = new Float64Array(PIN_INFO_MAX_PAGES);
  private readonly scan: UnpinScan;
  private readonly mapCounts: MapCountCheck;

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
    /** The topology table: the endpoints behind this coIOMMU. */
    endpoints: readonly number[] = [DEFAULT_BDF],
  ) {
    this.region = coiommuRegion(m.spec.guestPages, m.spec.vcpus);
    this.table = cfg.dtt === 'flat' ? new FlatDtt(m) : new MultiLevelDtt(mem, m, this.region);
    const r = this.region;
    const lo = r.pinInfo;
    const hi = r.pinInfo + m.spec.vcpus * r.pinInfoWords;
    // a batch's address must lie inside the driver's pin-info buffers
    const wordOfGpa = (gpa: number, words: number) => (gpa % 4 === 0 && gpa / 4 >= lo && gpa / 4 + words <= hi ? gpa / 4 : -1);
    this.decoder = { endpoints, words: m.coiommu, wordOfGpa };
    this.mapCounts = new MapCountCheck(m, this.table);
    this.scan = new UnpinScan(mem, m, host, lock, cfg, stats, (g) => this.tryUnpin(g, false) === UNPIN.UNPINNED, () => this.parked());
  }

  /** Any vCPU's notify slot raised? */
  pending(): boolean {
    return anySlotRaised(this.mem, this.m);
  }

  /** Serve every raised notify slot once with the pin handler. */
  serve(beforeEach?: () => void): number {
    return serveSlots(this.mem, this.m, (v) => this.serveRequest(v), beforeEach, (v) => this.clock?.complete(v));
  }

  /** vCPU v's request: refused for a BDF outside the topology table; else pin each page. */
  private serveRequest(v: number): number {
    const n = decodeRequest(this.mem, this.m, v, this.decoder, this.pages);
    if (n < 0) {
      this.stats[STAT.REQUESTS_REJECTED]++;
      return 1;
    }
    let failed = 0;
    for (let k = 0; k < n; k++) if (!this.pin(this.pages[k])) failed++;
    return failed;
  }

  /** The host's timer: one round of the lazy unpin worker (nothing under --unpin-policy off). */
  periodic(): void {
    this.unpinScan();
  }

  unpinScan(): number {
    const unpins = this.cfg.unpinPolicy === 'off' ? 0 : this.scan.round();
    // free runs: the map counts against the ledger every round (the explorer's outcomes check them).
    // Not while a DTT shrinker may free pages: only a parked unpin worker is safe from it.
    if (!this.mem.scheduled && this.cfg.dttShrinkMs === 0) this.mapCounts.check(this.host.frameHigh());
    return unpins;
  }

  /** PARK_UNPIN / UNPARK_UNPIN, as the vCPU's MMIO write reaches the VMM (park.ts). */
  parkUnpin(park: boolean): void {
    parkUnpin(this.mem, this.m, this.lock, park);
  }

  /** With the lock held: is the unpin worker parked? */
  private parked(): boolean {
    return unpinParked(this.mem, this.m);
  }

  pinnedFor(g: number): boolean {
    const e = this.table.locate(g, false);
    const pinned = e >= 0 && isPinned(this.mem.load(this.table.words, e));
    this.table.release();
    return pinned;
  }

  /** Teardown of one pinned page: its DTT entry must be exactly PINNED (nothing mapped). */
  releasePage(g: number, f: number, leftover: Leftover): void {
    const { mem, table } = this;
    const e = table.locate(g, false);
    if (e < 0) return leftover(`guest page ${g}: pinned, but the DTT has no entry for it`, g, f);
    mem.and(table.words, e, ~ACCESSED);
    const old = mem.compareExchange(table.words, e, PINNED, 0);
    if (old !== PINNED) leftover(`guest page ${g}: still mapped at teardown (map count ${old & MAP_COUNT_MASK})`, g, f);
    mem.store(table.words, e, 0);
    table.release();
  }

  /** After teardown no DTT entry may hold anything, and (multilevel) the tree must be sound. */
  clearTables(leftover: Leftover): void {
    if (this.cfg.dtt === 'flat') {
      let counted = 0;
      for (let g = 0; g < this.m.spec.guestPages; g++) if (this.mem.load(this.m.dtt, g) !== 0) counted++;
      if (counted > 0) leftover(`${counted} DTT entries not zero after teardown`);
      return;
    }
    const a = auditTree(this.m, this.region);
    if (a.nonZeroEntries > 0) leftover(`${a.nonZeroEntries} DTT leaf entries not zero after teardown`);
    for (const problem of a.problems) leftover(`DTT: ${problem}`);
  }

  /** Pin request handler for one page (plus the paper's speculative neighbours). False if it could not pin. */
  pin(g: number): boolean {
    this.lock.lock();
    try {
      if (!this.pinOne(g)) return false;
      for (let k = 1; k <= this.cfg.speculativePages; k++) {
        const h = g + k;
        if (h >= this.m.spec.guestPages) break;
        if (!this.pinnedFor(h) && this.pinOne(h)) this.stats[STAT.SPECULATIVE_PINS]++;
      }
      return true;
    } finally {
      this.lock.unlock();
    }
  }

  /** With the lock held. An absent DTT page: nothing to pin (crosvm: "DTT absent"). */
  private pinOne(g: number): boolean {
    const { mem, table } = this;
    const e = table.locate(g, false);
    try {
      if (e < 0) return false;
      if (isPinned(mem.load(table.words, e))) return true;
      if (failHere('pin')) return this.mapFailed(-1); // an injected pin failure (the VFIO pin): PINNED stays clear
      if (this.variant === 'pinned-before-map') {
        // planted bug: the guest may see PINNED while the host IOMMU entry does not exist yet
        mem.or(table.words, e, PINNED);
        if (!this.host.pin(g)) return this.mapFailed(e);
      } else {
        if (!this.host.pin(g)) return this.mapFailed(-1); // PINNED stays clear: the guest's re-check fails
        mem.or(table.words, e, PINNED); // only now: the mapping exists
      }
      this.stats[STAT.PINS]++;
      this.clock?.charge(this.clock.costs.pinPageCycles + this.clock.costs.iommuMapCycles);
      return true;
    } finally {
      table.release();
    }
  }

  private mapFailed(e: number): false {
    if (e >= 0) this.mem.and(this.table.words, e, ~PINNED);
    this.stats[STAT.PIN_MAP_FAILURES]++;
    this.host.reliance?.pinFailed(); // the guest's map failure that follows has its cause
    return false;
  }

  /** Memory pressure: clear ACCESSED, then the same exchange. Fails on a mapped page, or while parked. */
  forceUnpin(g: number): boolean {
    this.lock.lock();
    try {
      if (this.parked()) return false;
      const ok = this.tryUnpin(g, true) === UNPIN.UNPINNED;
      if (ok) this.stats[STAT.FORCE_UNPINS]++;
      return ok;
    } finally {
      this.lock.unlock();
    }
  }

  /**
   * A balloon's unpin request for pages [g, g+n) (crosvm's unpin_pages_in_range): each page is
   * force-unpinned or was not pinned; a parked worker waits for the unpark and tries the page again;
   * a page still mapped fails the request (the balloon must not take it).
   */
  unpinRange(g: number, n: number): boolean {
    for (let k = 0; k < n; ) {
      this.lock.lock();
      let r: number;
      try {
        r = this.parked() ? UNPIN.PARKED : this.tryUnpin(g + k, true);
      } finally {
        this.lock.unlock();
      }
      if (r === UNPIN.PARKED) {
        this.stats[STAT.UNPIN_PARKED]++;
        this.awaitUnpark();
      }
      else if (r === UNPIN.BUSY) return false;
      else {
        if (r === UNPIN.UNPINNED) this.stats[STAT.FORCE_UNPINS]++;
        k++;
      }
    }
    return true;
  }

  /** Sleep until the park count is back to zero (the unpark notifies). */
  private awaitUnpark(): void {
    const w = this.m.coiommu;
    for (let n = this.mem.load(w, CO.PARK_COUNT); n > 0; n = this.mem.load(w, CO.PARK_COUNT)) this.mem.wait(w, CO.PARK_COUNT, n, 50);
  }

  /**
   * With the lock held: PINNED -> 0 only if count is 0 and ACCESSED clear, then unmap. A busy page
   * (not forced) loses ACCESSED: its second chance.
   */
  private tryUnpin(g: number, force: boolean): number {
    const { mem, table } = this;
    const e = table.locate(g, false);
    if (e < 0) return UNPIN.NOT_PINNED; // no leaf: never mapped, or shrunk away
    try {
      const w = table.words;
      if (force) mem.and(w, e, ~ACCESSED);
      let old: number;
      if (this.variant === 'unpin-load-store') {
        // planted bug: a guest's add between the load and the store is wiped out
        old = mem.load(w, e);
        if (old === PINNED) mem.store(w, e, 0);
      } else if (this.variant === 'unpin-ignores-count') {
        // planted bug: a page that looks idle (ACCESSED clear) is unpinned whatever its map count
        old = mem.load(w, e);
        if (isPinned(old) && (old & ACCESSED) === 0) {
          mem.and(w, e, ~PINNED);
          old = PINNED;
        }
      } else old = mem.compareExchange(w, e, PINNED, 0);
      if (old !== PINNED) {
        if (old === 0) return UNPIN.NOT_PINNED;
        if (!force) mem.and(w, e, ~ACCESSED);
        return UNPIN.BUSY;
      }
      if (!this.host.unpin(g)) {
        mem.or(w, e, PINNED); // the host mapping could not be removed: keep the page pinned
        return UNPIN.BUSY;
      }
      this.stats[STAT.UNPINS]++;
      this.clock?.charge(this.clock.costs.iommuMapCycles);
      return UNPIN.UNPINNED;
    } finally {
      table.release();
    }
  }
}

/** What one unpin attempt did (crosvm's UnpinResult). */
export const UNPIN = { UNPINNED: 1, NOT_PINNED: 0, BUSY: -1, PARKED: -2 } as const;

export function coiommuHost(ctx: HostContext): CoiommuHost {
  return new CoiommuHost(ctx.mem, ctx.m, ctx.host, ctx.lock, ctx.cfg.coiommu as CoiommuConfig, ctx.stats, ctx.cfg.variant, ctx.clock);
}
