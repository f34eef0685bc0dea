// Optimistic teardown (vIOMMU, ATC'11): unmap leaves the mapping live for timeoutMs, at most
// `quota` of them per vCPU; a re-map of the same buffer in that time reuses the live mapping and
// costs no submission.
import { STAT } from '../../machine/layout.js';
import type { Teardown, ViommuIo } from './teardown.js';

interface Deferred {
  iova: number;
  pages: number;
  atMs: number;
}

export class OptimisticTeardown implements Teardown {
  /** Stale-but-live mappings by first guest page, oldest first (a Map keeps insertion order). */
  private readonly deferred = new Map<number, Deferred>();

  constructor(
    private readonly io: ViommuIo,
    private readonly timeoutMs: number,
    private readonly quota: number,
    private readonly stats: Float64Array,
    private readonly now: () => number,
    /** The planted bug `optimistic-stale-reuse`: a torn-down mapping stays on the list of live ones. */
    private readonly keepStale = false,
  ) {}

  reuse(gfn: number, n: number): number {
    const d = this.deferred.get(gfn);
    if (!d) return -1;
    if (d.pages !== n) {
      this.teardown([gfn]);
      return -1;
    }
    // Still mapped in the guest table and in the host's shadow: nothing to tell the host.
    this.deferred.delete(gfn);
    this.stats[STAT.DEFERRED_HITS]++;
    return d.iova;
  }

  unmap(iova: number, gfn: number, n: number): void {
    // One stale mapping per buffer: a second mapping of the same pages replaces the first one
    if (this.deferred.has(gfn)) this.teardown([gfn]);
    this.deferred.set(gfn, { iova, pages: n, atMs: this.now() });
    const evicted: [number, Deferred][] = [];
    while (this.deferred.size > this.quota) {
      const [g, d] = this.deferred.entries().next().value!;
      evicted.push([g, d]);
      this.teardown([g]);
    }
    // planted bug: the evicted mappings (torn down, IOVAs freed) stay on the list of live ones
    if (this.keepStale) for (const [g, d] of evicted) this.deferred.set(g, d);
  }

  nextDeadlineMs(): number {
    const oldest = this.deferred.values().next();
    return oldest.done ? Infinity : oldest.value.atMs + this.timeoutMs;
  }

  poll(): void {
    const t = this.now();
    const expired: number[] = [];
    for (const [gfn, d] of this.deferred) {
      if (t - d.atMs < this.timeoutMs) break; // oldest first
      expired.push(gfn);
    }
    if (expired.length > 0) this.teardown(expired);
  }

  release(): boolean {
    if (this.deferred.size === 0) return false;
    this.teardown([...this.deferred.keys()]);
    return true;
  }

  pending(): number {
    return this.deferred.size;
  }

  private teardown(gfns: number[]): void {
    const ranges: number[] = [];
    for (const g of gfns) {
      const d = this.deferred.get(g)!;
      this.deferred.delete(g);
      this.io.clear(d.iova, d.pages);
      ranges.push(d.iova, d.pages);
    }
    this.io.submitAndFree(ranges);
  }
}
