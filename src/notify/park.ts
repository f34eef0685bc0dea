// The timed halves of waiting: a bounded spin before a role parks on a doorbell (doorbell.ts), and
// a busy delay standing for a modeled exit's cost.
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

/** Busy-wait for a modeled delay (an exit's cost) without touching shared memory. */
export function busyDelayUs(us: number): void {
  if (us <= 0) return;
  const until = now() + us / 1000;
  while (now() < until) {
    /* modeled exit delay */
  }
}
