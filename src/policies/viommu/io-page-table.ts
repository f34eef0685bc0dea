// The guest's IO page table (emulated VT-d second-level table, flattened): one word per IOVA page,
//   gfn << 2 | WRITABLE | PRESENT
// written by the guest driver only. In caching mode the host never trusts it to be current: it
// reads it only when an invalidation descriptor names the range.
export const PRESENT = 1;
export const WRITABLE = 2;

export const ioPte = (gfn: number, writable = true): number => (gfn << 2) | (writable ? WRITABLE : 0) | PRESENT;
export const isPresent = (pte: number): boolean => (pte & PRESENT) !== 0;
export const pteGfn = (pte: number): number => pte >>> 2;
