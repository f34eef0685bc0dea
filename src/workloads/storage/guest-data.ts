// The guest CPU writing a buffer the device will read (a storage write's data): the page's payload
// for a stamp goes into the frame that backs it, through the guest's own view of memory (EPT).
// The driver fills a buffer after mapping it: the map has pinned the page, so the reclaimer cannot
// take the frame from under the write (on hardware, a write to a reclaimed page faults it back in;
// a page that is not resident keeps its contents as a stamp in swap, as reclaim does).
import type { Machine } from '../../machine/machine.js';
import type { SharedMem } from '../../machine/shared-mem.js';
import { allocDataFrame, writePayload } from '../../mem/payload.js';

/** Write `stamp`'s payload into guest page g. False if the data frame pool is exhausted. */
export function guestWrite(mem: SharedMem, m: Machine, g: number, stamp: number): boolean {
  const f = mem.load(m.ept, g) - 1;
  if (f < 0) {
    mem.store(m.swap, g, stamp);
    return true;
  }
  let d = mem.load(m.frameData, f);
  if (d === 0) {
    d = allocDataFrame(mem, m);
    if (d < 0) return false;
    mem.store(m.frameData, f, d);
  }
  writePayload(mem, m, d, stamp, g);
  return true;
}
