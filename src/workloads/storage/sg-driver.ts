// The guest half of a scatter-gather queue, shared by the storage and trace workloads: it maps a
// request's segments through the DMA policy as one list (in order, each segment one map), fills
// the buffer when the device is to read it, posts one descriptor per segment, reaps completions in
// order, checks the data, and unmaps the list again. The oracle sees every step: the device's
// accesses (both directions) are checked by the DMA engine, the data by this driver.
import type { DmaDirection, GuestDmaPolicy } from '../../core/guest-dma-policy.js';
import { DETAIL, type Oracle } from '../../core/oracle.js';
import type { UnmapLog } from '../../core/protection.js';
import type { GuestClock } from '../../core/virtual-time.js';
import { RING, STAT } from '../../machine/layout.js';
import type { Machine } from '../../machine/machine.js';
import type { SharedMem } from '../../machine/shared-mem.js';
import { readStamp } from '../../mem/payload.js';
import { deviceDoorbell } from '../../notify/delivery.js';
import type { Doorbell } from '../../notify/doorbell.js';
import { SpscRing } from '../../notify/ring.js';
import type { WorkloadGuestContext } from '../workload.js';
import { guestWrite } from './guest-data.js';
import { SG_COMP, SG_DESC, SG_FLAG, deviceReads, type SgRequest } from './sg-ring.js';

export class SgDriver {
  private readonly desc: SpscRing;
  private readonly comp: SpscRing;
  private readonly entry = new Int32Array(RING.ENTRY_WORDS);
  private readonly fifo: SgRequest[] = [];
  private readonly mem: SharedMem;
  private readonly m: Machine;
  private readonly policy: GuestDmaPolicy;
  private readonly stats: Float64Array;
  private readonly oracle: Oracle;
  private readonly unmapLog?: UnmapLog;
  private readonly identityDma: boolean;
  private readonly bell: Doorbell;
  private readonly clock: GuestClock;
  private readonly vtBase: number;
  /** What each page held when it was last unmapped (0: unknown), to catch contents lost meanwhile. */
  private readonly lastStamp = new Map<number, number>();
  readonly virtual: boolean;
  private readonly spinUs: number;
  private readonly stopped: () => boolean;

  constructor(private readonly ctx: WorkloadGuestContext) {
    const { mem, m, vcpu } = ctx;
    this.mem = mem;
    this.m = m;
    this.policy = ctx.policy;
    this.stats = ctx.stats;
    this.oracle = ctx.oracle;
    this.unmapLog = ctx.unmapLog;
    this.identityDma = ctx.identityDma;
    this.clock = ctx.clock;
    this.virtual = ctx.virtual;
    this.spinUs = ctx.cfg.notifyPath.spinUs;
    this.stopped = ctx.stopped;
    this.bell = deviceDoorbell(mem, m);
    this.vtBase = vcpu * m.spec.ringEntries;
    this.desc = new SpscRing(mem, m.descRing(vcpu), m.spec.ringEntries);
    this.comp = new SpscRing(mem, m.compRing(vcpu), m.spec.ringEntries);
  }

  /** Requests posted whose DMA has not been reaped. */
  get posted(): number {
    return this.fifo.length;
  }

  /** Room on the ring for a request of `segments` segments. */
  hasRoom(segments: number): boolean {
    return this.desc.space() >= segments;
  }

  /**
   * Map the request's list, fill it if the device reads it, and put its descriptors on the ring
   * (published by publish()). False if a map failed: what was mapped is unmapped again.
   */
  post(req: SgRequest): boolean {
    const { stats, clock } = this;
    const t0 = performance.now();
    const v0 = clock.now;
    if (!this.mapList(req)) return false;
    this.ctx.mapLatency.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1e6)));
    this.ctx.mapVirtualLatency.recordValue(Math.max(1, Math.round(clock.now - v0)));
    this.prepare(req);
    for (let s = 0; s < req.gfns.length; s++) this.put(req, s);
    req.completed = 0;
    req.done = false;
    this.fifo.push(req);
    return true;
  }

  /** Map the list: as one when the policy can (mapSg), else segment by segment. */
  private mapList(req: SgRequest): boolean {
    const { policy, stats } = this;
    req.dmas.length = 0;
    if (this.identityDma) for (const g of req.gfns) this.unmapLog?.forget(g); // mapped again: no longer an unmapped address
    stats[STAT.MAPS] += req.gfns.length;
    if (policy.mapSg) return policy.mapSg(req.gfns, req.pages, req.dmas, req.dir);
    for (let s = 0; s < req.gfns.length; s++) {
      const dma = policy.map(req.gfns[s], req.pages[s], req.dir);
      if (dma < 0) {
        this.unmapSegments(req, s);
        return false;
      }
      req.dmas.push(dma);
    }
    return true;
  }

  /** Check what the pages held since their last unmap; write the data the device is to read. */
  private prepare(req: SgRequest): void {
    const reads = deviceReads(req.dir);
    for (let s = 0; s < req.gfns.length; s++) {
      for (let k = 0; k < req.pages[s]; k++) {
        const g = req.gfns[s] + k;
        if (!req.noVerify) this.checkUnchanged(g);
        if (reads && !req.noVerify && !guestWrite(this.mem, this.m, g, req.stamp)) this.oracle.report('accounting', g, -1, DETAIL.dataPoolExhausted);
      }
    }
  }

  private put(req: SgRequest, s: number): void {
    const e = this.entry;
    let flags = req.pages[s];
    if (deviceReads(req.dir)) flags |= SG_FLAG.DEVICE_READS;
    if (s === 0) flags |= SG_FLAG.FIRST;
    if (s === req.gfns.length - 1) flags |= SG_FLAG.LAST;
    if (req.noVerify) flags |= SG_FLAG.NO_VERIFY;
    e[SG_DESC.DMA] = req.dmas[s];
    e[SG_DESC.GFN] = req.gfns[s];
    e[SG_DESC.FLAGS] = flags;
    e[SG_DESC.STAMP] = req.stamp;
    this.m.descVt[this.vtBase + this.desc.nextIndex()] = this.clock.now;
    this.desc.put(e);
  }

  /** Make the posted descriptors visible and kick the device if it sleeps. */
  publish(): void {
    this.desc.publish();
    if (this.bell.kick()) this.stats[STAT.DEVICE_KICKS]++;
  }

  /**
   * Reap completions done by the vCPU's time (virtual clock: in order, waiting for the device when
   * the oldest may be due); a request whose last segment is reaped is checked and handed to
   * `onDone`. Returns segments reaped.
   */
  reap(onDone: (req: SgRequest) => void): number {
    const { comp } = this;
    let n = 0;
    for (;;) {
      if (n === comp.available()) {
        if (!this.virtual || this.fifo.length === 0 || !this.awaitCompletion(n)) break;
      }
      if (this.virtual && this.m.compVt[this.vtBase + comp.indexOf(n)] > this.clock.now) break;
      const flags = comp.peek(n++, SG_COMP.FLAGS);
      const req = this.fifo[0];
      req.completed++;
      if ((flags & SG_FLAG.LAST) === 0) continue;
      this.fifo.shift();
      this.verify(req);
      req.done = true;
      onDone(req);
    }
    if (n > 0) comp.release(n);
    return n;
  }

  /** The device wrote the buffer: every page must hold the request's payload. */
  private verify(req: SgRequest): void {
    if (req.noVerify || deviceReads(req.dir)) return; // a device read is checked by the device
    for (let s = 0; s < req.gfns.length; s++)
      for (let k = 0; k < req.pages[s]; k++) {
        const g = req.gfns[s] + k;
        if (readStamp(this.mem, this.m, g) !== req.stamp) this.oracle.report('lostPayloads', g, -1, DETAIL.badPayload);
      }
  }

  /** Unmap a done request's list; the pages' contents are remembered for the next map. */
  unmap(req: SgRequest): void {
    this.unmapSegments(req, req.gfns.length);
    this.stats[STAT.DMA_OPS]++;
    if (req.noVerify) return;
    for (let s = 0; s < req.gfns.length; s++) for (let k = 0; k < req.pages[s]; k++) this.lastStamp.set(req.gfns[s] + k, req.stamp);
  }

  private unmapSegments(req: SgRequest, count: number): void {
    const { policy } = this;
    if (policy.unmapSg && count === req.gfns.length) policy.unmapSg(req.dmas, req.gfns, req.pages, req.dir);
    else for (let s = 0; s < count; s++) policy.unmap(req.dmas[s], req.gfns[s], req.pages[s], req.dir);
    for (let s = 0; s < count; s++) this.unmapLog?.record(req.dmas[s]);
    this.stats[STAT.UNMAPS] += count;
  }

  /** A page mapped again must still hold what it held when it was unmapped (reclaim + restore). */
  private checkUnchanged(g: number): void {
    const want = this.lastStamp.get(g);
    if (want !== undefined && readStamp(this.mem, this.m, g) !== want) this.oracle.report('lostPayloads', g, -1, DETAIL.contentsChanged);
  }

  /** Virtual time of the oldest posted request's next completion; NaN while not yet known. */
  nextCompletionNs(): number {
    if (this.fifo.length === 0) return Infinity;
    if (this.comp.available() === 0) return Number.NaN;
    return this.m.compVt[this.vtBase + this.comp.indexOf(0)];
  }

  /** Wait (this machine's time) until completion n exists; false if the run stops first. */
  private awaitCompletion(n: number): boolean {
    const bell = this.comp.published;
    while (this.comp.available() <= n) {
      if (bell.spin(bell.value(), this.spinUs)) continue;
      bell.awaitChange(bell.value(), 5);
      this.stats[STAT.HEARTBEAT]++; // waiting, not hanging: the watchdog names the device
      if (this.stopped()) return false;
    }
    return true;
  }

  /** Nothing to do: spin briefly on the completion ring, then park on it. */
  idle(sliceMs: number): void {
    const bell = this.comp.published;
    const tail = bell.value();
    if (bell.spin(tail, this.spinUs)) return;
    bell.awaitChange(tail, sliceMs);
  }
}
