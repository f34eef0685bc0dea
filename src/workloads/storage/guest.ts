// The `storage` workload, guest driver half: an NVMe-like driver with one submission and one
// completion queue per vCPU. Each request reads or writes one io-size block of a file whose pages
// sit in the page cache as shuffled extents, so its buffer is a scatter-gather list; it is mapped
// as one list, the device does its DMA, and the completion unmaps it.
import type { WorkloadGuest, WorkloadGuestContext } from '../workload.js';
import { maxSegments, type StorageConfig } from './config.js';
import { blockChooser, PageCache, type BlockChooser } from './locality.js';
import { seededRandom } from '../../core/random.js';
import { SgDriver } from './sg-driver.js';
import { toSegments, type SgRequest } from './sg-ring.js';

export class StorageGuest implements WorkloadGuest {
  private readonly driver: SgDriver;
  private readonly cache: PageCache;
  private readonly blocks: number;
  private readonly choose: BlockChooser;
  private readonly rnd: () => number;
  /** Blocks with a request in flight: the page cache locks a page under I/O. */
  private readonly busy = new Set<number>();
  private readonly pageList: Int32Array;
  private readonly segs: number;
  private quotaLeft: number;
  private seq = 0;

  constructor(
    private readonly ctx: WorkloadGuestContext,
    private readonly cfg: StorageConfig,
  ) {
    const { m, vcpu } = ctx;
    this.driver = new SgDriver(ctx);
    const share = Math.floor(m.spec.guestPages / m.spec.vcpus);
    const ws = Math.floor(cfg.workingSetPages / m.spec.vcpus);
    const seed = (ctx.cfg.seed * 31 + vcpu) | 0;
    this.cache = new PageCache(vcpu * share, ws, cfg.extentPages, seed);
    this.blocks = Math.max(1, Math.floor(this.cache.pages / cfg.ioPages));
    this.choose = blockChooser(cfg.locality, this.blocks, seed ^ 0x5bd1e995);
    this.rnd = seededRandom(seed ^ 0x27d4eb2d);
    this.pageList = new Int32Array(cfg.ioPages);
    this.segs = maxSegments(cfg);
    this.quotaLeft = ctx.quota;
  }

  get inflight(): number {
    return this.driver.posted;
  }

  get quotaDone(): boolean {
    return this.quotaLeft <= 0;
  }

  post(): number {
    let n = 0;
    while (this.quotaLeft > 0 && this.driver.posted < this.cfg.queueDepth && this.driver.hasRoom(this.segs)) {
      const block = this.freeBlock();
      if (block < 0) break;
      if (!this.driver.post(this.request(block))) break;
      this.busy.add(block);
      this.quotaLeft--;
      n++;
    }
    if (n > 0) this.driver.publish();
    return n;
  }

  /** A block with no request in flight, or -1 (a few tries: a hot zipf block may stay busy). */
  private freeBlock(): number {
    for (let tries = 0; tries < 8; tries++) {
      const b = this.choose();
      if (!this.busy.has(b)) return b;
    }
    return -1;
  }

  /** The request for block b: its pages' scatter-gather list, read or write. */
  private request(b: number): SgRequest {
    const io = this.cfg.ioPages;
    for (let k = 0; k < io; k++) this.pageList[k] = this.cache.gfn(b * io + k);
    const req: SgRequest = { gfns: [], pages: [], dmas: [], dir: 'FROM_DEVICE', stamp: 0, noVerify: false, done: false, completed: 0, tag: b };
    toSegments(this.pageList, io, req.gfns, req.pages);
    // a read: the device writes guest memory (FROM_DEVICE); a write: it reads it (TO_DEVICE)
    req.dir = this.rnd() * 100 < this.cfg.readPercent ? 'FROM_DEVICE' : 'TO_DEVICE';
    this.seq = (this.seq + 1) & 0x3ffffff || 1;
    req.stamp = (this.ctx.vcpu << 26) | this.seq;
    return req;
  }

  reap(): number {
    return this.driver.reap((req) => {
      this.driver.unmap(req);
      this.busy.delete(req.tag);
    });
  }

  idle(sliceMs: number): void {
    this.driver.idle(sliceMs);
  }

  nextEventNs(): number {
    return this.driver.nextCompletionNs();
  }
}
