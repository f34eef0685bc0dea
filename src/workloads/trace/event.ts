// One DMA map or unmap event of a Linux trace, as the parser hands it on.
import type { DmaDirection } from '../../core/guest-dma-policy.js';

export interface TraceEvent {
  kind: 'map' | 'unmap';
  /** The event's name without its system (`map`, `dma_map_sg`, ...). */
  name: string;
  /** Seconds, as the trace prints them. */
  time: number;
  cpu: number;
  /** The device (dma: events); `iommu` for iommu: events, which do not name it. */
  device: string;
  dir: DmaDirection;
  /** Device addresses (bytes) of the segments; empty for an unmap_sg that prints physical addresses only. */
  dma: number[];
  /** Bytes of each segment (as many as `dma`, or for a map, as many as `phys`). */
  sizes: number[];
  /** Physical addresses (bytes) of the buffer's pieces (a map; an unmap_sg may print them too). */
  phys: number[];
  /** The sg arrays were cut at the kernel's limit (` [TRUNCATED]`): only the printed part is known. */
  truncated: boolean;
}

export const PAGE_BYTES = 4096;

/** The key a map is found by at its unmap: its device and first device address. */
export const dmaKey = (device: string, dma: number): string => `${device}|d${dma.toString(16)}`;
/** The key an unmap_sg that prints only physical addresses finds its map by. */
export const physKey = (device: string, phys: number): string => `${device}|p${phys.toString(16)}`;

/**
 * The pages a map touches, in order: each physical piece with its size (pieces and sizes paired
 * when there are as many of each; otherwise, as when the IOMMU merged segments, the total size is
 * spread evenly over the pieces). `out` is filled, its length set.
 */
export function mapPages(e: TraceEvent, out: number[]): number[] {
  out.length = 0;
  const n = e.phys.length;
  if (n === 0) return out;
  const paired = e.sizes.length === n;
  const total = e.sizes.reduce((a, b) => a + b, 0);
  for (let i = 0; i < n; i++) {
    const size = Math.max(1, paired ? e.sizes[i] : Math.ceil(total / n));
    const first = Math.floor(e.phys[i] / PAGE_BYTES);
    const last = Math.floor((e.phys[i] + size - 1) / PAGE_BYTES);
    for (let p = first; p <= last; p++) out.push(p);
  }
  return out;
}
