// The only door protocol code has to shared words. The free-running executor is `Atomics`
// itself (no wrapper, so calls stay monomorphic); the explorer swaps in an executor that yields
// to a scheduler before every operation. Protocol code must never index the typed arrays directly.

export type WaitResult = 'ok' | 'not-equal' | 'timed-out';

export interface SharedMem {
  load(a: Int32Array, i: number): number;
  store(a: Int32Array, i: number, v: number): number;
  add(a: Int32Array, i: number, v: number): number;
  sub(a: Int32Array, i: number, v: number): number;
  or(a: Int32Array, i: number, v: number): number;
  and(a: Int32Array, i: number, v: number): number;
  compareExchange(a: Int32Array, i: number, expected: number, replacement: number): number;
  wait(a: Int32Array, i: number, value: number, timeoutMs?: number): WaitResult;
  notify(a: Int32Array, i: number, count?: number): number;
  /**
   * A full fence (x86 `mfence`): this thread's earlier stores become visible to every thread before
   * its later loads run. JS atomics are sequentially consistent, so it costs nothing free-running;
   * the explorer's x86-TSO mode drains the thread's store buffer here.
   */
  fence(): void;
  /**
   * Set by the explorer's controlled executor: there the scheduler, not the clock, decides who runs,
   * so protocol code must not let time decide anything (a bounded spin becomes a single re-check).
   */
  readonly scheduled?: boolean;
}

/** Free-running executor: plain sequentially consistent Atomics (plus a fence that has nothing to do). */
export const freeRunning: SharedMem = Object.assign(Object.create(Atomics) as object, { fence: (): void => {} }) as unknown as SharedMem;

/** The planted bugs `missing-fence-*`: the same executor with every fence() left out. */
export const withoutFences = (mem: SharedMem): SharedMem => Object.assign(Object.create(mem) as object, { fence: (): void => {} }) as SharedMem;
