// Single-producer single-consumer ring of 4-word entries. Head and tail live on separate lines;
// the producer publishes a batch with one tail store, the consumer frees it with one head store.
// What the words of an entry mean is the user's (it names them, e.g. src/workloads/net/guest.ts).
import { RING } from '../machine/layout.js';
import type { SharedMem } from '../machine/shared-mem.js';
import { Doorbell } from './doorbell.js';

export class SpscRing {
  readonly mask: number;
  /** The consumer sleeps on the tail here (ring empty); the producer wakes it after publish(). */
  readonly published: Doorbell;
  /** The producer sleeps on the head here (ring full); the consumer wakes it after release(). */
  readonly released: Doorbell;
  /** Producer's private cursor: entries written but not yet published. */
  private pending: number;
  /** Consumer's private cursor: entries read but not yet released. */
  private taken: number;

  constructor(
    private readonly mem: SharedMem,
    readonly words: Int32Array,
    readonly capacity: number,
    /** The planted bug `ring-publish-before-write`: put() makes the entry visible before it writes it. */
    private readonly publishFirst = false,
  ) {
    this.mask = capacity - 1;
    this.published = new Doorbell(mem, words, RING.TAIL, RING.CONSUMER_PARKED);
    this.released = new Doorbell(mem, words, RING.HEAD, RING.PRODUCER_PARKED);
    this.pending = mem.load(words, RING.TAIL);
    this.taken = mem.load(words, RING.HEAD);
  }

  /** First word of the entry at cursor position `cursor`. */
  private entry(cursor: number): number {
    return RING.ENTRIES + (cursor & this.mask) * RING.ENTRY_WORDS;
  }

  /** Producer: the index (0..capacity-1) the next put() writes, for side tables kept per entry. */
  nextIndex(): number {
    return this.pending & this.mask;
  }

  /** Consumer: the index (0..capacity-1) of the n-th next entry. */
  indexOf(n: number): number {
    return (this.taken + n) & this.mask;
  }

  /** Producer: room for how many more entries (counting unpublished ones). */
  space(): number {
    return this.capacity - (this.pending - this.mem.load(this.words, RING.HEAD));
  }

  /** Producer: write one entry, word k from entry[k] (not yet visible). Caller checked space(). */
  put(entry: ArrayLike<number>): void {
    const at = this.entry(this.pending);
    if (this.publishFirst) this.mem.store(this.words, RING.TAIL, (this.pending + 1) | 0);
    for (let k = 0; k < RING.ENTRY_WORDS; k++) this.mem.store(this.words, at + k, entry[k]);
    this.pending = (this.pending + 1) | 0;
  }

  /** Producer: make every written entry visible. Returns how many were published. */
  publish(): number {
    const before = this.mem.load(this.words, RING.TAIL);
    this.mem.store(this.words, RING.TAIL, this.pending);
    return (this.pending - before) | 0;
  }

  /** Consumer: entries visible and not yet taken. */
  available(): number {
    return (this.mem.load(this.words, RING.TAIL) - this.taken) | 0;
  }

  /** Consumer: read word k of the n-th next entry (n < available()). */
  peek(n: number, k: number): number {
    return this.mem.load(this.words, this.entry(this.taken + n) + k);
  }

  /** Consumer: drop n entries and give their room back to the producer. */
  release(n: number): void {
    this.taken = (this.taken + n) | 0;
    this.mem.store(this.words, RING.HEAD, this.taken);
  }
}
