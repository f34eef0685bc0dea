// The guest driver's dtt->lock: maps and unmaps hold it for reading (many at once, one add each),
// the shrinker takes it for writing while it checks and frees one page. One word:
//   bits 0..15 readers, bit 29 someone waits, bit 30 a writer holds it.
// A reader's add is undone at once if a writer holds the lock, so a writer sees the readers drain.
import type { SharedMem } from '../../machine/shared-mem.js';

const READERS = 0xffff;
const WAITING = 1 << 29;
const WRITER = 1 << 30;

/** No reader and no writer inside (WAITING may stay set: a sleeper that gave up leaves it). */
export const rwLockFree = (v: number): boolean => (v & (READERS | WRITER)) === 0;

export class DttRwLock {
  constructor(
    private readonly mem: SharedMem,
    private readonly w: Int32Array,
    private readonly i: number,
  ) {}

  readLock(): void {
    const { mem, w, i } = this;
    for (;;) {
      if ((mem.add(w, i, 1) & WRITER) === 0) return;
      this.readUnlock();
      this.sleepWhile(WRITER);
    }
  }

  readUnlock(): void {
    const { mem, w, i } = this;
    const old = mem.sub(w, i, 1);
    if ((old & READERS) === 1 && (old & WAITING) !== 0) mem.notify(w, i); // the last reader out wakes a writer
  }

  writeLock(): void {
    const { mem, w, i } = this;
    for (;;) {
      const v = mem.load(w, i);
      if ((v & (READERS | WRITER)) === 0) {
        if (mem.compareExchange(w, i, v, v | WRITER) === v) return; // WAITING stays: others still sleep
        continue;
      }
      this.sleepWhile(READERS | WRITER);
    }
  }

  writeUnlock(): void {
    const { mem, w, i } = this;
    if ((mem.and(w, i, ~(WRITER | WAITING)) & WAITING) !== 0) mem.notify(w, i);
  }

  /** Raise WAITING and sleep while any of `busy` is set (a notify or a change of the word wakes us). */
  private sleepWhile(busy: number): void {
    const { mem, w, i } = this;
    const v = mem.or(w, i, WAITING) | WAITING;
    if ((v & busy) !== 0) mem.wait(w, i, v, 50);
  }
}
