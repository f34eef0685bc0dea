// What the tick faults do, in the role that carries each out: spurious wake-ups (sent to the
// target), a balloon inflation (the hypervisor asks to unpin pages), a rogue DMA (the device).
import type { FaultBoard } from '../core/faults/board.js';
import type { FaultSpec } from '../core/faults/plan.js';
import { DETAIL, type Oracle } from '../core/oracle.js';
import { CTL, PROBE_LOG, RING, SLOT } from '../machine/layout.js';
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
    wakes += Atomics.notify(c, w);
  } else {
    for (let v = 0; v < m.spec.vcpus; v++) {
      if (spec.index >= 0 && v !== spec.index) continue;
      // everything a vCPU sleeps on: its answer slot, its completion ring, the host timer's sequence
      wakes += Atomics.notify(m.slots, v * SLOT.WORDS + SLOT.REQ) + Atomics.notify(m.compRing(v), RING.TAIL);
    }
    wakes += Atomics.notify(c, CTL.TIMER_SEQ);
  }
  board.react('spurious-wake', 'wakes', Math.max(1, wakes));
}

/**
 * Memory pressure (a balloon inflating): ask the policy to unpin up to `spec.param` pinned pages
 * and take back the frames it releases. A page still mapped is refused and stays (coIOMMU's
 * force-unpin fails on a non-zero map count); a policy without force-unpin refuses every page.
 */
export function balloon(mem: SharedMem, m: Machine, parts: HostParts, spec: FaultSpec, board: FaultBoard): void {
  const { host, lock, policy } = parts;
  let unpinned = 0;
  let refused = 0;
  const high = host.frameHigh();
  for (let f = 0; f < high && unpinned + refused < spec.param; f++) {
    const owner = mem.load(m.frameOwner, f);
    if (owner === 0 || mem.load(m.framePinned, f) === 0) continue;
    if (!policy?.forceUnpin?.(owner - 1)) {
      refused++;
      continue;
    }
    unpinned++;
    lock.lock();
    try {
      host.reclaim(f); // released: its contents go to swap, a later fault-in restores them
    } finally {
      lock.unlock();
    }
  }
  board.react('balloon', 'unpinned', unpinned);
  board.react('balloon', 'refusedMapped', refused);
}

/**
 * A rogue DMA: to an address unmapped a moment ago (the newest entry of a vCPU's unmap log), or
 * one never given (the top of the DMA address space). It is checked, not written: blocked by the
 * IOMMU, or it reaches a frame, which must still be pinned and, for guest-page addresses, belong to
 * that very page (a frame of another page would be corruption: a violation).
 */
export function rogueDma(m: Machine, dma: DmaEngine, identity: boolean, oracle: Oracle, board: FaultBoard, rnd: () => number): void {
  const addr = rogueAddress(m, rnd);
  const tlb = dma.iotlb;
  tlb?.begin(); // a host flush waits for this access to end, so the frame cannot be unpinned under it
  try {
    const f = tlb ? tlb.probe(addr) : Atomics.load(m.iommu, addr) - 1;
    if (f < 0) return board.react('rogue-dma', 'blocked');
    board.react('rogue-dma', 'unprotected');
    const owner = Atomics.load(m.frameOwner, f) - 1;
    const pinned = Atomics.load(m.framePinned, f) !== 0;
    // no IOTLB: the host removes the IOMMU entry before it unpins; an entry gone meanwhile is that race
    const stillMapped = tlb !== undefined || Atomics.load(m.iommu, addr) - 1 === f;
    if (!stillMapped) return;
    if (identity && owner !== addr) oracle.report('dmaToUnpinned', addr, f, DETAIL.wrongOwner);
    else if (!pinned) oracle.report('dmaToUnpinned', owner, f, DETAIL.notPinned);
  } finally {
    tlb?.end();
  }
}

function rogueAddress(m: Machine, rnd: () => number): number {
  const space = m.iovaPages > 0 ? m.iovaPages : m.spec.guestPages;
  if (rnd() < 0.5) {
    const log = m.probeLogOf(Math.floor(rnd() * m.spec.vcpus));
    const cur = Atomics.load(log, PROBE_LOG.CURSOR);
    const dma = Atomics.load(log, PROBE_LOG.BASE + ((cur - 1) & (PROBE_LOG.ENTRIES - 1)) * PROBE_LOG.ENTRY_WORDS) - 1;
    if (dma >= 0 && dma < space) return dma;
  }
  return space - 1;
}
