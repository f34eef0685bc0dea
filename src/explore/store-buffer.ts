// An x86-TSO store buffer (Owens, Sarkar, Sewell, "A better x86 memory model: x86-TSO"): a FIFO
// of a thread's plain stores not yet visible to other threads. It lives in the scheduling block,
// so the thread (appending, reading its own stores) and the scheduler (flushing the oldest entry
// as a step of its own) share it; they never run at the same time.
import { SB, storeBufferBase } from './sched-layout.js';

export interface BufferedStore {
  buf: number;
  addr: number;
  value: number;
}

export class StoreBuffer {
  private readonly base: number;

  constructor(
    private readonly sched: Int32Array,
    thread: number,
    /** The memories by buffer number: 0 the machine, 1 the scenario scratch (whole-buffer views). */
    private readonly words: readonly Int32Array[],
  ) {
    this.base = storeBufferBase(thread);
  }

  get size(): number {
    return Atomics.load(this.sched, this.base + SB.COUNT);
  }

  clear(): void {
    Atomics.store(this.sched, this.base + SB.COUNT, 0);
  }

  private entry(k: number): BufferedStore {
    const at = this.base + SB.ENTRIES + k * SB.ENTRY_WORDS;
    const s = this.sched;
    return { buf: Atomics.load(s, at), addr: Atomics.load(s, at + 1), value: Atomics.load(s, at + 2) };
  }

  /** Append a store; a full buffer first makes its oldest store visible (the hardware stalls the same way). */
  push(buf: number, addr: number, value: number): void {
    if (this.size === SB.CAPACITY) this.flushOldest();
    const n = this.size;
    const at = this.base + SB.ENTRIES + n * SB.ENTRY_WORDS;
    Atomics.store(this.sched, at, buf);
    Atomics.store(this.sched, at + 1, addr);
    Atomics.store(this.sched, at + 2, value);
    Atomics.store(this.sched, this.base + SB.COUNT, n + 1);
  }

  /** The thread's newest buffered store to this word (store forwarding), if any. */
  newest(buf: number, addr: number): number | undefined {
    for (let k = this.size - 1; k >= 0; k--) {
      const e = this.entry(k);
      if (e.buf === buf && e.addr === addr) return e.value;
    }
    return undefined;
  }

  /** The store appended last, if any. */
  latest(): BufferedStore | undefined {
    return this.size > 0 ? this.entry(this.size - 1) : undefined;
  }

  oldest(): BufferedStore | undefined {
    return this.size > 0 ? this.entry(0) : undefined;
  }

  /** Make the oldest store visible to every thread; returns it with the word's value before. */
  flushOldest(): (BufferedStore & { before: number }) | undefined {
    const n = this.size;
    if (n === 0) return undefined;
    const e = this.entry(0);
    const before = Atomics.exchange(this.words[e.buf], e.addr, e.value);
    const s = this.sched;
    const first = this.base + SB.ENTRIES;
    for (let k = 0; k < (n - 1) * SB.ENTRY_WORDS; k++) Atomics.store(s, first + k, Atomics.load(s, first + SB.ENTRY_WORDS + k));
    Atomics.store(s, this.base + SB.COUNT, n - 1);
    return { ...e, before };
  }

  /** Drain: what a LOCK-prefixed instruction or mfence does before it runs. */
  drain(): void {
    while (this.flushOldest()) {}
  }
}
