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
import { descriptorPagesOf, flowBuffersOf, txBuffersOf, type NetConfig } from './config.js';
import { BufferPool } from './buffer-pool.js';
import { setAwaits } from './link.js';
import type { GuestClock } from '../../core/virtual-time.js';

/** Descriptor: [dma page, guest page, pages, stamp]. Completion: [guest page, pages, stamp, dma page]. */
export const DESC = { DMA: 0, GFN: 1, PAGES: 2, STAMP: 3 } as const;
export const COMP = { GFN: 0, PAGES: 1, STAMP: 2, DMA: 3 } as const;
/** STAMP bit of a Tx acknowledgement (vCPU in bits 26..28, sequence below). */
export const TX_ACK = 1 << 29;

export class NetGuest implements WorkloadGuest {
  private readonly desc: SpscRing;
  private readonly comp: SpscRing;
  /** The descriptor being posted, by DESC field. */
  private readonly entry = new Int32Array(RING.ENTRY_WORDS);
  /** One buffer pool per flow (free buffers oldest first: the reuse distance), taken in turn. */
  private readonly pools: BufferPool[] = [];
  private nextFlow = 0;
  /** Tx ack buffers, and the acks owed for receive descriptors already reaped. */
  private readonly tx?: BufferPool;
  private acksOwed = 0;
  /** Guest pages per receive descriptor. */
  private readonly descPages: number;
  /** --arrival link: the link, not the driver, paces the packets. */
  private readonly linkArrival: boolean;
  /** Completions reaped so far (absolute: the device's pacing reads which one a blocked vCPU awaits). */
  private reapedTotal = 0;
  /**
   * Per buffer (by first page, from this vCPU's share's start): the stamp it held when it was
   * unmapped (0: none), to catch lost contents. A typed array sized by the share, not a Map that
   * grows by one entry per buffer as the pool rotates over guest memory (a long run's RSS).
   */
  private readonly lastStamp: Int32Array;
  private readonly stampBase: number;
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
    this.descPages = descriptorPagesOf(cfg);
    this.linkArrival = cfg.arrival === 'link';
    this.wireNs = (cfg.packetBytes * cfg.descriptorPages * 8 * m.spec.vcpus) / cfg.lineRateGbps;
    this.vtBase = vcpu * m.spec.ringEntries;
    this.quotaLeft = ctx.quota;
    this.stopped = ctx.stopped;
    this.lastRotate = this.nowMs();
    this.desc = new SpscRing(mem, m.descRing(vcpu), m.spec.ringEntries);
    this.comp = new SpscRing(mem, m.compRing(vcpu), m.spec.ringEntries);
    // this vCPU's memory: one stretch per flow, then the Tx ack buffers
    const share = Math.floor(m.spec.guestPages / m.spec.vcpus);
    const lo = vcpu * share;
    this.stampBase = lo;
    this.lastStamp = new Int32Array(share);
    const txPages = txBuffersOf(cfg);
    const stretch = Math.floor((share - txPages) / cfg.flows);
    for (let f = 0; f < cfg.flows; f++) this.pools.push(new BufferPool(lo + f * stretch, lo + (f + 1) * stretch, flowBuffersOf(cfg), this.descPages));
    if (txPages > 0) this.tx = new BufferPool(lo + share - txPages, lo + share, txPages, 1);
  }

  /** The pool a buffer belongs to. */
  private poolOf(gfn: number, tx: boolean): BufferPool | undefined {
    return tx ? this.tx : this.pools.find((p) => p.owns(gfn));
  }

  /** The next flow with a free buffer, in turn (the flows interleave at the device); -1: none. */
  private pickFlow(): number {
    for (let k = 0; k < this.pools.length; k++) {
      const f = (this.nextFlow + k) % this.pools.length;
      if (this.pools[f].freeCount > 0) {
        this.nextFlow = (f + 1) % this.pools.length;
        return f;
      }
    }
    return -1;
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
      for (const p of this.pools) p.rotate(); // in-flight buffers of the old stretches retire when done
    }
    let n = this.postAcks();
    while (n < cfg.batch && this.quotaLeft > 0 && this.inflight < cfg.queueDepth && this.desc.space() > 0) {
      const f = this.pickFlow();
      if (f < 0 || !this.postOne(this.pools[f], false)) break;
      n++;
    }
    if (n > 0) {
      this.desc.publish();
      if (this.device.kick()) stats[STAT.DEVICE_KICKS]++;
    }
    return n;
  }

  /** Tx acks owed for reaped descriptors, while ack buffers and ring slots last. */
  private postAcks(): number {
    let n = 0;
    while (this.tx && this.acksOwed > 0 && this.tx.freeCount > 0 && this.desc.space() > 0 && n < this.cfg.batch) {
      if (!this.postOne(this.tx, true)) break;
      this.acksOwed--;
      n++;
    }
    return n;
  }

  /** Map one free buffer of `pool` and put its descriptor on the ring; false if the map failed. */
  private postOne(pool: BufferPool, ack: boolean): boolean {
    const { stats, clock } = this;
    const pages = pool.pagesPerBuffer;
    const gfn = pool.take();
    if (this.identityDma) this.unmapLog?.forget(gfn); // mapped again: no longer an unmapped address
    const t0 = performance.now();
    const v0 = clock.now;
    const dma = this.policy.map(gfn, pages);
    this.mapLatency.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1e6)));
    this.mapVirtual.recordValue(Math.max(1, Math.round(clock.now - v0)));
    stats[STAT.MAPS]++;
    if (dma < 0) {
      pool.push(gfn);
      return false;
    }
    this.checkUnchanged(gfn, pages);
    this.seq = (this.seq + 1) & 0x3ffffff;
    if (this.seq === 0) this.seq = 1;
    const e = this.entry;
    e[DESC.DMA] = dma;
    e[DESC.GFN] = gfn;
    e[DESC.PAGES] = pages;
    e[DESC.STAMP] = (this.vcpu << 26) | this.seq | (ack ? TX_ACK : 0);
    if (!ack && !this.linkArrival) clock.advance(this.wireNs); // the packets' time on the wire paces the driver
    this.m.descVt[this.vtBase + this.desc.nextIndex()] = clock.now;
    this.desc.put(e);
    this.inflight++;
    if (!ack) this.quotaLeft--;
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
    setAwaits(this.m, this.vcpu, this.reapedTotal + 1); // the n before it are reaped (counted) already
    try {
      return this.awaitAvailable(n, bell);
    } finally {
      setAwaits(this.m, this.vcpu, 0);
    }
  }

  private awaitAvailable(n: number, bell: Doorbell): boolean {
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
    const ack = (stamp & TX_ACK) !== 0;
    if (!ack) stats[STAT.DMA_OPS]++;
    if (!ack && this.tx) this.acksOwed++;
    this.reapedTotal++;
    this.lastStamp[gfn - this.stampBase] = stamp;
    this.inflight--;
    const pool = this.poolOf(gfn, ack);
    if (pool?.inRegion(gfn)) pool.push(gfn);
  }

  /**
   * The device dropped this buffer's packet on an I/O page fault (iopf, --fault-mode drop): unmap
   * it and post it again first (the sender retransmits); it still counts towards --ops only once
   * delivered. Its contents are undefined (pages before the fault were written).
   */
  private repost(gfn: number, pages: number, dma: number): void {
    this.policy.unmap(dma, gfn, pages);
    this.stats[STAT.REPOSTS]++;
    this.lastStamp[gfn - this.stampBase] = 0;
    this.inflight--;
    this.quotaLeft++;
    const pool = this.pools.find((p) => p.owns(gfn)) ?? this.tx;
    if (pool?.inRegion(gfn)) pool.unshift(gfn);
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
  private checkUnchanged(gfn: number, pages: number): void {
    const want = this.lastStamp[gfn - this.stampBase];
    if (want === 0) return; // never unmapped yet (a stamp is never 0)
    for (let k = 0; k < pages; k++)
      if (readStamp(this.mem, this.m, gfn + k) !== want) this.oracle.report('lostPayloads', gfn + k, -1, DETAIL.contentsChanged);
  }

  /** Nothing to do: spin briefly on the completion ring, then park on it. */
  idle(sliceMs: number): void {
    const bell = this.comp.published;
    const tail = bell.value();
    if (bell.spin(tail, this.spinUs)) return;
    setAwaits(this.m, this.vcpu, this.reapedTotal + this.comp.available() + 1);
    bell.awaitChange(tail, sliceMs);
    setAwaits(this.m, this.vcpu, 0);
  }
}
