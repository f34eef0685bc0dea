// How a vIOMMU guest tears a mapping down: strict (at once), through a flush queue (lazy), or
// optimistically (left live for a while in case the buffer comes back). Each is a small class
// behind one interface; the map path (guest.ts) is the same for all three.
import { SUBMIT, type InvalidationQueue } from '../../notify/invalidation-queue.js';
import { faultReaction } from '../../core/faults/hooks.js';
import type { SharedMem } from '../../machine/shared-mem.js';
import type { Machine } from '../../machine/machine.js';
import type { IovaAllocator } from './iova-allocator.js';
import { ioPte } from './io-page-table.js';
import { STAT } from '../../machine/layout.js';
import type { GuestClock } from '../../core/virtual-time.js';
import type { InvalidationStrategy } from './invalidation.js';

export type TeardownMode = 'strict' | 'lazy' | 'optimistic';

/** The guest's IO page table, invalidation queue and IOVA allocator, as teardown uses them. */
export class ViommuIo {
  private readonly one = new Int32Array(2);

  constructor(
    private readonly mem: SharedMem,
    private readonly m: Machine,
    private readonly queue: InvalidationQueue,
    readonly iovas: IovaAllocator,
    /** Virtual time: each IO page-table entry written or cleared costs ioPageTableCycles. */
    private readonly clock?: GuestClock,
    private readonly stats?: Float64Array,
    /**
     * linux: a descriptor (and a submission) per page; fands: one range per (un)map. Absent (a
     * guest half built without a scenario: tests, benchmarks): one range per (un)map, as before.
     */
    readonly strategy?: InvalidationStrategy,
  ) {}

  /** Write the IO page-table entries of [iova, iova + n) for guest pages [gfn, gfn + n). */
  write(iova: number, gfn: number, n: number): void {
    for (let p = 0; p < n; p++) this.mem.store(this.m.iopt, iova + p, ioPte(gfn + p));
    this.charge(n);
  }

  /** n IO page-table entries written or cleared: counted, and on the virtual clock. */
  private charge(n: number): void {
    if (this.stats) this.stats[STAT.PT_WRITES] += n;
    this.clock?.advanceCycles(n * this.clock.costs.ioPageTableCycles);
  }

  /** Clear the IO page-table entries of [iova, iova + n). */
  clear(iova: number, n: number): void {
    for (let p = 0; p < n; p++) this.mem.store(this.m.iopt, iova + p, 0);
    this.charge(n);
  }

  /**
   * Invalidate [iova, iova + n) with its wait descriptor (linux: page by page, a submission each).
   * A teardown cannot fail: a refused submission goes in again (Linux's qi_submit_sync restarts).
   */
  submitOne(iova: number, n: number): void {
    this.submitRange(iova, n, true);
  }

  /**
   * A new mapping's invalidation: false if a submission was refused or completed with an error
   * (the host could not pin a page). It stops at the first; the caller undoes the whole range.
   */
  submitMap(iova: number, n: number): boolean {
    return this.submitRange(iova, n, false);
  }

  private submitRange(iova: number, n: number, sure: boolean): boolean {
    if (n === 1 || !this.strategy?.submitEach) {
      const r = n === 1 || !this.strategy ? this.one : this.strategy.ranges(iova, n);
      this.one[0] = iova;
      this.one[1] = n;
      return this.send(r, r.length / 2, sure);
    }
    for (let p = 0; p < n; p++) {
      this.one[0] = iova + p;
      this.one[1] = 1;
      if (!this.send(this.one, 1, sure)) return false;
    }
    return true;
  }

  /** One submission; `sure`: a refusal is submitted again (and an error status is not the caller's to undo). */
  private send(ranges: ArrayLike<number>, n: number, sure: boolean): boolean {
    for (;;) {
      const r = this.queue.submit(ranges, n);
      if (r === SUBMIT.OK) return true;
      if (!sure) return false;
      if (r === SUBMIT.FAILED) return true;
      faultReaction('queue-error', 'resubmitted');
    }
  }

  /** Invalidate every (iova, pages) range with one wait descriptor, then give the IOVAs back. */
  submitAndFree(ranges: ArrayLike<number>): void {
    const descs: number[] = [];
    for (let k = 0; k < ranges.length; k += 2) descs.push(...(this.strategy?.ranges(ranges[k], ranges[k + 1]) ?? [ranges[k], ranges[k + 1]]));
    this.send(descs, descs.length / 2, true);
    for (let k = 0; k < ranges.length; k += 2) this.iovas.free(ranges[k], ranges[k + 1]);
  }
}

export interface Teardown {
  /** A still-live mapping of exactly (gfn, n) to hand out again, or -1. */
  reuse(gfn: number, n: number): number;
  unmap(iova: number, gfn: number, n: number): void;
  /** Timers (flush timeout, optimistic time limit); called from the vCPU loop. */
  poll(): void;
  /** When poll() next has something to do (ms); Infinity: nothing deferred. */
  nextDeadlineMs(): number;
  /** Tear down everything deferred now; false if nothing was. */
  release(): boolean;
  /** Unmaps the host has not been told about yet. */
  pending(): number;
}

/** Strict: clear, invalidate, wait, and only then free the IOVA. */
export class StrictTeardown implements Teardown {
  constructor(private readonly io: ViommuIo) {}
  reuse(): number {
    return -1;
  }
  unmap(iova: number, _gfn: number, n: number): void {
    this.io.clear(iova, n);
    this.io.submitOne(iova, n);
    this.io.iovas.free(iova, n);
  }
  poll(): void {}
  nextDeadlineMs(): number {
    return Infinity;
  }
  release(): boolean {
    return false;
  }
  pending(): number {
    return 0;
  }
}
