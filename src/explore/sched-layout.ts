// The explorer's scheduling block: a SharedArrayBuffer of its own, apart from the machine's.
import { LINE_WORDS } from '../machine/layout.js';

// One line per scenario thread. A thread announces its next shared-memory operation here and waits
// for GO to move; the scheduler picks one enabled thread per step. The thread also reports what
// its previous operation did (before / after), so the scheduler can write the trace by itself.
export const SCHED = {
  CMD: 0, // schedule epoch; the scheduler bumps it to start a schedule, -1 = quit
  SPIN_US: 1, // how long each side of a turn hand-off spins before it parks (0 = park at once)
  MODEL: 2, // memory model: 0 sequentially consistent, 1 x86-TSO (per-thread store buffers)
  MUT_OP: 3, // mutation testing: the operator applied (MUTATION_OPS index + 1; 0 = none)
  MUT_THREAD: 4, // ... by this thread
  MUT_BUF: 5, // ... to operations on this word
  MUT_ADDR: 6,
  MUT_FIRED: 7, // ... the times it changed what the thread did (a skipped store that differed, a skipped fence, a dropped wake-up)
  MUT_FENCE_BUF: 8, // delay-store under TSO: the word of the last store before the fence left out (the focused search's second word)
  MUT_FENCE_ADDR: 9,
  THREADS: LINE_WORDS, // first thread line
  // per-thread words
  STATE: 0,
  GO: 1,
  OP: 2,
  BUF: 3, // 0 = machine buffer, 1 = scenario scratch
  ADDR: 4, // word index in that buffer
  VALUE: 5, // operand (wait, compareExchange: expected value)
  WAKE: 6, // why a blocked wait returns: 1 notified, 2 timed out (written when it is resumed)
  RESULT: 7, // the thread's result code when DONE
  PREV_BEFORE: 8,
  PREV_AFTER: 9,
  PREV_RET: 10,
  ABORT: 11,
  SPIN_STOP: 12, // the scheduler picked another thread: stop spinning for GO and park
  VALUE2: 13, // compareExchange: the replacement
  NOTIFIED: 14, // a notify on the word this blocked thread waits on has woken it
  THREAD_WORDS: LINE_WORDS,
  MAX_THREADS: 8,
  /** Scenario scratch words (mailboxes between scenario threads). */
  SCRATCH_WORDS: 64,
} as const;
/** Per-thread error text (UTF-16 code units) after the thread lines. */
export const SCHED_ERROR_CHARS = 256;
export const schedErrorBase = (thread: number): number =>
  SCHED.THREADS + SCHED.MAX_THREADS * SCHED.THREAD_WORDS + thread * SCHED_ERROR_CHARS;

/**
 * x86-TSO store buffers, one per thread after the error texts: [COUNT, then COUNT entries of
 * (BUF, ADDR, VALUE), oldest first]. The thread appends during its turn; the scheduler flushes the
 * oldest entry as a step of its own; only one of them runs at a time.
 */
export const SB = { COUNT: 0, ENTRIES: 1, ENTRY_WORDS: 3, CAPACITY: 32 } as const;
const SB_WORDS = SB.ENTRIES + SB.CAPACITY * SB.ENTRY_WORDS;
export const storeBufferBase = (thread: number): number => schedErrorBase(SCHED.MAX_THREADS) + thread * SB_WORDS;
export const schedWords = (): number => storeBufferBase(SCHED.MAX_THREADS);

/** A schedule choice at or above this flushes the oldest store buffer entry of thread (choice - FLUSH_BASE). */
export const FLUSH_BASE = SCHED.MAX_THREADS;

/** Concurrency mutations (explore/mutate.ts), each applied at one operation site. */
export const MUTATION_OPS = ['drop-notify', 'split-rmw', 'delay-store', 'skip-store'] as const;
export type MutationOp = (typeof MUTATION_OPS)[number];

export const MEMORY_MODELS = ['sc', 'tso'] as const;
export type MemoryModel = (typeof MEMORY_MODELS)[number];

export const ThreadState = { Idle: 0, Running: 1, Ready: 2, Blocked: 3, Done: 4, Error: 5 } as const;

/** Operation codes of the SharedMem interface, as the scheduler and traces see them. */
export const OPS = ['load', 'store', 'add', 'sub', 'or', 'and', 'compareExchange', 'wait', 'wake', 'notify', 'fence', 'flush'] as const;
export type OpName = (typeof OPS)[number];
