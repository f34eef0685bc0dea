// Emulated VT-d in caching mode, host side (DESIGN 1.2). The host keeps a shadow table IOVA ->
// host frame, the table the physical IOMMU (here: the device's IOTLB walks) really uses. It learns
// about the guest's IO page table only through invalidations: for each IOTLB invalidation
// descriptor it walks the guest table over the range, pins pages that became present and drops
// shadow entries that went away; before it completes a wait descriptor it flushes the device IOTLB
// for every range it tore down and only then unpins those pages. All of it under the pin-state
// lock and through HostMemory, exactly like coIOMMU's pin and unpin. The shadow entries are also the
// leaves of the 4-level IO page table the device walks (src/mem/io-radix-table.ts); an unmap that
// covers a page-table page's whole range frees it, and the invalidation strategy says what the
// device flush asks of its page-table caches (invalidation.ts). A page the host cannot pin (the
// pin or its IOMMU map fails, no free frame) gets no shadow entry, and the submission's wait
// descriptor completes with an error status: the guest undoes its map (guest.ts).
import type { Machine } from '../../machine/machine.js';
import { IOTLB_LOG, STAT, VCLOCK, vclockLine } from '../../machine/layout.js';
import type { SharedMem } from '../../machine/shared-mem.js';
import type { HostMemory } from '../../mem/host-memory.js';
import { IotlbFlusher } from '../../mem/iotlb.js';
import { IoRadixTable } from '../../mem/io-radix-table.js';
import { consumeInvalidationQueue, invalidationPending, type InvalidationHandler } from '../../notify/invalidation-queue.js';
import type { Lock } from '../../notify/lock.js';
import { DETAIL, type Oracle } from '../../core/oracle.js';
import type { Variant } from '../../core/types.js';
import { invalidationCycles } from '../../core/cost-table.js';
import { nsOf, type HostClock } from '../../core/virtual-time.js';
import type { HostContext, HostPolicy, Leftover } from '../policy.js';
import { isPresent, pteGfn } from './io-page-table.js';
import { failHere, serveHook } from '../../core/faults/hooks.js';
import type { ViommuConfig } from './config.js';
import { invalidationStrategy, linuxInvalidation, type InvalidationStrategy } from './invalidation.js';

export class ViommuHost implements InvalidationHandler, HostPolicy {
  readonly flusher: IotlbFlusher;
  /** The 4-level table the device walks; its leaves mirror the shadow table. */
  readonly radix: IoRadixTable;
  /** Torn-down ranges of this batch (iova, pages, FLUSH flags triples), flushed before the next completion. */
  private flushRanges: number[] = [];
  /** Page-table pages unlinked by this batch: reusable once the device flush has drained. */
  private freedPages: number[] = [];
  /** The virtual time of the submission being completed (its unmaps' time, for Linux-style flushes). */
  private reqVt = 0;
  /** Guest pages whose shadow entries were removed: unpinned only after the flush. */
  private unpins: number[] = [];
  /** A page of this submission could not be pinned: its wait descriptor completes with an error. */
  private pinFailed = false;
  private readonly waitFirst: boolean;
  /** The planted bug `unpin-before-drain`: the host unpins before the device IOTLB flush has drained. */
  private readonly unpinFirst: boolean;

  constructor(
    private readonly mem: SharedMem,
    private readonly m: Machine,
    private readonly host: HostMemory,
    private readonly lock: Lock,
    private readonly stats: Float64Array,
    variant: Variant = 'none',
    timeoutMs = 5000,
    /** Virtual time: each submission's cost is charged to the host thread that serves it. */
    private readonly clock?: HostClock,
    private readonly strategy: InvalidationStrategy = linuxInvalidation,
  ) {
    this.flusher = new IotlbFlusher(mem, m, stats, timeoutMs);
    this.radix = new IoRadixTable(mem, m);
    this.waitFirst = variant === 'wait-before-flush';
    this.unpinFirst = variant === 'unpin-before-drain';
  }

  /** Anything queued and not yet consumed? */
  pending(): boolean {
    return invalidationPending(this.mem, this.m);
  }

  /** The emulated tail-register write (or the sidecore's poll): consume the queue once. */
  serve(beforeEach?: () => void): number {
    if (!this.pending()) return 0;
    beforeEach?.();
    serveHook(); // an injected slow host
    return this.processQueue() > 0 ? 1 : 0;
  }

  /** A page is pinned exactly while some shadow (IOVA) entry maps it. */
  pinnedFor(g: number): boolean {
    return this.mem.load(this.m.shadowRefs, g) > 0;
  }

  /** Every shadow entry points at a pinned frame, and the per-page reference counts add up. */
  checkAccounting(oracle: Oracle): boolean {
    const { mem, m } = this;
    let entries = 0;
    let refs = 0;
    let ok = true;
    for (let i = 0; i < m.iovaPages; i++) {
      const s = mem.load(m.shadow, i) - 1;
      if (s < 0) continue;
      entries++;
      if (mem.load(m.framePinned, s) === 0) {
        oracle.report('accounting', mem.load(m.frameOwner, s) - 1, s, DETAIL.pinCountMismatch);
        ok = false;
      }
    }
    for (let g = 0; g < m.spec.guestPages; g++) refs += mem.load(m.shadowRefs, g);
    if (entries !== refs) {
      oracle.report('accounting', -1, -1, DETAIL.pinCountMismatch);
      ok = false;
    }
    return ok;
  }

  /** Teardown: nothing may still be queued or shadowed. */
  checkTeardown(leftover: Leftover): void {
    if (this.pending()) leftover('invalidation queue not empty');
    const live = this.shadowEntries();
    if (live > 0) leftover(`${live} shadow (IOVA) mappings still live at teardown`);
    // the guest's own table too: an entry it never invalidated (a failed map not undone) is one
    let present = 0;
    for (let i = 0; i < this.m.iovaPages; i++) if (isPresent(this.mem.load(this.m.iopt, i))) present++;
    if (present > 0) leftover(`${present} guest IO page-table entries still present at teardown`);
  }

  releasePage(g: number): void {
    this.mem.store(this.m.shadowRefs, g, 0);
  }

  clearTables(): void {
    for (let i = 0; i < this.m.iovaPages; i++) {
      if (this.mem.load(this.m.shadow, i) !== 0) this.radix.clear(i);
      this.mem.store(this.m.shadow, i, 0);
    }
  }

  /** Process the invalidation queue once: every descriptor queued so far. Returns how many. */
  processQueue(): number {
    if (!invalidationPending(this.mem, this.m)) return 0; // a polling sidecore: no lock traffic when idle
    this.lock.lock();
    try {
      const n = consumeInvalidationQueue(this.mem, this.m, this);
      this.flushAndUnpin(); // a batch without a wait descriptor still tears down what it names
      this.pinFailed = false;
      return n;
    } finally {
      this.lock.unlock();
    }
  }

  /** IOTLB invalidation descriptor: bring the shadow table in line with the guest's IO page table. */
  invalidate(iova: number, pages: number): void {
    this.stats[STAT.INV_DESCS]++;
    let tornDown = false;
    const end = Math.min(iova + pages, this.m.iovaPages);
    for (let i = Math.max(0, iova); i < end; i++) if (this.sync(i)) tornDown = true;
    if (!tornDown) return;
    // Linux frees a page-table page only when one unmap covers its whole range
    const freed = this.radix.freeCovered(Math.max(0, iova), end - Math.max(0, iova), this.freedPages);
    this.stats[STAT.PT_PAGES_FREED] += freed;
    this.flushRanges.push(iova, pages, this.strategy.flushFlags(freed > 0));
  }

  /** Wait descriptor: everything before it is done (flushed, unpinned) before the status flips. */
  wait(complete: (ok?: boolean) => void, vcpu = 0): void {
    const toreDown = this.flushRanges.length > 0;
    const ok = !this.pinFailed;
    this.pinFailed = false;
    this.reqVt = this.clock ? this.m.vclock[vclockLine.vcpu(vcpu) * VCLOCK.LINE + VCLOCK.REQ] : 0;
    if (this.waitFirst) {
      // planted bug: the guest is told the unmap is done while the device may still hold a translation
      this.stamp(vcpu, toreDown);
      complete(ok);
      this.flushAndUnpin();
    } else {
      this.flushAndUnpin();
      this.stamp(vcpu, toreDown);
      complete(ok);
    }
  }

  /**
   * Virtual time of a submission: the request's cost (by notify path) and the IOTLB invalidation
   * with its wait. In caching mode (trap, sidecore) every submission invalidates, a new mapping
   * too; natively (bare) only one that tore a mapping down does.
   */
  private stamp(vcpu: number, toreDown: boolean): void {
    if (toreDown) this.stats[STAT.TEARDOWN_SUBMITS]++;
    const clock = this.clock;
    if (!clock) return;
    const invalidates = clock.notify !== 'bare' || toreDown;
    clock.complete(vcpu, invalidates ? nsOf(clock.costs, invalidationCycles(clock.costs)) : 0);
  }

  /** One IOVA page: returns true if a shadow entry was removed or replaced (needs an IOTLB flush). */
  private sync(i: number): boolean {
    const { mem, m } = this;
    const pte = mem.load(m.iopt, i);
    const s = mem.load(m.shadow, i) - 1;
    const oldGfn = s >= 0 ? mem.load(m.frameOwner, s) - 1 : -1;
    if (isPresent(pte)) {
      const g = pteGfn(pte);
      if (s >= 0 && oldGfn === g) return false; // unchanged (a re-map of a live mapping)
      if (s >= 0) this.removeShadow(i, oldGfn);
      this.addShadow(i, g);
      return s >= 0;
    }
    if (s < 0) return false;
    this.removeShadow(i, oldGfn);
    return true;
  }

  private addShadow(i: number, g: number): void {
    const { mem, m, host, stats } = this;
    const refs = mem.load(m.shadowRefs, g);
    if (refs === 0) {
      if (failHere('pin')) return this.shadowPinFailed(true); // the VFIO pin itself
      if (!host.pin(g)) return this.shadowPinFailed(false); // its IOMMU map, or no free frame
      stats[STAT.PINS]++;
      // a VM's host pins guest memory for DMA; a native OS (bare) has nothing to pin
      if (this.clock && this.clock.notify !== 'bare') this.clock.charge(this.clock.costs.pinPageCycles);
    }
    mem.store(m.shadowRefs, g, refs + 1);
    mem.store(m.shadow, i, host.pinnedFrame(g) + 1);
    this.radix.set(i, host.pinnedFrame(g) + 1);
    stats[STAT.SHADOW_MAPS]++;
  }

  /** The pin, its IOMMU map or the frame failed: no shadow entry, the wait reports an error. */
  private shadowPinFailed(beforeHost: boolean): void {
    this.pinFailed = true;
    this.stats[STAT.PIN_MAP_FAILURES]++;
    if (beforeHost) this.host.reliance?.pinFailed(); // host.pin tells it of its own failures
  }

  private removeShadow(i: number, g: number): void {
    this.mem.store(this.m.shadow, i, 0);
    this.radix.clear(i);
    this.host.reliance?.shadowRemoved(i, g);
    this.stats[STAT.SHADOW_UNMAPS]++;
    this.unpins.push(g); // the page stays pinned until the device can no longer reach it
  }

  /** Flush the device IOTLB for every torn-down range, wait for it, then unpin. */
  private flushAndUnpin(): void {
    const { mem, m, host, stats, flushRanges, unpins } = this;
    let g = -1;
    if (flushRanges.length > 0) {
      g = 0;
      // A big batch (a lazy flush queue): flush it all at once, as a domain-selective invalidation
      // does, rather than one log entry per range.
      if (flushRanges.length / 3 > IOTLB_LOG.GLOBAL_BATCH) g = this.flusher.post(0, -1, this.anyFlags(), this.reqVt);
      else for (let k = 0; k < flushRanges.length; k += 3) g = this.flusher.post(flushRanges[k], flushRanges[k + 1], flushRanges[k + 2], this.reqVt);
      if (!this.unpinFirst) this.flusher.drain(g);
      flushRanges.length = 0;
    }
    if (!this.unpinFirst) this.releasePtPages();
    for (const p of unpins) {
      const refs = mem.load(m.shadowRefs, p) - 1;
      mem.store(m.shadowRefs, p, refs);
      if (refs === 0) this.drainedBefore(g, p);
      if (refs === 0 && host.unpin(p)) stats[STAT.UNPINS]++;
    }
    unpins.length = 0;
    if (this.unpinFirst && g >= 0) this.flusher.drain(g); // planted bug: the drain comes after the unpins
    if (this.unpinFirst) this.releasePtPages();
  }

  /** IO page-table pages an unmap emptied go back to the pool only once the device flush drained. */
  private releasePtPages(): void {
    if (this.freedPages.length === 0) return;
    this.radix.release(this.freedPages);
    this.freedPages.length = 0;
  }

  /**
   * The oracle's check before page p is unpinned: no device access that began under a generation
   * older than the flush `g` covering p is still in flight (the drain happened, or nothing runs).
   */
  private drainedBefore(g: number, p: number): void {
    if (g < 0) return;
    const log = this.m.iotlbLog;
    const old = (a: number) => a !== IOTLB_LOG.IDLE && ((a - 1 - g) | 0) < 0;
    const a = Atomics.load(log, IOTLB_LOG.ACTIVE);
    if (!old(a)) return;
    // A device entering an access publishes ACTIVE before it reads GEN (iotlb.ts begin()), so an
    // old value may be that instant of a begin() that will see the flush and re-publish: only an
    // old generation that outlasts a short bounded spin is an access the drain let through.
    for (let k = 0; k < 4096; k++) if (Atomics.load(log, IOTLB_LOG.ACTIVE) !== a) return;
    this.host.reliance?.undrainedUnpin(p);
  }

  /** The FLUSH bits of every range of this batch together. */
  private anyFlags(): number {
    let f = 0;
    for (let k = 2; k < this.flushRanges.length; k += 3) f |= this.flushRanges[k];
    return f;
  }

  /** Shadow entries right now (accounting, teardown). */
  shadowEntries(): number {
    let n = 0;
    for (let i = 0; i < this.m.iovaPages; i++) if (this.mem.load(this.m.shadow, i) !== 0) n++;
    return n;
  }
}

export function viommuHost(ctx: HostContext): ViommuHost {
  const strategy = invalidationStrategy((ctx.cfg.viommu as ViommuConfig | undefined)?.invalidation ?? 'linux', ctx.cfg.variant);
  return new ViommuHost(ctx.mem, ctx.m, ctx.host, ctx.lock, ctx.stats, ctx.cfg.variant, ctx.timeoutMs, ctx.clock, strategy);
}
