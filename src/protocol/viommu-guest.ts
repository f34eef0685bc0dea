// Emulated VT-d in caching mode, guest side (DESIGN 1.2): the driver writes its IO page table and,
// because the host learns of new mappings only through invalidations, every map also submits one.
// Three teardown policies share the map path:
//   strict     - unmap clears the entries and waits for the invalidation: 2 submissions per buffer;
//   lazy       - unmap clears the entries and parks the IOVA in a flush queue, flushed as one batch
//                at flushQueueEntries entries or flushTimeoutMs, whichever first (Linux's deferred
//                flush; Linux forces strict mode in caching-mode guests, so this is a what-if);
//   optimistic - unmap leaves the mapping live for optimisticTimeoutMs, at most optimisticQuota of
//                them per vCPU; a re-map of the same buffer in that time reuses the live mapping and
//                costs no submission (vIOMMU, ATC'11 "optimistic teardown").
import type { Machine } from '../machine/machine.js';
import { STAT } from '../machine/layout.js';
import type { SharedMem } from '../machine/shared-mem.js';
import type { InvalidationQueue } from '../notify/invalidation-queue.js';
import type { ViommuConfig } from '../run/types.js';
import { ioPte } from './io-page-table.js';
import type { IovaAllocator } from './iova-allocator.js';
import type { GuestDmaPolicy } from './policy.js';

export type TeardownMode = 'strict' | 'lazy' | 'optimistic';

/** Told when a DMA address becomes mapped again (the protection oracle stops probing it). */
export interface AddressReuse {
  forget(dma: number): void;
}

interface Deferred {
  iova: number;
  pages: number;
  atMs: number;
}

export class ViommuGuest implements GuestDmaPolicy {
  private readonly one = new Int32Array(2);
  /** lazy: the flush queue, (iova, pages) pairs, and when its oldest entry was queued. */
  private fq: number[] = [];
  private fqOldestMs = 0;
  /** optimistic: stale-but-live mappings by first guest page, oldest first (Map keeps insertion order). */
  private readonly deferred = new Map<number, Deferred>();

  constructor(
    private readonly mem: SharedMem,
    private readonly m: Machine,
    private readonly queue: InvalidationQueue,
    private readonly iovas: IovaAllocator,
    readonly mode: TeardownMode,
    private readonly cfg: ViommuConfig,
    private readonly stats: Float64Array,
    private readonly reuse?: AddressReuse,
    private readonly now: () => number = () => performance.now(),
  ) {}

  map(gfn: number, n: number): number {
    if (this.mode === 'optimistic') {
      const d = this.deferred.get(gfn);
      if (d && d.pages === n) {
        // Still mapped in the guest table and in the host's shadow: nothing to tell the host.
        this.deferred.delete(gfn);
        this.stats[STAT.DEFERRED_HITS]++;
        this.reuse?.forget(d.iova);
        return d.iova;
      }
      if (d) this.teardownDeferred(gfn);
    }
    let iova = this.iovas.alloc(n);
    // IOVA space exhausted: what is deferred goes back first (Linux flushes its queue the same way)
    if (iova < 0 && this.releaseDeferred()) iova = this.iovas.alloc(n);
    if (iova < 0) {
      this.stats[STAT.MAP_FAILURES]++;
      return -1;
    }
    this.reuse?.forget(iova); // before the mapping can be live again
    for (let p = 0; p < n; p++) this.mem.store(this.m.iopt, iova + p, ioPte(gfn + p));
    this.submitOne(iova, n); // caching mode: a new mapping needs an invalidation too
    return iova;
  }

  unmap(iova: number, gfn: number, n: number): void {
    switch (this.mode) {
      case 'strict':
        this.clear(iova, n);
        this.submitOne(iova, n);
        this.iovas.free(iova, n);
        return;
      case 'lazy':
        this.clear(iova, n);
        if (this.fq.length === 0) this.fqOldestMs = this.now();
        this.fq.push(iova, n);
        if (this.fq.length / 2 >= this.cfg.flushQueueEntries) this.flushQueue();
        return;
      case 'optimistic':
        // One stale mapping per buffer: a second mapping of the same pages replaces the first one
        if (this.deferred.has(gfn)) this.teardownDeferred(gfn);
        this.deferred.set(gfn, { iova, pages: n, atMs: this.now() });
        while (this.deferred.size > this.cfg.optimisticQuota) this.teardownDeferred(this.deferred.keys().next().value!);
        return;
    }
  }

  /** Timers: the lazy flush queue's timeout, optimistic teardown's time limit. */
  poll(): void {
    const t = this.now();
    if (this.mode === 'lazy') {
      if (this.fq.length > 0 && t - this.fqOldestMs >= this.cfg.flushTimeoutMs) this.flushQueue();
    } else if (this.mode === 'optimistic') {
      const expired: number[] = [];
      for (const [gfn, d] of this.deferred) {
        if (t - d.atMs < this.cfg.optimisticTimeoutMs) break; // oldest first
        expired.push(gfn);
      }
      if (expired.length > 0) this.teardownBatch(expired);
    }
  }

  /** Tear down everything deferred (the driver is stopping). */
  drain(): void {
    this.releaseDeferred();
  }

  /** Unmaps the host has not been told about yet (flush queue or stale mappings). */
  pendingTeardowns(): number {
    return this.mode === 'lazy' ? this.fq.length / 2 : this.deferred.size;
  }

  private clear(iova: number, n: number): void {
    for (let p = 0; p < n; p++) this.mem.store(this.m.iopt, iova + p, 0);
  }

  private submitOne(iova: number, n: number): void {
    this.one[0] = iova;
    this.one[1] = n;
    this.queue.submit(this.one, 1);
  }

  private flushQueue(): void {
    const fq = this.fq;
    if (fq.length === 0) return;
    this.queue.submit(fq, fq.length / 2); // one wait descriptor for the whole batch
    for (let k = 0; k < fq.length; k += 2) this.iovas.free(fq[k], fq[k + 1]);
    this.fq = [];
  }

  private teardownDeferred(gfn: number): void {
    this.teardownBatch([gfn]);
  }

  private teardownBatch(gfns: number[]): void {
    const ranges: number[] = [];
    for (const g of gfns) {
      const d = this.deferred.get(g)!;
      this.deferred.delete(g);
      this.clear(d.iova, d.pages);
      ranges.push(d.iova, d.pages);
    }
    this.queue.submit(ranges, ranges.length / 2);
    for (let k = 0; k < ranges.length; k += 2) this.iovas.free(ranges[k], ranges[k + 1]);
  }

  /** Tear down every deferred unmap (lazy: the flush queue; optimistic: the stale mappings). */
  private releaseDeferred(): boolean {
    if (this.mode === 'lazy') {
      if (this.fq.length === 0) return false;
      this.flushQueue();
      return true;
    }
    if (this.deferred.size === 0) return false;
    this.teardownBatch([...this.deferred.keys()]);
    return true;
  }
}
