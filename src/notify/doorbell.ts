// A doorbell: a word the waker changes (a sequence it bumps, a ring's tail, a status word, a
// request it clears) and the "parked" flag of the one role that sleeps on it. The sleeper raises
// its flag, re-checks, and only then waits; the waker changes the word first and pays for
// Atomics.notify (55-90 ns even with no waiter) only when the flag says someone sleeps. Every
// role, ring and queue waits this way.
import type { SharedMem } from '../machine/shared-mem.js';
import { spinUntilChanged } from './park.js';

export class Doorbell {
  constructor(
    private readonly mem: SharedMem,
    private readonly words: Int32Array,
    /** The word the waker changes and the sleeper waits on. */
    private readonly word: number,
    /** The sleeper's parked flag (in the same array). */
    private readonly parked: number,
  ) {}

  /** The word as it is now (what a sleeper then waits to see change). */
  value(): number {
    return this.mem.load(this.words, this.word);
  }

  // ---- the waker ----

  /** Bump the word as a sequence, notify if the sleeper is parked. */
  ring(): void {
    this.mem.add(this.words, this.word, 1);
    this.wake();
  }

  /** Store `value` in the word (a status, a cleared request), notify if the sleeper is parked. */
  set(value: number): boolean {
    this.mem.store(this.words, this.word, value);
    return this.wake(); // wake() fences the store before the parked flag is read
  }

  /**
   * Notify if the sleeper is parked; the caller has changed the word already (the planted bug
   * `doorbell-without-bump` rings this way without changing it). True if it was parked.
   */
  wake(): boolean {
    // x86-TSO: without it the load of the parked flag passes the caller's store still in this
    // core's store buffer (set()'s word, a ring's tail); the sleeper raises its flag, re-checks
    // the old value, and nobody wakes it (the explorer's --memory-model tso finds that lost
    // wake-up: planted bug missing-fence-*; for a ring's publish, PCT in coiommu-ring-dma)
    this.mem.fence();
    if (this.mem.load(this.words, this.parked) === 0) return false;
    this.mem.notify(this.words, this.word);
    return true;
  }

  /** Ring only a parked sleeper (a polling one will see the work by itself). True if it was parked. */
  kick(): boolean {
    // x86-TSO: the caller's work (a ring's tail) must be visible before the parked flag is read,
    // or the sleeper re-checks the old work and nobody rings it (store -> load, as in wake(); the
    // PCT search under TSO finds that lost wake-up in coiommu-ring-dma without this fence)
    this.mem.fence();
    if (this.mem.load(this.words, this.parked) === 0) return false;
    this.mem.add(this.words, this.word, 1);
    this.mem.notify(this.words, this.word);
    return true;
  }

  // ---- the sleeper ----

  /** Spin (bounded, flag down) until the word is no longer `old`. True if it changed. */
  spin(old: number, spinUs: number): boolean {
    return spinUntilChanged(this.mem, this.words, this.word, old, spinUs);
  }

  /**
   * Raise the flag, re-check the word, and sleep until it is no longer `old` or `sliceMs` passes;
   * lower the flag. True if the word changed (the caller re-checks its condition either way).
   */
  awaitChange(old: number, sliceMs: number): boolean {
    const { mem, words } = this;
    // No fence between raising the flag and the re-check (unlike set()): if the re-check misses a
    // change still in the waker's store buffer, the wait itself (a futex call: it drains this
    // core's buffer, then compares) sees it; the x86-TSO search shows no lost wake-up here.
    mem.store(words, this.parked, 1);
    if (mem.load(words, this.word) !== old) {
      mem.store(words, this.parked, 0);
      return true;
    }
    mem.wait(words, this.word, old, sliceMs);
    mem.store(words, this.parked, 0);
    return mem.load(words, this.word) !== old;
  }

  /** Raise the flag, re-check `pending`, and sleep until rung or `sliceMs` passes; lower the flag. */
  sleep(pending: () => boolean, sliceMs: number): void {
    const { mem, words } = this;
    const s = mem.load(words, this.word);
    mem.store(words, this.parked, 1);
    // x86-TSO: unlike awaitChange(), pending() reads other words than the one waited on (a ring's
    // tail), so the wait's own compare cannot cover a missed change: the flag must be visible
    // before pending() reads, the other half of kick()'s fence
    mem.fence();
    if (!pending()) mem.wait(words, this.word, s, sliceMs);
    mem.store(words, this.parked, 0);
  }
}
