// The baselines' waiting, written directly on an Int32Array with Atomics (no SharedMem interface,
// no protocol): spin for at most spinUs, checking the clock every 64 loads like src/notify/park.ts,
// then park in Atomics.wait with a "parked" flag raised so the peer knows to notify.

/** Wait until w[i] !== old: bounded spin, then park (raising w[flag]). Returns the new value. */
export function bareAwaitChange(w: Int32Array, i: number, old: number, spinUs: number, flag: number): number {
  let v = Atomics.load(w, i);
  if (v !== old) return v;
  const until = performance.now() + spinUs / 1000;
  for (let n = 1; ; n++) {
    v = Atomics.load(w, i);
    if (v !== old) return v;
    if ((n & 63) === 0 && performance.now() >= until) break;
  }
  bareParks++;
  for (;;) {
    Atomics.store(w, flag, 1);
    if (Atomics.load(w, i) === old) Atomics.wait(w, i, old, 20);
    Atomics.store(w, flag, 0);
    v = Atomics.load(w, i);
    if (v !== old) return v;
  }
}

/** How many times bareAwaitChange gave up spinning and parked (per thread). */
export let bareParks = 0;
export function resetBareParks(): void {
  bareParks = 0;
}
