// The DMA tracking table entry (coIOMMU): one 32-bit word per guest page.
//   bits 0..15  map count  (guest only: atomic add / sub)
//   bit 30      ACCESSED   (guest sets on every map; host's unpin scan clears it)
//   bit 31      PINNED     (host only; set after the host IOMMU mapping exists)
export const MAP_COUNT_MASK = 0xffff;
export const ACCESSED = 1 << 30;
export const PINNED = 1 << 31; // === -2147483648 in an Int32Array

export const isPinned = (entry: number): boolean => (entry & PINNED) !== 0;

/** The map count may not pass this: each vCPU may hold one add beyond it while it backs off. */
export const maxMapCount = (vcpus: number): number => MAP_COUNT_MASK - vcpus;
