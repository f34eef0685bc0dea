// Bounded spin, then park. A role that sleeps raises its "parked" flag first and re-checks the
// condition, so a waker only pays for Atomics.notify (55-90 ns even with no waiter) when someone sleeps.
import type { SharedMem } from '../machine/shared-mem.js';

const now = (): number => performance.now();

/** Spin until a[i] !== old, for at most spinUs. True if it changed. */
export function spinUntilChanged(mem: SharedMem, a: Int32Array, i: number, old: number, spinUs: number): boolean {
  if (mem.load(a, i) !== old) return true;
  if (spinUs <= 0 || mem.scheduled) return false; // under the explorer a timed spin would not replay
  const until = now() + spinUs / 1000;
  for (let n = 1; ; n++) {
    if (mem.load(a, i) !== old) return true;
    if ((n & 63) === 0 && now() >= until) return false;
  }
}

/**
 * Sleep until a[i] !== old or sliceMs passes, with the parked flag raised meanwhile.
 * Returns true if the word changed (the caller re-checks either way).
 */
export function parkUntilChanged(
  mem: SharedMem,
  a: Int32Array,
  i: number,
  old: number,
  flag: Int32Array,
  flagIndex: number,
  sliceMs: number,
): boolean {
  mem.store(flag, flagIndex, 1);
  if (mem.load(a, i) !== old) {
    mem.store(flag, flagIndex, 0);
    return true;
  }
  mem.wait(a, i, old, sliceMs);
  mem.store(flag, flagIndex, 0);
  return mem.load(a, i) !== old;
}

/** The waker's half: notify only when the sleeper said it sleeps. */
export function wakeIfParked(mem: SharedMem, a: Int32Array, i: number, flag: Int32Array, flagIndex: number): boolean {
  if (mem.load(flag, flagIndex) === 0) return false;
  mem.notify(a, i);
  return true;
}

/** Busy-wait for a modeled delay (an exit's cost) without touching shared memory. */
export function busyDelayUs(us: number): void {
  if (us <= 0) return;
  const until = now() + us / 1000;
  while (now() < until) {
    /* modeled exit delay */
  }
}
