// One page-table cache of the IOMMU (a paging-structure cache): a small fully associative cache of
// directory entries, tag = the IOVA range an entry maps at its level, value = the page-table page
// the entry points at. Least recently used goes first. Device-private memory, like the IOTLB.
export class PtCache {
  private readonly tags: Float64Array; // range + 1, 0 = invalid
  private readonly pages: Int32Array;
  private readonly used: Float64Array;
  private tick = 0;

  constructor(readonly entries: number) {
    this.tags = new Float64Array(entries);
    this.pages = new Int32Array(entries);
    this.used = new Float64Array(entries);
  }

  /** The page cached for `range`, or -1. */
  lookup(range: number): number {
    for (let i = 0; i < this.entries; i++)
      if (this.tags[i] === range + 1) {
        this.used[i] = ++this.tick;
        return this.pages[i];
      }
    return -1;
  }

  /** Is `range` cached? (no LRU update: probes and tests) */
  peek(range: number): number {
    for (let i = 0; i < this.entries; i++) if (this.tags[i] === range + 1) return this.pages[i];
    return -1;
  }

  fill(range: number, page: number): void {
    if (this.entries === 0) return;
    let victim = 0;
    for (let i = 0; i < this.entries; i++) {
      if (this.tags[i] === 0) {
        victim = i;
        break;
      }
      if (this.used[i] < this.used[victim]) victim = i;
    }
    this.tags[victim] = range + 1;
    this.pages[victim] = page;
    this.used[victim] = ++this.tick;
  }

  flush(): void {
    this.tags.fill(0);
  }

  /** Valid entries (tests). */
  size(): number {
    let n = 0;
    for (let i = 0; i < this.entries; i++) if (this.tags[i] !== 0) n++;
    return n;
  }
}
