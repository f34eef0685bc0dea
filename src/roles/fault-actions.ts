// What the tick faults do, in the role that carries each out: spurious wake-ups (sent to the
// target), a balloon inflation (the hypervisor asks to unpin pages), a rogue DMA (the device).
import type { FaultBoard } from '../core/faults/board.js';
import type { FaultSpec } from '../core/faults/plan.js';
import { DETAIL, type Oracle } from '../core/oracle.js';
import { CTL, PROBE_LOG, RING, SLOT, STAT } from '../machine/layout.js';
import { countedNotify } from '../machine/notify-ledger.js';
import { Balloon } from '../mem/balloon.js';
import type { Machine } from '../machine/machine.js';
import type { SharedMem } from '../machine/shared-mem.js';
import type { DmaEngine } from '../mem/dma.js';
import type { HostParts } from '../policies/wiring.js';

/** Wake the target with nothing to do: bump its doorbell (a ring with no work), or notify its words unchanged. */
export function spuriousWake(m: Machine, spec: FaultSpec, board: FaultBoard): void {
  const c = m.control;
  const bells = { hypervisor: CTL.HOST_DOORBELL, host: CTL.HOST_DOORBELL, sidecore: CTL.SIDECORE_DOORBELL, device: CTL.DEVICE_DOORBELL } as const;
  let wakes = 0;
  if (spec.target !== 'guest') {
    const w = bells[spec.target];
    Atomics.add(c, w, 1);
    wakes += countedNotify(m.notifyLedger, c, w);
  } else {
    for (let v = 0; v < m.spec.vcpus; v++) {
      if (spec.index >= 0 && v !== spec.index) continue;
      // everything a vCPU sleeps on: its answer slot, its completion ring, the host timer's sequence
      wakes += countedNotify(m.notifyLedger, m.slots, v * SLOT.WORDS + SLOT.REQ) + countedNotify(m.notifyLedger, m.compRing(v), RING.TAIL);
    }
    wakes += countedNotify(m.notifyLedger, c, CTL.TIMER_SEQ);
  }
  board.react('spurious-wake', 'wakes', Math.max(1, wakes));
}

/**
 * Memory pressure (a balloon inflating): the same mechanism as --balloon (src/mem/balloon.ts), one
 * inflation of `spec.param` pages now. Unpinned resident frames go first, then pinned pages are
 * offered to the policy's force-unpin; a page still mapped is refused and stays.
 */
export function balloon(mem: SharedMem, m: Machine, parts: HostParts, stats: Float64Array, spec: FaultSpec, board: FaultBoard): void {
  const { host, lock, policy } = parts;
  const force = policy?.forceUnpin ? (g: number) => policy.forceUnpin!(g) : undefined;
  const refused = stats[STAT.BALLOON_REFUSED];
  const released = new Balloon(mem, m, host, lock, stats, spec.param, 0, force).tick(0);
  board.react('balloon', 'released', released);
  const refusedNow = stats[STAT.BALLOON_REFUSED] - refused;
  board.react('balloon', 'refusedMapped', refusedNow);
  if (refusedNow > 0) board.react('balloon', 'refusals', 1);
}

/**
 * A rogue DMA: to an address unmapped a moment ago (a random entry of a vCPU's unmap log), one
 * unmapped long ago (guest-page addresses only: remembered from older logs), or one never given
 * (the top of the DMA address space). It is checked, not written: blocked by the IOMMU, or it
 * reaches a frame, which must still be pinned and, for guest-page addresses, belong to that very
 * page (a stale entry to a frame unpinned or now another page's would be corruption: a violation).
 */
export class RogueDma {
  /** Addresses seen unmapped earlier (identity DMA: any guest page may be probed). */
  private readonly past = new Int32Array(256).fill(-1);

  constructor(
    private readonly m: Machine,
    private readonly dma: DmaEngine,
    private readonly identity: boolean,
    private readonly oracle: Oracle,
    private readonly board: FaultBoard,
    private readonly rnd: () => number,
  ) {}

  fire(): void {
    const { m, rnd, past } = this;
    const space = m.iovaPages > 0 ? m.iovaPages : m.spec.guestPages;
    const log = m.probeLogOf(Math.floor(rnd() * m.spec.vcpus));
    const at = PROBE_LOG.BASE + Math.floor(rnd() * PROBE_LOG.ENTRIES) * PROBE_LOG.ENTRY_WORDS;
    const logged = Atomics.load(log, at) - 1;
    const old = past[Math.floor(rnd() * past.length)];
    if (logged >= 0 && logged < space) past[Math.floor(rnd() * past.length)] = logged;
    if (this.identity && old >= 0 && rnd() < 0.5 && this.access(old, () => true)) return;
    // an address mapped again meanwhile is no longer rogue: then the never-given one
    if (logged >= 0 && logged < space && this.access(logged, () => Atomics.load(log, at) - 1 === logged)) return;
    this.access(space - 1, () => true);
  }

  private access(addr: number, stillRogue: () => boolean): boolean {
    return tryRogue(this.m, this.dma, this.identity, this.oracle, this.board, addr, stillRogue);
  }
}

/** One rogue access to `addr`; false (nothing counted) if `stillRogue` says it was mapped again meanwhile. */
function tryRogue(m: Machine, dma: DmaEngine, identity: boolean, oracle: Oracle, board: FaultBoard, addr: number, stillRogue: () => boolean): boolean {
  const tlb = dma.iotlb;
  tlb?.begin(); // a host flush waits for this access to end, so the frame cannot be unpinned under it
  try {
    const f = tlb ? tlb.probe(addr) : Atomics.load(m.iommu, addr) - 1;
    if (!stillRogue()) return false;
    if (f < 0) {
      board.react('rogue-dma', 'blocked');
      return true;
    }
    board.react('rogue-dma', 'unprotected');
    const owner = Atomics.load(m.frameOwner, f) - 1;
    const pinned = Atomics.load(m.framePinned, f) !== 0;
    // no IOTLB: the host removes the IOMMU entry before it unpins; an entry gone meanwhile is that race
    if (tlb === undefined && Atomics.load(m.iommu, addr) - 1 !== f) return true;
    if (identity && owner !== addr) oracle.report('dmaToUnpinned', addr, f, DETAIL.wrongOwner);
    else if (!pinned) oracle.report('dmaToUnpinned', owner, f, DETAIL.notPinned);
    return true;
  } finally {
    tlb?.end();
  }
}
