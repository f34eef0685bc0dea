// The `trace` workload, guest driver half: each vCPU replays the map and unmap events of the CPUs
// folded onto it (CPU c -> vCPU c mod vCPUs), at the trace's times on the virtual clock (scaled by
// --trace-speed, or as fast as it goes). A map becomes a scatter-gather request: its physical
// pages folded into the vCPU's share of guest memory (guest page = share start + page frame
// number mod share), mapped through the policy, DMAed by the device in the event's direction;
// the unmap waits for that DMA, checks it and unmaps. Every vCPU reads the whole trace (so an
// unmap on another CPU still finds its map) and acts on its own buffers only.
import type { WorkloadGuest, WorkloadGuestContext } from '../workload.js';
import { SgDriver } from '../storage/sg-driver.js';
import { toSegments, type SgRequest } from '../storage/sg-ring.js';
import type { TraceEvent } from './event.js';
import { TraceLedger, type LiveBuffer } from './ledger.js';
import { TraceStream } from './stream.js';
import { speedOf, type TraceConfig } from './config.js';

/** The most of one buffer a replay DMAs: 16 MiB, 256 segments (the ring holds 512 entries). */
export const MAX_BUFFER_PAGES = 4096;

export class TraceGuest implements WorkloadGuest {
  private readonly driver: SgDriver;
  private readonly stream: TraceStream;
  private readonly ledger = new TraceLedger();
  /** Requests of this vCPU's live buffers, by tag. */
  private readonly reqs = new Map<number, SgRequest>();
  /** Live buffers of this vCPU per guest page: a page shared by two live buffers is not checked. */
  private readonly pageRefs = new Map<number, number>();
  private nextTag = 0;
  private cur: TraceEvent | undefined;
  private curTime = 0;
  private t0 = NaN;
  private exhausted = false;
  private readonly speed: number;
  private readonly share: number;
  private readonly base: number;
  private readonly wallStart = performance.now();
  private quotaLeft: number;
  private seq = 0;
  /** Why the current event waits: its time, or the DMA of a buffer it unmaps / a full ring. */
  private waitingOnDevice = false;
  private readonly pageBuf: number[] = [];

  constructor(
    private readonly ctx: WorkloadGuestContext,
    cfg: TraceConfig,
  ) {
    this.driver = new SgDriver(ctx);
    this.stream = new TraceStream(cfg.file, cfg.skipBad === 'on');
    this.speed = speedOf(cfg);
    this.share = Math.floor(ctx.m.spec.guestPages / ctx.m.spec.vcpus);
    this.base = ctx.vcpu * this.share;
    this.quotaLeft = ctx.quota;
  }

  get quotaDone(): boolean {
    return this.exhausted || this.quotaLeft <= 0;
  }

  get inflight(): number {
    return this.driver.posted + this.reqs.size;
  }

  private mine(cpu: number): boolean {
    return cpu % this.ctx.m.spec.vcpus === this.ctx.vcpu;
  }

  /** The event's time on the replay's clock, ns (0 for all at --trace-speed max). */
  private dueNs(t: number): number {
    return Number.isFinite(this.speed) ? ((t - this.t0) * 1e9) / this.speed : 0;
  }

  private nowNs(): number {
    return this.ctx.virtual ? this.ctx.clock.now : (performance.now() - this.wallStart) * 1e6;
  }

  /** The next event to act on, read from the trace when the last one is done. */
  private peek(): TraceEvent | undefined {
    if (this.cur || this.exhausted) return this.cur;
    this.cur = this.stream.next();
    if (!this.cur) {
      this.exhausted = true;
      return undefined;
    }
    this.curTime = this.ledger.time(this.cur);
    if (Number.isNaN(this.t0)) this.t0 = this.curTime;
    return this.cur;
  }

  post(): number {
    let n = 0;
    this.waitingOnDevice = false;
    for (let e = this.peek(); e && this.quotaLeft > 0; e = this.peek()) {
      if (this.dueNs(this.curTime) > this.nowNs()) break;
      const done = e.kind === 'map' ? this.map(e) : this.unmap(e);
      if (!done) {
        this.waitingOnDevice = true;
        break;
      }
      this.cur = undefined;
      if (e.kind === 'map' && this.mine(e.cpu)) n++;
    }
    if (n > 0) this.driver.publish();
    return n;
  }

  /** A map event; false if it must wait (its address's old buffer still in DMA, or the ring full). */
  private map(e: TraceEvent): boolean {
    const old = this.ledger.findMapped(e);
    if (old && old.tag >= 0 && !this.reqs.get(old.tag)!.done) return false;
    const req = this.mine(e.cpu) ? this.request(e) : undefined;
    if (req && !this.driver.hasRoom(req.gfns.length)) return false;
    const { added, replaced } = this.ledger.map(e, this.curTime);
    if (replaced && replaced.tag >= 0) this.finish(replaced);
    if (!req) return true;
    this.quotaLeft--;
    if (!this.driver.post(req)) return true; // the map failed (counted by the policy): nothing to DMA
    added.tag = req.tag;
    this.reqs.set(req.tag, req);
    return true;
  }

  /** The request for a map of ours: its pages folded into this vCPU's share of guest memory. */
  private request(e: TraceEvent): SgRequest {
    const pages = this.ledger.pagesOf(e, this.pageBuf);
    if (pages.length > MAX_BUFFER_PAGES) pages.length = MAX_BUFFER_PAGES; // a huge buffer: its first 16 MiB
    let shared = false;
    for (let i = 0; i < pages.length; i++) {
      pages[i] = this.base + (pages[i] % this.share);
      if ((this.pageRefs.get(pages[i]) ?? 0) > 0) shared = true;
    }
    const req: SgRequest = { gfns: [], pages: [], dmas: [], dir: e.dir === 'TO_DEVICE' ? 'TO_DEVICE' : 'FROM_DEVICE', stamp: 0, noVerify: shared, done: false, completed: 0, tag: this.nextTag++ };
    toSegments(pages, pages.length, req.gfns, req.pages);
    this.seq = (this.seq + 1) & 0x3ffffff || 1;
    req.stamp = (this.ctx.vcpu << 26) | this.seq;
    for (const g of pages) this.pageRefs.set(g, (this.pageRefs.get(g) ?? 0) + 1);
    return req;
  }

  /** An unmap event; false if it must wait for its buffer's DMA. */
  private unmap(e: TraceEvent): boolean {
    const b = this.ledger.find(e);
    if (b && b.tag >= 0 && !this.reqs.get(b.tag)!.done) return false;
    this.ledger.unmap(e);
    if (b && b.tag >= 0) this.finish(b);
    return true;
  }

  /** Unmap a buffer of ours whose DMA is done. */
  private finish(b: LiveBuffer): void {
    const req = this.reqs.get(b.tag)!;
    this.reqs.delete(b.tag);
    b.tag = -1;
    this.driver.unmap(req);
    for (let s = 0; s < req.gfns.length; s++)
      for (let k = 0; k < req.pages[s]; k++) {
        const g = req.gfns[s] + k;
        const left = (this.pageRefs.get(g) ?? 1) - 1;
        if (left > 0) this.pageRefs.set(g, left);
        else this.pageRefs.delete(g);
      }
  }

  reap(): number {
    const n = this.driver.reap(() => {});
    // the trace is over (or the run stops): what it left mapped is unmapped once its DMA is done
    if (this.quotaDone || this.ctx.stopped()) for (const b of [...this.ledger.live.values()]) if (b.tag >= 0 && this.reqs.get(b.tag)!.done) this.finish(b);
    return n;
  }

  idle(sliceMs: number): void {
    this.driver.idle(sliceMs);
  }

  nextEventNs(): number {
    const dma = this.driver.nextCompletionNs();
    if (this.waitingOnDevice || !this.cur || this.quotaLeft <= 0) return dma;
    return Math.min(dma, this.dueNs(this.curTime));
  }
}
