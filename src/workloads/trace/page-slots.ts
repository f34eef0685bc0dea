// Per-page state for the locality analysis, in columns of typed arrays indexed by a slot per
// distinct page: a few bytes a page, so millions of distinct pages fit where objects would not.
export class PageSlots {
  private readonly slotOf = new Map<number, number>();
  lastMapIndex = new Float64Array(1024);
  lastMapTime = new Float64Array(1024);
  lastUnmapTime = new Float64Array(1024);
  live = new Int32Array(1024);

  get size(): number {
    return this.slotOf.size;
  }

  /** The page's slot; `fresh` says whether it was just made. */
  slot(page: number): { slot: number; fresh: boolean } {
    const s = this.slotOf.get(page);
    if (s !== undefined) return { slot: s, fresh: false };
    const n = this.slotOf.size;
    if (n === this.live.length) this.grow();
    this.slotOf.set(page, n);
    this.lastMapIndex[n] = -1;
    this.lastMapTime[n] = -Infinity;
    return { slot: n, fresh: true };
  }

  /** Slot of a page already seen, or -1. */
  find(page: number): number {
    return this.slotOf.get(page) ?? -1;
  }

  private grow(): void {
    const n = this.live.length * 2;
    const f = (a: Float64Array) => {
      const b = new Float64Array(n);
      b.set(a);
      return b;
    };
    this.lastMapIndex = f(this.lastMapIndex);
    this.lastMapTime = f(this.lastMapTime);
    this.lastUnmapTime = f(this.lastUnmapTime);
    const live = new Int32Array(n);
    live.set(this.live);
    this.live = live;
  }
}

/** A histogram over powers of two: bucket k holds values in [2^k, 2^(k+1)) (bucket 0 also 0..1). */
export class Log2Histogram {
  readonly counts: number[] = [];
  total = 0;

  add(v: number): void {
    const k = v < 2 ? 0 : Math.floor(Math.log2(v));
    while (this.counts.length <= k) this.counts.push(0);
    this.counts[k]++;
    this.total++;
  }

  /** Buckets as [low, high) with their counts. */
  buckets(): { from: number; to: number; count: number }[] {
    return this.counts.map((count, k) => ({ from: k === 0 ? 0 : 2 ** k, to: 2 ** (k + 1), count }));
  }
}
