// The multi-level DTT's geometry, as the shipped guest driver and VMM define it: leaf pages of 1024
// 32-bit entries (a 10-bit index, level 1), upper pages of 512 64-bit entries (9 bits each, levels
// 2..n). An upper entry: bit 0 present, the next page's frame number from bit 12.
//
// The lab's shared memory is 32-bit words. A 64-bit upper entry is two words, low then high. The low
// word carries present + frame number and is the word the guest installs by compare-and-swap (so the
// explorer schedules the install as one step); the high word holds frame bits 20 and up, which are 0
// at the lab's sizes (a DTT page's frame number is < 2^19, region.ts), so it is never written.
export const LEAF_BITS = 10;
export const LEAF_ENTRIES = 1 << LEAF_BITS;
export const UPPER_BITS = 9;
export const UPPER_ENTRIES = 1 << UPPER_BITS;
/** Words per 64-bit upper entry. */
export const UPPER_ENTRY_WORDS = 2;
export const DTT_PRESENT = 1;
export const DTT_FRAME_SHIFT = 12;
export const LAST_LEVEL = 1;

/** Index of page g's entry in its page at `level` (1 = leaf). */
export function levelIndex(g: number, level: number): number {
  if (level === LAST_LEVEL) return g & (LEAF_ENTRIES - 1);
  const shift = LEAF_BITS + (level - 2) * UPPER_BITS;
  return Math.floor(g / 2 ** shift) & (UPPER_ENTRIES - 1);
}

/** The low word of a present upper entry pointing at `frame`. */
export const upperEntry = (frame: number): number => (frame << DTT_FRAME_SHIFT) | DTT_PRESENT;
export const isPresent = (low: number): boolean => (low & DTT_PRESENT) !== 0;
export const frameOfEntry = (low: number): number => low >>> DTT_FRAME_SHIFT;

/**
 * Levels of a table covering `guestPages` pages. The shipped driver sizes it by the widest physical
 * address (5 levels on x86-64); the lab sizes it by the guest, with at least 2 levels so that leaves
 * are allocated, installed and shrunk. The host is told the count through the level register.
 */
export function dttLevels(guestPages: number): number {
  const width = Math.max(1, Math.ceil(Math.log2(Math.max(2, guestPages))));
  const levels = width <= LEAF_BITS ? 1 : Math.ceil((width - LEAF_BITS) / UPPER_BITS) + 1;
  return Math.max(2, levels);
}

/**
 * Pool pages for the whole table (root included), plus one page per vCPU and level for the loser
 * of an install race, which holds its page until it sees it lost and gives it back.
 */
export function poolPagesFor(guestPages: number, levels: number, vcpus: number): number {
  let pages = 0;
  let below = Math.ceil(guestPages / LEAF_ENTRIES);
  for (let level = 1; level < levels; level++) {
    pages += below;
    below = Math.ceil(below / UPPER_ENTRIES);
  }
  return pages + 1 + vcpus * (levels - 1);
}
