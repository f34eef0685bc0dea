// The `net` workload, guest driver half: a NIC-like receive path. Buffers come from a pool with a
// tunable reuse distance; each is mapped, posted on the descriptor ring, filled by the device,
// verified (stamp and checksum), unmapped and recycled. The pool can move to fresh guest memory
// every rotateMs, which is what lets the lazy unpin worker find idle pages.
import { RING, STAT } from '../../machine/layout.js';
import type { Machine } from '../../machine/machine.js';
import type { SharedMem } from '../../machine/shared-mem.js';
import { readStamp } from '../../mem/payload.js';
import { SpscRing } from '../../notify/ring.js';
import type { GuestDmaPolicy } from '../../core/guest-dma-policy.js';
import type { Histogram } from '../../core/latency.js';
import { DETAIL, type Oracle } from '../../core/oracle.js';
import type { UnmapLog } from '../../core/protection.js';
import { deviceDoorbell } from '../../notify/delivery.js';
import type { Doorbell } from '../../notify/doorbell.js';
import type { WorkloadGuest, WorkloadGuestContext } from '../workload.js';
import type { NetConfig } from './config.js';
import type { GuestClock } from '../../core/virtual-time.js';

/** Descriptor: [dma page, guest page, pages, stamp]. Completion: [guest page, pages, stamp, dma page]. */
export const DESC = { DMA: 0, GFN: 1, PAGES: 2, STAMP: 3 } as const;
export const COMP = { GFN: 0, PAGES: 1, STAMP: 2, DMA: 3 } as const;

export class NetGuest implements WorkloadGuest {
  private readonly desc: SpscRing;
  private readonly comp: SpscRing;
  /** The descriptor being posted, by DESC field. */
  private readonly entry = new Int32Array(RING.ENTRY_WORDS);
  private readonly poolBuffers: number;
  private readonly poolPages: number;
  private readonly lo: number;
  private readonly hi: number;
  private regionBase: number;
  /** Free buffers, oldest first: reuse distance = how many others are taken before one comes back. */
  private readonly free: Int32Array;
  private freeHead = 0;
  private freeCount = 0;
  /** Per buffer (by first page): the stamp it held when it was unmapped, to catch lost contents. */
  private readonly lastStamp = new Map<number, number>();
  private seq = 0;
  inflight = 0;
  private lastRotate = 0;

  private readonly mem: SharedMem;
  private readonly m: Machine;
  private readonly vcpu: number;
  private readonly policy: GuestDmaPolicy;
  private readonly stats: Float64Array;
  private readonly oracle: Oracle;
  private readonly mapLatency: Histogram;
  private readonly spinUs: number;
  /** Protection oracle: unmapped DMA addresses are logged here for the device to probe. */
  private readonly unmapLog?: UnmapLog;
  /** The policy's DMA address is the guest page (static, passthrough, coIOMMU). */
  private readonly identityDma: boolean;
  private readonly device: Doorbell;
  /** The run is stopping (a wait for the device gives up). */
  private readonly stopped: () => boolean;
  private readonly clock: GuestClock;
  private readonly virtual: boolean;
  private readonly mapVirtual: Histogram;
  /** A packet's wire time at this vCPU's share of the line rate: the driver's work per buffer. */
  private readonly wireNs: number;
  /** Where this vCPU's ring entries start in the descVt / compVt side tables. */
  private readonly vtBase: number;
  private quotaLeft: number;

  constructor(
    ctx: WorkloadGuestContext,
    private readonly cfg: NetConfig,
  ) {
    const { mem, m, vcpu } = ctx;
    this.mem = mem;
    this.m = m;
    this.vcpu = vcpu;
    this.policy = ctx.policy;
    this.stats = ctx.stats;
    this.oracle = ctx.oracle;
    this.mapLatency = ctx.mapLatency;
    this.spinUs = ctx.cfg.notifyPath.spinUs;
    this.unmapLog = ctx.unmapLog;
    this.identityDma = ctx.identityDma;
    this.device = deviceDoorbell(mem, m);
    this.clock = ctx.clock;
    this.virtual = ctx.virtual;
    this.mapVirtual = ctx.mapVirtualLatency;
    // the link is shared: spread evenly over the vCPUs' queues (as RSS spreads flows), each
    // vCPU's packets arrive at its share of the line rate
    this.wireNs = (cfg.packetBytes * 8 * m.spec.vcpus) / cfg.lineRateGbps;
    this.vtBase = vcpu * m.spec.ringEntries;
    this.quotaLeft = ctx.quota;
    this.stopped = ctx.stopped;
    this.lastRotate = this.nowMs();
    this.desc = new SpscRing(mem, m.descRing(vcpu), m.spec.ringEntries);
    this.comp = new SpscRing(mem, m.compRing(vcpu), m.spec.ringEntries);
    this.poolBuffers = cfg.reuseDistance + cfg.queueDepth;
    this.poolPages = this.poolBuffers * cfg.bufferPages;
    const share = Math.floor(m.spec.guestPages / m.spec.vcpus);
    this.lo = vcpu * share;
    this.hi = this.lo + share;
    if (this.poolPages > share) throw new RangeError(`net: buffer pool (${this.poolPages} pages) does not fit in vCPU ${vcpu}'s ${share} pages`);
    this.regionBase = this.lo;
    this.free = new Int32Array(this.poolBuffers);
    this.fillPool();
  }

  private fillPool(): void {
    this.freeHead = 0;
    this.freeCount = 0;
    for (let b = 0; b < this.poolBuffers; b++) this.pushFree(this.regionBase + b * this.cfg.bufferPages);
  }

  private pushFree(gfn: number): void {
    this.free[(this.freeHead + this.freeCount++) % this.poolBuffers] = gfn;
  }

  private takeFree(): number {
    const g = this.free[this.freeHead];
    this.freeHead = (this.freeHead + 1) % this.poolBuffers;
    this.freeCount--;
    return g;
  }

  private inRegion(gfn: number): boolean {
    return gfn >= this.regionBase && gfn < this.regionBase + this.poolPages;
  }

  /** Move the pool to the next stretch of this vCPU's memory; in-flight buffers retire when done. */
  private rotate(): void {
    let next = this.regionBase + this.poolPages;
    if (next + this.poolPages > this.hi) next = this.lo;
    if (next === this.regionBase) return; // only room for one pool: nowhere to move
    this.regionBase = next;
    this.fillPool(); // in-flight buffers of the old stretch are not recycled when they complete
  }

  /** The workload's clock for its own timer (rotation): virtual or this machine's, in ms. */
  private nowMs(): number {
    return this.virtual ? this.clock.ms() : performance.now();
  }

  get quotaDone(): boolean {
    return this.quotaLeft <= 0;
  }

  /** Post up to one batch of buffers. Returns how many were posted. */
  post(): number {
    const { cfg, stats } = this;
    if (cfg.rotateMs > 0 && this.nowMs() - this.lastRotate >= cfg.rotateMs) {
      this.lastRotate = this.nowMs();
      this.rotate();
    }
    let n = 0;
    while (n < cfg.batch && this.quotaLeft > 0 && this.inflight < cfg.queueDepth && this.freeCount > 0 && this.desc.space() > 0) {
      if (!this.postOne()) break;
      n++;
    }
    if (n > 0) {
      this.desc.publish();
      if (this.device.kick()) stats[STAT.DEVICE_KICKS]++;
    }
    return n;
  }

  /** Map one free buffer and put its descriptor on the ring; false if the map failed. */
  private postOne(): boolean {
    const { cfg, stats, clock } = this;
    const gfn = this.takeFree();
    if (this.identityDma) this.unmapLog?.forget(gfn); // mapped again: no longer an unmapped address
    const t0 = performance.now();
    const v0 = clock.now;
    const dma = this.policy.map(gfn, cfg.bufferPages);
    this.mapLatency.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1e6)));
    this.mapVirtual.recordValue(Math.max(1, Math.round(clock.now - v0)));
    stats[STAT.MAPS]++;
    if (dma < 0) {
      this.pushFree(gfn);
      return false;
    }
    this.checkUnchanged(gfn);
    this.seq = (this.seq + 1) & 0x3ffffff;
    if (this.seq === 0) this.seq = 1;
    const e = this.entry;
    e[DESC.DMA] = dma;
    e[DESC.GFN] = gfn;
    e[DESC.PAGES] = cfg.bufferPages;
    e[DESC.STAMP] = (this.vcpu << 26) | this.seq;
    clock.advance(this.wireNs); // the packet's time on the wire paces the driver
    this.m.descVt[this.vtBase + this.desc.nextIndex()] = clock.now;
    this.desc.put(e);
    this.inflight++;
    this.quotaLeft--;
    return true;
  }

  /**
   * Reap completions: verify each payload, unmap, recycle. On the virtual clock only those done by
   * the vCPU's time, in order, waiting for the device to finish the oldest when it may be one of
   * them: so what is reaped when depends on virtual times alone. Returns how many were reaped.
   */
  reap(): number {
    const { comp } = this;
    let n = 0;
    for (;;) {
      if (n === comp.available()) {
        if (!this.virtual || this.inflight === 0 || !this.awaitCompletion(n)) break;
      }
      if (this.virtual && this.m.compVt[this.vtBase + comp.indexOf(n)] > this.clock.now) break;
      this.finish(n++);
    }
    if (n > 0) comp.release(n);
    return n;
  }

  /** Wait (this machine's time) until completion n exists; false if the run stops first. */
  private awaitCompletion(n: number): boolean {
    const bell = this.comp.published;
    while (this.comp.available() <= n) {
      if (bell.spin(bell.value(), this.spinUs)) continue;
      bell.awaitChange(bell.value(), 5);
      // Waiting (bounded) is not hanging: keep the heartbeat, so the watchdog names the device
      // that stopped, not this vCPU waiting for it.
      this.stats[STAT.HEARTBEAT]++;
      if (this.stopped()) return false;
    }
    return true;
  }

  /** Completion n: verify its payload, unmap, recycle its buffer. */
  private finish(n: number): void {
    const { comp, stats } = this;
    const gfn = comp.peek(n, COMP.GFN);
    const pages = comp.peek(n, COMP.PAGES);
    const stamp = comp.peek(n, COMP.STAMP);
    const dma = comp.peek(n, COMP.DMA);
    if (pages < 0) return this.repost(gfn, -pages, dma);
    for (let k = 0; k < pages; k++) {
      if (readStamp(this.mem, this.m, gfn + k) !== stamp) this.oracle.report('lostPayloads', gfn + k, -1, DETAIL.badPayload);
    }
    this.policy.unmap(dma, gfn, pages);
    this.unmapLog?.record(dma);
    stats[STAT.UNMAPS]++;
    stats[STAT.DMA_OPS]++;
    this.lastStamp.set(gfn, stamp);
    this.inflight--;
    if (this.inRegion(gfn)) this.pushFree(gfn);
  }

  /**
   * The device dropped this buffer's packet on an I/O page fault (iopf, --fault-mode drop): unmap
   * it and post it again first (the sender retransmits); it still counts towards --ops only once
   * delivered. Its contents are undefined (pages before the fault were written).
   */
  private repost(gfn: number, pages: number, dma: number): void {
    this.policy.unmap(dma, gfn, pages);
    this.stats[STAT.REPOSTS]++;
    this.lastStamp.delete(gfn);
    this.inflight--;
    this.quotaLeft++;
    if (!this.inRegion(gfn)) return;
    this.freeHead = (this.freeHead - 1 + this.poolBuffers) % this.poolBuffers;
    this.free[this.freeHead] = gfn;
    this.freeCount++;
  }

  nextEventNs(): number {
    // a rotation already due happens at the next post (never while draining): not an event to wait for
    const due = this.cfg.rotateMs > 0 ? (this.lastRotate + this.cfg.rotateMs) * 1e6 : Infinity;
    const rotate = due > this.clock.now ? due : Infinity;
    if (this.inflight === 0) return rotate;
    if (this.comp.available() === 0) return Number.NaN;
    return Math.min(rotate, this.m.compVt[this.vtBase + this.comp.indexOf(0)]);
  }

  /** A buffer mapped again must still hold what it held when it was unmapped (reclaim + restore). */
  private checkUnchanged(gfn: number): void {
    const want = this.lastStamp.get(gfn);
    if (want === undefined) return;
    for (let k = 0; k < this.cfg.bufferPages; k++)
      if (readStamp(this.mem, this.m, gfn + k) !== want) this.oracle.report('lostPayloads', gfn + k, -1, DETAIL.contentsChanged);
  }

  /** Nothing to do: spin briefly on the completion ring, then park on it. */
  idle(sliceMs: number): void {
    const bell = this.comp.published;
    const tail = bell.value();
    if (bell.spin(tail, this.spinUs)) return;
    bell.awaitChange(tail, sliceMs);
  }
}
