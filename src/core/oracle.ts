// The oracle's shared half: violation counters and the first violation's record, in the control
// block. Any role reports; nothing here goes through the scheduled SharedMem (the oracle observes,
// it is not part of the protocol being explored).
import { CTL } from '../machine/layout.js';
import type { RoleName, ViolationRecord } from './types.js';
import { ROLES } from './types.js';

export const VIOLATION_KINDS = ['dmaToUnpinned', 'lostPayloads', 'accounting', 'unpinnedWhileMapped', 'lostWakeups', 'mapFailures', 'undrainedUnpins'] as const;
export type ViolationKind = (typeof VIOLATION_KINDS)[number];

/** Short reasons, stored as an index so the record fits in shared words. */
export const VIOLATION_DETAILS = [
  'IOMMU fault: guest page not mapped in the host IOMMU during DMA',
  'DMA into a host frame owned by another guest page',
  'DMA into a host frame that is not pinned',
  'payload stamp or checksum wrong after DMA completion',
  'page contents changed while the page was not DMA-mapped (reclaim lost data?)',
  'pinned-page count differs from PINNED DTT entries or host IOMMU mappings',
  'state left behind at teardown',
  'map count underflow or overflow',
  'data frame pool exhausted',
  'a DTT page was freed while the host walked it, or a freed page is still referenced',
  'IOMMU fault: device read of a guest page not mapped in the host IOMMU',
  'device read of a host frame owned by another guest page',
  'device read of a host frame that is not pinned',
  'device read returned other data than the guest wrote',
  'host unpinned a page the guest holds mapped',
  'host reclaimed the frame of a page the guest holds mapped',
  'a map returned success for a page the host IOMMU does not map',
  'an IOVA the guest holds mapped was handed out again',
  'a shadow entry the guest relies on was removed or replaced',
  'a map returned success for an IOVA the shadow table does not map to its page',
  'a wait timed out although its word had changed: nobody notified (a lost wake-up)',
  'a map failed although no host pin failed while it ran',
  'the host unpinned a page before the device IOTLB flush covering it drained',
  'the DTT map counts of pinned pages exceed the page maps in flight (an unmap that left a count behind)',
] as const;
export const DETAIL = {
  iommuFault: 0,
  wrongOwner: 1,
  notPinned: 2,
  badPayload: 3,
  contentsChanged: 4,
  pinCountMismatch: 5,
  teardownLeftovers: 6,
  mapCount: 7,
  dataPoolExhausted: 8,
  dttPageFreed: 9,
  // device reads (DMA_TO_DEVICE): the same checks as a write, named as reads
  readIommuFault: 10,
  readWrongOwner: 11,
  readNotPinned: 12,
  readMismatch: 13,
  unpinRelied: 14,
  reclaimRelied: 15,
  reliedUnpinned: 16,
  iovaReused: 17,
  shadowRemoved: 18,
  reliedUnshadowed: 19,
  lostWakeup: 20,
  mapFailedFree: 21,
  undrained: 22,
  mapCountsExceed: 23,
} as const;

const COUNTER: Record<ViolationKind, number> = {
  dmaToUnpinned: CTL.VIOL_DMA,
  lostPayloads: CTL.VIOL_LOST,
  accounting: CTL.VIOL_ACCT,
  unpinnedWhileMapped: CTL.VIOL_RELY,
  lostWakeups: CTL.VIOL_WAKE,
  mapFailures: CTL.VIOL_MAPFAIL,
  undrainedUnpins: CTL.VIOL_DRAIN,
};

const T0_MODULUS = 2 ** 30;

export class Oracle {
  constructor(
    private readonly control: Int32Array,
    private readonly role: RoleName,
    private readonly t0: number,
  ) {}

  report(kind: ViolationKind, gfn: number, frame: number, detail: number): void {
    const c = this.control;
    Atomics.add(c, COUNTER[kind], 1);
    if (Atomics.compareExchange(c, CTL.VIOL_FIRST_SET, 0, 1) !== 0) return;
    Atomics.store(c, CTL.VIOL_KIND, VIOLATION_KINDS.indexOf(kind));
    Atomics.store(c, CTL.VIOL_ROLE, ROLES.indexOf(this.role));
    Atomics.store(c, CTL.VIOL_GFN, gfn);
    Atomics.store(c, CTL.VIOL_FRAME, frame);
    Atomics.store(c, CTL.VIOL_AT_MS, this.sinceStartMs());
    Atomics.store(c, CTL.VIOL_DETAIL, detail);
    Atomics.store(c, CTL.VIOL_FIRST_SET, 2);
  }

  /** Milliseconds since the run started: from t0, or (t0 = 0) from the start the roles published. */
  private sinceStartMs(): number {
    const now = Math.round(performance.timeOrigin + performance.now());
    if (this.t0 !== 0) return Math.round(now - this.t0);
    return (now % T0_MODULUS) - Atomics.load(this.control, CTL.RUN_T0_MOD) + (now % T0_MODULUS < Atomics.load(this.control, CTL.RUN_T0_MOD) ? T0_MODULUS : 0);
  }
}

/** Publish the run's start for oracles built without it (RUN_T0_MOD: ms modulo 2^30). */
export function publishRunStart(control: Int32Array, t0: number): void {
  Atomics.store(control, CTL.RUN_T0_MOD, Math.round(t0) % T0_MODULUS);
}

export type ViolationCounts = Record<ViolationKind, number>;

export function readViolations(control: Int32Array): ViolationCounts & { first?: ViolationRecord } {
  const out = Object.fromEntries(VIOLATION_KINDS.map((k) => [k, Atomics.load(control, COUNTER[k])])) as ViolationCounts;
  if (Atomics.load(control, CTL.VIOL_FIRST_SET) !== 2) return out;
  return {
    ...out,
    first: {
      kind: VIOLATION_KINDS[Atomics.load(control, CTL.VIOL_KIND)],
      role: ROLES[Atomics.load(control, CTL.VIOL_ROLE)],
      gfn: Atomics.load(control, CTL.VIOL_GFN),
      frame: Atomics.load(control, CTL.VIOL_FRAME),
      atMs: Atomics.load(control, CTL.VIOL_AT_MS),
      detail: VIOLATION_DETAILS[Atomics.load(control, CTL.VIOL_DETAIL)] ?? 'unknown',
    },
  };
}
