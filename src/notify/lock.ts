// The host's pin-state lock: a futex-style mutex in one shared word (0 free, 1 held, 2 held with
// waiters), after Drepper's "Futexes are tricky". Pin, unpin and reclaim all hold it, which is what
// makes a guest's pin request wait for an unpin that is already under way.
import type { SharedMem } from '../machine/shared-mem.js';

export interface Lock {
  lock(): void;
  unlock(): void;
}

export class LockTimeoutError extends Error {}

export class PinStateLock implements Lock {
  constructor(
    private readonly mem: SharedMem,
    private readonly word: Int32Array,
    private readonly index: number,
    /** A lock held longer than this is a hang: fail loudly instead of waiting forever. */
    private readonly timeoutMs = 5000,
    /** For the error message: which lock hung. */
    private readonly name = 'pin-state lock',
    /** False only for the planted bug `unlock-no-wake`: unlock frees the word but wakes no waiter. */
    private readonly wakeWaiters = true,
  ) {}

  lock(): void {
    const { mem, word, index } = this;
    let c = mem.compareExchange(word, index, 0, 1);
    if (c === 0) return;
    const deadline = performance.now() + this.timeoutMs;
    do {
      if (c === 2 || mem.compareExchange(word, index, 1, 2) !== 0) {
        mem.wait(word, index, 2, 50);
        if (performance.now() > deadline)
          throw new LockTimeoutError(`${this.name} not released within ${this.timeoutMs} ms`);
      }
    } while ((c = mem.compareExchange(word, index, 0, 2)) !== 0);
  }

  unlock(): void {
    const { mem, word, index } = this;
    if (mem.sub(word, index, 1) !== 1) {
      mem.store(word, index, 0);
      if (this.wakeWaiters) mem.notify(word, index, 1);
    }
  }
}

/** The planted bug "no lock between pin and unpin". */
export const NO_LOCK: Lock = { lock() {}, unlock() {} };
