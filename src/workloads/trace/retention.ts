// What a policy keeps pinned as a trace goes by, modeled by how long it keeps a page after its
// last unmap: a vIOMMU in strict mode nothing (0), the lazy flush queue up to its flush timeout,
// optimistic teardown up to its time limit, coIOMMU until the lazy unpin scan finds the page idle
// (between one and two scan periods: two, the most). The peak is what it would pin at once.
export class Retention {
  private pinnedFlag = new Uint8Array(1024);
  /** Unmaps in time order: (time, slot), waiting to expire. */
  private queueTime: number[] = [];
  private queueSlot: number[] = [];
  private head = 0;
  pinned = 0;
  peak = 0;

  constructor(
    readonly name: string,
    /** How long a page stays pinned after its last unmap, in seconds. */
    private readonly keepS: number,
  ) {}

  /** A page (slot) mapped at time t; `live` is its map count before this map. */
  map(slot: number, live: number, t: number): void {
    this.expire(t);
    this.ensure(slot);
    if (live === 0 && this.pinnedFlag[slot] === 0) {
      this.pinnedFlag[slot] = 1;
      this.pinned++;
      if (this.pinned > this.peak) this.peak = this.pinned;
    }
  }

  /** A page's last mapping ended at time t. */
  unmapped(slot: number, t: number): void {
    this.expire(t);
    this.ensure(slot);
    if (this.keepS <= 0) {
      this.unpin(slot);
      return;
    }
    this.queueTime.push(t);
    this.queueSlot.push(slot);
  }

  /** Unpin what has been idle longer than keepS; `live(slot)` says whether it is mapped again. */
  expireWith(t: number, live: (slot: number) => number): void {
    while (this.head < this.queueTime.length && this.queueTime[this.head] < t - this.keepS) {
      const slot = this.queueSlot[this.head];
      if (live(slot) === 0 && this.lastUnmapOf(slot) === this.queueTime[this.head]) this.unpin(slot);
      this.head++;
    }
    if (this.head > 4096 && this.head * 2 > this.queueTime.length) {
      this.queueTime = this.queueTime.slice(this.head);
      this.queueSlot = this.queueSlot.slice(this.head);
      this.head = 0;
    }
  }

  private expire(t: number): void {
    this.expireWith(t, this.liveOf);
  }

  /** Set by the analysis: the page's current map count. */
  liveOf: (slot: number) => number = () => 0;
  /** Set by the analysis: when the page's last mapping ended (the same for every policy). */
  lastUnmapOf: (slot: number) => number = () => -Infinity;

  private unpin(slot: number): void {
    if (this.pinnedFlag[slot] === 0) return;
    this.pinnedFlag[slot] = 0;
    this.pinned--;
  }

  private ensure(slot: number): void {
    if (slot < this.pinnedFlag.length) return;
    let n = this.pinnedFlag.length;
    while (n <= slot) n *= 2;
    const p = new Uint8Array(n);
    p.set(this.pinnedFlag);
    this.pinnedFlag = p;
  }
}
