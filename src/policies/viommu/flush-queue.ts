// Lazy teardown (Linux's deferred flush, `iova_fq`): unmap clears the entries and parks the IOVA
// in a flush queue, flushed as one batch at flushQueueEntries entries or flushTimeoutMs, whichever
// first. Linux forces strict mode in caching-mode guests, so under a vIOMMU this is a what-if.
import type { Teardown, ViommuIo } from './teardown.js';

export class FlushQueue implements Teardown {
  /** (iova, pages) pairs, and when the oldest was queued. */
  private fq: number[] = [];
  private oldestMs = 0;

  constructor(
    private readonly io: ViommuIo,
    private readonly entries: number,
    private readonly timeoutMs: number,
    private readonly now: () => number,
  ) {}

  reuse(): number {
    return -1;
  }

  unmap(iova: number, _gfn: number, n: number): void {
    this.io.clear(iova, n);
    if (this.fq.length === 0) this.oldestMs = this.now();
    this.fq.push(iova, n);
    if (this.fq.length / 2 >= this.entries) this.release();
  }

  nextDeadlineMs(): number {
    return this.fq.length > 0 ? this.oldestMs + this.timeoutMs : Infinity;
  }

  poll(): void {
    if (this.fq.length > 0 && this.now() - this.oldestMs >= this.timeoutMs) this.release();
  }

  /** Flush: one wait descriptor for the whole batch. */
  release(): boolean {
    if (this.fq.length === 0) return false;
    const fq = this.fq;
    this.fq = [];
    this.io.submitAndFree(fq);
    return true;
  }

  pending(): number {
    return this.fq.length / 2;
  }
}
