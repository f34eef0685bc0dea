// A doorbell: a sequence word and the "parked" flag of the one role that sleeps on it. The sleeper
// raises its flag, re-checks for work, and only then waits; the waker bumps the sequence and pays
// for Atomics.notify only when the flag says someone sleeps. Every role, ring and queue uses it.
import type { SharedMem } from '../machine/shared-mem.js';
import { wakeIfParked } from './park.js';

export class Doorbell {
  constructor(
    private readonly mem: SharedMem,
    private readonly words: Int32Array,
    private readonly seq: number,
    private readonly parked: number,
  ) {}

  /** The waker: bump the sequence, notify if the sleeper is parked. */
  ring(): void {
    this.mem.add(this.words, this.seq, 1);
    this.wake();
  }

  /** The waker's notify alone (the planted bug `doorbell-without-bump` rings this way). */
  wake(): boolean {
    return wakeIfParked(this.mem, this.words, this.seq, this.words, this.parked);
  }

  /** Ring only a parked sleeper (a polling one will see the work by itself). True if it was parked. */
  kick(): boolean {
    if (this.mem.load(this.words, this.parked) === 0) return false;
    this.mem.add(this.words, this.seq, 1);
    this.mem.notify(this.words, this.seq);
    return true;
  }

  /** The sleeper: raise the flag, re-check `pending`, and sleep until rung or `sliceMs` passes. */
  sleep(pending: () => boolean, sliceMs: number): void {
    const { mem, words } = this;
    const s = mem.load(words, this.seq);
    mem.store(words, this.parked, 1);
    if (!pending()) mem.wait(words, this.seq, s, sliceMs);
    mem.store(words, this.parked, 0);
  }
}
