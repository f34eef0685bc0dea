// The oracle's shared half: violation counters and the first violation's record, in the control
// block. Any role reports; nothing here goes through the scheduled SharedMem (the oracle observes,
// it is not part of the protocol being explored).
import { CTL } from '../machine/layout.js';
import type { RoleName, ViolationRecord } from './types.js';
import { ROLES } from './types.js';

export const VIOLATION_KINDS = ['dmaToUnpinned', 'lostPayloads', 'accounting'] as const;
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
} as const;

const COUNTER: Record<ViolationKind, number> = {
  dmaToUnpinned: CTL.VIOL_DMA,
  lostPayloads: CTL.VIOL_LOST,
  accounting: CTL.VIOL_ACCT,
};

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
    Atomics.store(c, CTL.VIOL_AT_MS, Math.round(performance.timeOrigin + performance.now() - this.t0));
    Atomics.store(c, CTL.VIOL_DETAIL, detail);
    Atomics.store(c, CTL.VIOL_FIRST_SET, 2);
  }
}

export function readViolations(control: Int32Array): {
  dmaToUnpinned: number;
  lostPayloads: number;
  accounting: number;
  first?: ViolationRecord;
} {
  const out = {
    dmaToUnpinned: Atomics.load(control, CTL.VIOL_DMA),
    lostPayloads: Atomics.load(control, CTL.VIOL_LOST),
    accounting: Atomics.load(control, CTL.VIOL_ACCT),
  };
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
