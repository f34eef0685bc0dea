// A seeded random source: splitmix32, small, fast, and the same sequence on every platform for the
// same seed (the explorer's schedules and the trials' shuffles and bootstraps both use it).

/** A uniform number in [0, 1) per call. */
export function seededRandom(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}
