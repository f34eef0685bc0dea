// iopf, the host's half (SCIMITAR's "make the common case fast, and the unlikely case possible"):
//  - the I/O page fault handler, on the hypervisor thread (trap) or the polling sidecore: for each
//    page of a group make it resident (a swapped page comes back: a major fault), pin it, map it in
//    the host IOMMU, and only then answer the group SUCCESS; INVALID for a page outside the guest,
//    FAILURE when no frame is left;
//  - reclaim with shootdown (the rare unmap, where the cost moved): unmap in the host IOMMU,
//    invalidate the device's IOTLB / ATS entry, wait for the invalidation's completion, and only
//    then unpin and let the frame go. A page under an in-flight DMA is skipped.
// All of it under the pin-state lock.
import { requestCycles } from '../../core/cost-table.js';
import { nsOf } from '../../core/virtual-time.js';
import type { CostTable, NotifyPath, Variant } from '../../core/types.js';
import { CTL, STAT } from '../../machine/layout.js';
import type { Machine } from '../../machine/machine.js';
import type { SharedMem } from '../../machine/shared-mem.js';
import type { HostMemory } from '../../mem/host-memory.js';
import { IotlbFlusher } from '../../mem/iotlb.js';
import type { Lock } from '../../notify/lock.js';
import type { HostContext, HostPolicy, Leftover } from '../policy.js';
import { PR, PR_FLAG, PRQ_COUNT, PRQ_GROUPS, PageRequestQueue, RESP, type ResponseCode } from './prq.js';

/** What handling one page cost and how it ended. */
interface PageResult {
  code: ResponseCode;
  cycles: number;
}

export class IopfHost implements HostPolicy {
  readonly q: PageRequestQueue;
  readonly flusher: IotlbFlusher;
  /** The group being assembled (entries up to its LAST one): its worst code and its cost. */
  private groupCode: ResponseCode = RESP.SUCCESS;
  private groupCycles = 0;
  /** Pages this handler faulted in, oldest first from `oldest` (direct reclaim's FIFO). */
  private readonly faulted: number[] = [];
  private oldest = 0;

  constructor(
    private readonly mem: SharedMem,
    private readonly m: Machine,
    private readonly host: HostMemory,
    private readonly lock: Lock,
    private readonly stats: Float64Array,
    private readonly costs: CostTable,
    private readonly notify: NotifyPath,
    private readonly variant: Variant,
    timeoutMs: number,
    /** Resident frames the host keeps under (--host-mem); 0 = no pressure. A fault over it reclaims first. */
    private readonly budget = 0,
  ) {
    this.q = new PageRequestQueue(mem, m);
    this.flusher = new IotlbFlusher(mem, m, stats, timeoutMs);
  }

  pending(): boolean {
    return this.q.ring.available() > 0;
  }

  /** Serve every page request in the queue; a group is answered at its LAST entry. */
  serve(): number {
    const { ring } = this.q;
    const n = ring.available();
    for (let i = 0; i < n; i++) {
      const page = ring.peek(i, PR.PAGE);
      const grp = ring.peek(i, PR.GROUP);
      const last = (ring.peek(i, PR.FLAGS) & PR_FLAG.LAST) !== 0;
      // planted bug: SUCCESS goes out before the page is mapped (the device retries into a miss)
      if (this.variant === 'respond-before-map' && last) this.q.answer(grp, RESP.SUCCESS, 0);
      const r = this.handle(page);
      if (r.code !== RESP.SUCCESS && this.groupCode === RESP.SUCCESS) this.groupCode = r.code;
      this.groupCycles += r.cycles;
      if (last) this.respond(grp);
    }
    if (n > 0) ring.release(n);
    return n;
  }

  /** Answer group grp with the worst code of its pages; its modeled cost rides with the answer. */
  private respond(grp: number): void {
    const cycles = requestCycles(this.costs, this.notify) + this.groupCycles;
    if (this.variant !== 'respond-before-map') this.q.answer(grp, this.groupCode, nsOf(this.costs, cycles));
    this.q.count(PRQ_COUNT.GROUPS_ANSWERED);
    this.groupCode = RESP.SUCCESS;
    this.groupCycles = 0;
  }

  /** One faulting page: resident (swap-in if it was reclaimed), pinned, mapped in the host IOMMU. */
  handle(page: number): PageResult {
    const { q, host, costs } = this;
    q.count(PRQ_COUNT.ANSWERED);
    if (page < 0 || page >= this.m.spec.guestPages) {
      q.count(PRQ_COUNT.INVALID);
      return { code: RESP.INVALID, cycles: 0 };
    }
    this.lock.lock();
    try {
      // a second fault on a page already faulted in (two descriptors, one page): no second pin
      if (host.pinnedFrame(page) >= 0) {
        q.count(PRQ_COUNT.MINOR);
        return { code: RESP.SUCCESS, cycles: costs.iopfMinorCycles };
      }
      const major = host.residentFrame(page) < 0 && this.mem.load(this.m.swap, page) !== 0;
      const evicted = host.residentFrame(page) < 0 ? this.directReclaim(page) : 0;
      if (!host.pin(page)) return { code: RESP.FAILURE, cycles: costs.iopfMinorCycles };
      this.stats[STAT.PINS]++;
      if (this.budget > 0) this.faulted.push(page);
      q.count(major ? PRQ_COUNT.MAJOR : PRQ_COUNT.MINOR);
      const work = costs.iopfMinorCycles + costs.pinPageCycles + costs.iommuMapCycles + evicted * costs.iommuMapCycles;
      return { code: RESP.SUCCESS, cycles: work + (major ? costs.iopfMajorCycles : 0) };
    } finally {
      this.lock.unlock();
    }
  }

  /**
   * Take page g back (reclaimer, balloon): unmap it in the host IOMMU, shoot the device's cached
   * translation down, and wait for the invalidation's completion: a DMA on g in flight right now
   * still uses the old translation, so the page is skipped (mapped again, left pinned); else wait
   * until no older access is in flight anywhere. Only then unpin. The caller then reclaims the frame.
   */
  forceUnpin(g: number): boolean {
    this.lock.lock();
    try {
      return this.forceUnpinLocked(g);
    } finally {
      this.lock.unlock();
    }
  }

  /**
   * Direct reclaim (with the lock held): a fault that needs a frame while the host is at its
   * budget first takes back one page the device is not using, the one this handler faulted in
   * longest ago (FIFO), with the same shootdown; then, if none, any other (frame order). Returns
   * pages taken back.
   */
  private directReclaim(keep: number): number {
    const { mem, m } = this;
    if (this.budget <= 0 || mem.load(m.control, CTL.RESIDENT_NOW) < this.budget) return 0;
    for (let tries = this.faulted.length - this.oldest; tries > 0; tries--) {
      const g = this.faulted[this.oldest++];
      if (this.oldest > 4096) this.faulted.splice(0, this.oldest), (this.oldest = 0);
      if (g !== keep && this.takeBack(g)) return 1;
      if (this.host.pinnedFrame(g) >= 0 && g !== keep) this.faulted.push(g); // under DMA: later
    }
    const high = this.host.frameHigh();
    for (let f = 0; f < high; f++) {
      const owner = mem.load(m.frameOwner, f);
      if (owner !== 0 && owner - 1 !== keep && this.takeBack(owner - 1)) return 1;
    }
    return 0;
  }

  /** Force-unpin (if pinned) and reclaim page g's frame, with the lock held. */
  private takeBack(g: number): boolean {
    const f = this.host.residentFrame(g);
    if (f < 0) return false;
    if (this.mem.load(this.m.framePinned, f) !== 0 && !this.forceUnpinLocked(g)) return false;
    if (!this.host.reclaim(f)) return false;
    this.stats[STAT.RECLAIMED]++;
    return true;
  }


  private forceUnpinLocked(g: number): boolean {
    const { mem, m, host, q } = this;
    const f = host.pinnedFrame(g);
    if (f < 0) return false;
    mem.store(m.iommu, g, 0); // 1. unmap: a walk from now on misses (and faults)
    const gen = this.flusher.post(g, 1); // 2. invalidate the device's IOTLB / ATS entry
    // 3. its completion (planted bug: unpin and reuse the frame without waiting for it). The
    // device marks g busy before it translates: busy now = an access that may hold the old entry.
    if (this.variant !== 'reclaim-before-shootdown') {
      if (q.busy(g)) {
        mem.store(m.iommu, g, f + 1);
        q.count(PRQ_COUNT.SKIPPED_BUSY);
        return false;
      }
      this.flusher.drain(gen);
    }
    q.count(PRQ_COUNT.SHOOTDOWNS);
    mem.store(m.framePinned, f, 0); // 4. only now unpin
    mem.sub(m.control, CTL.PINNED_NOW, 1);
    this.stats[STAT.UNPINS]++;
    this.stats[STAT.FORCE_UNPINS]++;
    return true;
  }

  /** Teardown: nothing left in the queue, no group unanswered, every request answered. */
  checkTeardown(leftover: Leftover): void {
    const { q } = this;
    if (q.queued() > 0) leftover(`${q.queued()} page requests still queued`);
    for (let grp = 0; grp < PRQ_GROUPS; grp++) if (q.status(grp) === RESP.PENDING) leftover(`page request group ${grp} unanswered`);
    const raised = q.counter(PRQ_COUNT.RAISED);
    const answered = q.counter(PRQ_COUNT.ANSWERED);
    if (raised !== answered) leftover(`page requests raised ${raised} != answered ${answered}`);
  }
}

export function iopfHost(ctx: HostContext): IopfHost {
  const { mem, m, host, lock, stats, cfg, timeoutMs } = ctx;
  return new IopfHost(mem, m, host, lock, stats, cfg.costTable, cfg.notify, cfg.variant, timeoutMs, cfg.host?.memoryPages ?? 0);
}
