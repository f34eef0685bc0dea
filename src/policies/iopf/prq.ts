// The page request queue (PCIe PRI as the IOMMU's page request queue): the device appends one
// entry per faulting page (page, page-request-group index, LAST flag) to a single-producer ring in
// shared memory; the host answers each group once, with SUCCESS (retry), INVALID (do not retry) or
// FAILURE (stop sending requests), in the group's response word. Linux's iommu_fault_page_request
// (grpid, addr, flags LAST_PAGE) and page_response (grpid, code) are the shapes.
//
// Layout of the `prq` region: the ring (src/notify/ring.ts: TAIL line, HEAD line, entries), then
// one line per group (STATUS, COST_NS, DEVICE_PARKED), then a line of counters (any role adds),
// then one word per guest page: the device's DMA-in-flight count (the reclaimer skips such pages).
import { LINE_WORDS, RING, ringWords } from '../../machine/layout.js';
import type { Machine } from '../../machine/machine.js';
import type { SharedMem } from '../../machine/shared-mem.js';
import { Doorbell } from '../../notify/doorbell.js';
import { SpscRing } from '../../notify/ring.js';

/** Ring entries (a power of two) and page-request groups the device may have outstanding. */
export const PRQ_ENTRIES = 64;
export const PRQ_GROUPS = 16;

/** Words of one ring entry (RING.ENTRY_WORDS = 4). */
export const PR = { PAGE: 0, GROUP: 1, FLAGS: 2 } as const;
export const PR_FLAG = { LAST: 1, WRITE: 2 } as const;

/** A group's response word: FREE until the device raises it, PENDING until the host answers. */
export const RESP = { FREE: 0, PENDING: 1, SUCCESS: 2, INVALID: 3, FAILURE: 4 } as const;
export type ResponseCode = typeof RESP.SUCCESS | typeof RESP.INVALID | typeof RESP.FAILURE;
const GROUP_WORD = { STATUS: 0, COST_NS: 1, PARKED: 2 } as const;

/** Shared counters (Atomics adds), read by the report. */
export const PRQ_COUNT = {
  RAISED: 0, // device: page requests raised
  ANSWERED: 1, // host: page requests answered (every entry of every answered group)
  MINOR: 2, // host: faults on a page it only had to pin and map
  MAJOR: 3, // host: faults on a page it had to bring back from swap
  INVALID: 4, // host: requests outside the guest
  DROPPED: 5, // device: descriptors dropped on a fault (--fault-mode drop)
  SHOOTDOWNS: 6, // host: device-TLB invalidations completed before a page was taken back
  SKIPPED_BUSY: 7, // host: reclaim skipped a page under an in-flight DMA
  GROUPS_RAISED: 8, // device
  GROUPS_ANSWERED: 9, // host
  REFAULTS: 10, // device: a miss right after a SUCCESS for the same page (the host took it back in between)
} as const;

const ringBase = 0;
const groupsBase = (): number => ringWords(PRQ_ENTRIES);
const countsBase = (): number => groupsBase() + PRQ_GROUPS * LINE_WORDS;
const busyBase = (): number => countsBase() + LINE_WORDS;

/** Words of the prq region for a guest of this many pages. */
export const prqWords = (guestPages: number): number => busyBase() + guestPages;

/** The queue's shared words, seen from either side. */
export class PageRequestQueue {
  readonly ring: SpscRing;

  constructor(
    readonly mem: SharedMem,
    readonly m: Machine,
  ) {
    this.ring = new SpscRing(mem, m.prq.subarray(ringBase, groupsBase()), PRQ_ENTRIES);
  }

  /** Group grp's response word as a doorbell: the host sets it, a stalled device sleeps on it. */
  response(grp: number): Doorbell {
    const b = groupsBase() + grp * LINE_WORDS;
    return new Doorbell(this.mem, this.m.prq, b + GROUP_WORD.STATUS, b + GROUP_WORD.PARKED);
  }

  /** Entries published and not yet released, from the shared words (any thread may ask). */
  queued(): number {
    return (this.mem.load(this.ring.words, RING.TAIL) - this.mem.load(this.ring.words, RING.HEAD)) | 0;
  }

  status(grp: number): number {
    return this.mem.load(this.m.prq, groupsBase() + grp * LINE_WORDS + GROUP_WORD.STATUS);
  }

  /** Device: the group is raised (before its entries are published). */
  open(grp: number): void {
    const b = groupsBase() + grp * LINE_WORDS;
    this.mem.store(this.m.prq, b + GROUP_WORD.COST_NS, 0);
    this.mem.store(this.m.prq, b + GROUP_WORD.STATUS, RESP.PENDING);
  }

  /** Device: the answer is consumed; the group index may be used again. */
  close(grp: number): void {
    this.mem.store(this.m.prq, groupsBase() + grp * LINE_WORDS + GROUP_WORD.STATUS, RESP.FREE);
  }

  /** Host: answer group grp; its modeled cost (ns) is written before the code the device waits for. */
  answer(grp: number, code: ResponseCode, costNs: number): void {
    const b = groupsBase() + grp * LINE_WORDS;
    this.mem.store(this.m.prq, b + GROUP_WORD.COST_NS, Math.min(0x7fffffff, Math.round(costNs)));
    this.response(grp).set(code);
  }

  costNs(grp: number): number {
    return this.mem.load(this.m.prq, groupsBase() + grp * LINE_WORDS + GROUP_WORD.COST_NS);
  }

  count(c: number, n = 1): void {
    this.mem.add(this.m.prq, countsBase() + c, n);
  }

  counter(c: number): number {
    return this.mem.load(this.m.prq, countsBase() + c);
  }

  /** Device: page g is under DMA (enter) or no longer (leave). */
  enter(g: number): void {
    if (g >= 0 && g < this.m.spec.guestPages) this.mem.add(this.m.prq, busyBase() + g, 1);
  }
  leave(g: number): void {
    if (g >= 0 && g < this.m.spec.guestPages) this.mem.sub(this.m.prq, busyBase() + g, 1);
  }
  busy(g: number): boolean {
    return this.mem.load(this.m.prq, busyBase() + g) !== 0;
  }
}

/** The counters as plain numbers (the report, tests), read from a machine with no SharedMem at hand. */
export function readPrqCounts(m: Machine): Record<keyof typeof PRQ_COUNT, number> {
  const out = {} as Record<keyof typeof PRQ_COUNT, number>;
  if (m.prq.length === 0) return Object.fromEntries(Object.keys(PRQ_COUNT).map((k) => [k, 0])) as typeof out;
  for (const [k, v] of Object.entries(PRQ_COUNT)) out[k as keyof typeof PRQ_COUNT] = Atomics.load(m.prq, countsBase() + v);
  return out;
}
