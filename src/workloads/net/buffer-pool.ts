// One receive buffer pool of the `net` driver: a stretch of the vCPU's guest memory, buffers handed
// out oldest-freed first (the reuse distance), moved to the stretch's next part on a rotation. A
// flow has its own (its own receive region, as each of a NIC's receive queues has its own page
// pool); Tx acknowledgements have one too.
export class BufferPool {
  private regionBase: number;
  private readonly free: Int32Array;
  private head = 0;
  private count = 0;
  readonly poolPages: number;

  constructor(
    /** The stretch [lo, hi) of guest pages it may use. */
    readonly lo: number,
    readonly hi: number,
    readonly buffers: number,
    readonly pagesPerBuffer: number,
  ) {
    this.poolPages = buffers * pagesPerBuffer;
    if (this.poolPages > hi - lo) throw new RangeError(`net: buffer pool (${this.poolPages} pages) does not fit in its ${hi - lo} pages`);
    this.regionBase = lo;
    this.free = new Int32Array(buffers);
    this.fill();
  }

  private fill(): void {
    this.head = 0;
    this.count = 0;
    for (let b = 0; b < this.buffers; b++) this.push(this.regionBase + b * this.pagesPerBuffer);
  }

  get freeCount(): number {
    return this.count;
  }

  push(gfn: number): void {
    this.free[(this.head + this.count++) % this.buffers] = gfn;
  }

  /** Put a buffer back first in line (a dropped packet's buffer is posted again next). */
  unshift(gfn: number): void {
    this.head = (this.head - 1 + this.buffers) % this.buffers;
    this.free[this.head] = gfn;
    this.count++;
  }

  take(): number {
    const g = this.free[this.head];
    this.head = (this.head + 1) % this.buffers;
    this.count--;
    return g;
  }

  /** Is `gfn` a buffer of the current region (else it retires when done)? */
  inRegion(gfn: number): boolean {
    return gfn >= this.regionBase && gfn < this.regionBase + this.poolPages;
  }

  /** Is `gfn` in this pool's stretch at all? */
  owns(gfn: number): boolean {
    return gfn >= this.lo && gfn < this.hi;
  }

  /** Move to the next part of the stretch; in-flight buffers of the old part retire when done. */
  rotate(): void {
    let next = this.regionBase + this.poolPages;
    if (next + this.poolPages > this.hi) next = this.lo;
    if (next === this.regionBase) return; // only room for one pool: nowhere to move
    this.regionBase = next;
    this.fill();
  }
}
