// The host's residency bookkeeping, checked at quiescence beside the pin accounting: every frame
// handed out is either owned (the EPT entry of its page names it, and the page has no swap copy
// left) or on the free list, the resident count is the owned frames, and each peak is at least its
// current count. A lost store or a lost counter update in HostMemory breaks one of these even when
// no DMA went wrong.
import { CTL } from '../machine/layout.js';
import type { Machine } from '../machine/machine.js';
import type { SharedMem } from '../machine/shared-mem.js';

/** True when the frame table, the EPT, the free list and the counters agree. O(frames). */
export function residencyConsistent(mem: SharedMem, m: Machine): boolean {
  const high = mem.load(m.control, CTL.FRAME_HIGH);
  const freeTop = mem.load(m.control, CTL.FRAME_FREE_TOP);
  if (freeTop < 0 || freeTop > high) return false;
  let owned = 0;
  for (let f = 0; f < high; f++) {
    const owner = mem.load(m.frameOwner, f);
    if (owner === 0) continue;
    owned++;
    if (mem.load(m.ept, owner - 1) !== f + 1) return false; // the page's residency entry must name its frame
    if (mem.load(m.swap, owner - 1) !== 0) return false; // a fault-in drops the swap copy it restored from
  }
  for (let k = 0; k < freeTop; k++) {
    const f = mem.load(m.frameFree, k);
    if (f < 0 || f >= high || mem.load(m.frameOwner, f) !== 0) return false; // a free frame is nobody's
  }
  if (owned + freeTop !== high) return false; // a frame neither owned nor free has leaked
  const c = m.control;
  if (mem.load(c, CTL.RESIDENT_NOW) !== owned || !dataFramesDistinct(mem, m, high)) return false;
  return mem.load(c, CTL.PINNED_PEAK) >= mem.load(c, CTL.PINNED_NOW) && mem.load(c, CTL.RESIDENT_PEAK) >= mem.load(c, CTL.RESIDENT_NOW);
}

/**
 * A data frame, once handed out, stays with its host frame for good (src/mem/payload.ts): two
 * frames naming one data frame, or one beyond the pool's bump pointer, lost an allocation.
 */
function dataFramesDistinct(mem: SharedMem, m: Machine, high: number): boolean {
  const next = mem.load(m.control, CTL.DATA_NEXT);
  const seen = new Set<number>();
  for (let f = 0; f < high; f++) {
    const d = mem.load(m.frameData, f);
    if (d === 0) continue;
    if (d < 0 || d > next || seen.has(d)) return false;
    seen.add(d);
  }
  return true;
}
