// The coIOMMU policy's own words in the machine (the `coiommu` region, sized by its machine() hook):
// the device's registers, the guest's DTT lock and page allocator, the topology table, the batch
// pin-info buffers, and the pool the multi-level DTT's pages come from.
//
// The region stands for guest memory the driver allocated (and the device's BARs). A guest-physical
// address inside it is its byte offset, so a DTT page's frame number is its word offset / 1024: the
// lab keeps these pages apart from the DMA pages, and at the lab's sizes a frame number < 2^19, so a
// 64-bit parent entry's high word is always 0 (see dtt-levels.ts).
import { LINE_WORDS, PAGE_SIZE } from '../../machine/layout.js';
import { LEAF_ENTRIES, dttLevels, poolPagesFor } from './dtt-levels.js';

/** Most pages in one batch request (the pin-info buffer of each vCPU holds this many pfns). */
export const PIN_INFO_MAX_PAGES = 64;
/** pin_pages_info: {u16 bdf; u16 pad[3]; u64 nr_pages; u64 pfn[]} as 32-bit words. */
export const PIN_INFO = { BDF: 0, PAD: 1, NR_LO: 2, NR_HI: 3, PFN: 4 } as const;
const PIN_INFO_WORDS = PIN_INFO.PFN + 2 * PIN_INFO_MAX_PAGES;
/** Most endpoints in the topology table. */
export const MAX_ENDPOINTS = 15;

/** Word offsets of the fixed part (each group on its own line: written by different parties). */
export const CO = {
  // registers (BAR0): write-once DTT root (a GPA, 64 bits) and level count; the host's park count
  DTT_ROOT_LO: 0,
  DTT_ROOT_HI: 1,
  DTT_LEVEL: 2,
  PARK_COUNT: 3, // host: nested PARK_UNPIN commands not yet undone (under the pin-state lock)
  // the guest's dtt->lock (a reader-writer lock) and its page allocator
  DTT_LOCK: LINE_WORDS,
  ALLOC_LOCK: LINE_WORDS * 2,
  POOL_NEXT: LINE_WORDS * 2 + 1, // pool pages never handed out lie at and above it
  FREE_TOP: LINE_WORDS * 2 + 2, // entries on the free-page stack
  PAGES: LINE_WORDS * 2 + 3, // DTT pages in use below the root (the shrinker's count_objects)
  // the oracle's hazard word: the leaf page (frame) the host is touching right now, 0 = none
  HOST_LEAF: LINE_WORDS * 3,
  // topology table (BAR4): count, then the endpoints' BDFs
  TOPOLOGY: LINE_WORDS * 4,
  FIXED: LINE_WORDS * 5,
} as const;

export interface CoiommuRegion {
  levels: number;
  poolPages: number;
  /** Word offset of the free-page stack (poolPages words). */
  freeStack: number;
  /** Word offset of each page's state (1 = in use, 0 = free): what the oracle checks. */
  pageState: number;
  /** Word offset of vCPU 0's pin-info buffer. */
  pinInfo: number;
  pinInfoWords: number;
  /** Word offset of pool page 0 (a multiple of a page). */
  pool: number;
  words: number;
}

/** Where everything lies in the coiommu region of a machine of this size. */
export function coiommuRegion(guestPages: number, vcpus: number): CoiommuRegion {
  const levels = dttLevels(guestPages);
  const poolPages = poolPagesFor(guestPages, levels, vcpus);
  const freeStack = CO.FIXED;
  const pageState = freeStack + poolPages;
  const pinInfo = pageState + poolPages;
  const end = pinInfo + vcpus * PIN_INFO_WORDS;
  const pool = Math.ceil(end / LEAF_ENTRIES) * LEAF_ENTRIES;
  return { levels, poolPages, freeStack, pageState, pinInfo, pinInfoWords: PIN_INFO_WORDS, pool, words: pool + poolPages * LEAF_ENTRIES };
}

const WORDS_PER_PAGE = PAGE_SIZE / 4;
/** Frame number of pool page k, and back. */
export const frameOfPoolPage = (r: CoiommuRegion, k: number): number => r.pool / WORDS_PER_PAGE + k;
export const poolPageOfFrame = (r: CoiommuRegion, frame: number): number => frame - r.pool / WORDS_PER_PAGE;
/** First word of the page with this frame number. */
export const wordOfFrame = (frame: number): number => frame * WORDS_PER_PAGE;
/** The guest-physical address of a word of the region, and back (byte offsets). */
export const gpaOfWord = (w: number): number => w * 4;
export const wordOfGpa = (gpa: number): number => gpa / 4;
