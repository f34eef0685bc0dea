// What a DMA writes into a page: a stamp, the page it was meant for and a checksum, in a data
// frame. The guest reads it back through its own view of memory (EPT, or swap if reclaimed).
import { CTL, DATA_WORDS } from '../machine/layout.js';
import type { Machine } from '../machine/machine.js';
import type { SharedMem } from '../machine/shared-mem.js';

export function payloadWord(stamp: number, gfn: number, k: number): number {
  return Math.imul(stamp ^ Math.imul(gfn, 0x9e3779b1), k + 0x01000193) ^ (k << 24);
}

function checksum(stamp: number, gfn: number): number {
  let h = 0x811c9dc5;
  h = Math.imul(h ^ stamp, 0x01000193);
  h = Math.imul(h ^ gfn, 0x01000193);
  for (let k = 2; k < DATA_WORDS - 1; k++) h = Math.imul(h ^ payloadWord(stamp, gfn, k), 0x01000193);
  return h;
}

/** Device side: write the payload for (stamp, gfn) into data frame d. */
export function writePayload(mem: SharedMem, m: Machine, d: number, stamp: number, gfn: number): void {
  const base = d * DATA_WORDS;
  mem.store(m.data, base, stamp);
  mem.store(m.data, base + 1, gfn);
  for (let k = 2; k < DATA_WORDS - 1; k++) mem.store(m.data, base + k, payloadWord(stamp, gfn, k));
  mem.store(m.data, base + DATA_WORDS - 1, checksum(stamp, gfn));
}

/**
 * A data frame for a host frame DMA touches for the first time; -1 if the pool is empty. A data
 * frame stays with its host frame for good (a reclaimed frame's contents go to swap as a stamp),
 * so the pool never holds more than the host frames ever handed out.
 */
export function allocDataFrame(mem: SharedMem, m: Machine): number {
  const d = mem.add(m.control, CTL.DATA_NEXT, 1) + 1; // data frame 0 means "none"
  return d <= m.spec.dataFrames ? d : -1;
}

/** The stamp data frame d holds for page g: 0 never written, -1 corrupt (or another page's). */
export function frameStamp(mem: SharedMem, m: Machine, d: number, g: number): number {
  if (d === 0) return 0;
  const base = d * DATA_WORDS;
  const stamp = mem.load(m.data, base);
  if (mem.load(m.data, base + 1) !== g) return -1;
  for (let k = 2; k < DATA_WORDS - 1; k++) if (mem.load(m.data, base + k) !== payloadWord(stamp, g, k)) return -1;
  if (mem.load(m.data, base + DATA_WORDS - 1) !== checksum(stamp, g)) return -1;
  return stamp;
}

/**
 * Guest side: the stamp page g holds (0 for a never-written page), or -1 if it is corrupt. A
 * resident page is read from its frame's data frame; a reclaimed one from swap, which keeps the
 * stamp (the payload is a pure function of stamp and page).
 */
export function readStamp(mem: SharedMem, m: Machine, g: number): number {
  const f = mem.load(m.ept, g) - 1;
  return f >= 0 ? frameStamp(mem, m, mem.load(m.frameData, f), g) : mem.load(m.swap, g);
}
