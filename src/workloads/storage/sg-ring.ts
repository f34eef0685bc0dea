// The descriptor and completion formats of a scatter-gather queue (storage and trace replay): one
// ring entry per segment, flags saying which way the device moves the data and where the request
// starts and ends, so a request of several segments is one unit to the device and to the driver.
import type { DmaDirection } from '../../core/guest-dma-policy.js';

/** Descriptor: [dma page, guest page, flags, stamp]. Completion: [guest page, flags, stamp, dma page]. */
export const SG_DESC = { DMA: 0, GFN: 1, FLAGS: 2, STAMP: 3 } as const;
export const SG_COMP = { GFN: 0, FLAGS: 1, STAMP: 2, DMA: 3 } as const;

/** Flags word: the segment's pages in the low 16 bits, then these bits. */
export const SG_FLAG = {
  PAGES: 0xffff,
  /** The device reads guest memory (DMA_TO_DEVICE: a storage write); clear: it writes it. */
  DEVICE_READS: 1 << 16,
  /** First segment of its request (the device's per-request latency is charged here). */
  FIRST: 1 << 17,
  /** Last segment of its request (its completion completes the request). */
  LAST: 1 << 18,
  /** Another live buffer shares a page with this one: the data is not checked (see trace replay). */
  NO_VERIFY: 1 << 19,
} as const;

/** Largest segment: 64 KiB, Linux's default DMA max_segment_size, and the vIOMMU's largest IOVA. */
export const MAX_SEGMENT_PAGES = 16;

/** The device reads guest memory for TO_DEVICE only; FROM_DEVICE and BIDIRECTIONAL: it writes. */
export const deviceReads = (dir: DmaDirection): boolean => dir === 'TO_DEVICE';

/** One request: a scatter-gather list of guest-contiguous segments, mapped and unmapped as one. */
export interface SgRequest {
  /** First guest page of each segment. */
  gfns: number[];
  /** Pages of each segment. */
  pages: number[];
  /** DMA address of each segment once mapped. */
  dmas: number[];
  dir: DmaDirection;
  stamp: number;
  /** Do not check the data (it shares pages with another live buffer). */
  noVerify: boolean;
  /** The device has finished its DMA and the driver checked it. */
  done: boolean;
  /** Segments whose completion has been reaped. */
  completed: number;
  /** The workload's own handle on it (storage: its block; trace: its buffer). */
  tag: number;
}

/** Split guest pages into segments: guest-contiguous runs of at most MAX_SEGMENT_PAGES. */
export function toSegments(pageList: ArrayLike<number>, count: number, gfns: number[], pages: number[]): void {
  gfns.length = 0;
  pages.length = 0;
  for (let i = 0; i < count; i++) {
    const g = pageList[i];
    const last = gfns.length - 1;
    if (last >= 0 && gfns[last] + pages[last] === g && pages[last] < MAX_SEGMENT_PAGES) pages[last]++;
    else {
      gfns.push(g);
      pages.push(1);
    }
  }
}
