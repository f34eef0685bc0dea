// Scenario threads around the descriptor and completion rings: a vCPU that maps a buffer through
// its policy, posts it on its descriptor ring (the real SpscRing), kicks the device, waits for the
// completion, checks the payload and unmaps; and the device running the real NIC (`NetDevice`:
// ring -> DMA engine -> completion). Used by the coIOMMU and the vIOMMU ring scenarios alike.
import { CTL, RING } from '../machine/layout.js';
import type { Machine } from '../machine/machine.js';
import { DEFAULT_COST_TABLE } from '../core/cost-table.js';
import { Oracle } from '../core/oracle.js';
import { RELIANCE_BROKEN, type ThreadCtx } from '../core/scenario.js';
import type { GuestDmaPolicy } from '../core/guest-dma-policy.js';
import type { Iotlb } from '../mem/iotlb.js';
import { readStamp } from '../mem/payload.js';
import { deviceDoorbell } from '../notify/delivery.js';
import { SpscRing } from '../notify/ring.js';
import { COMP, DESC } from '../workloads/net/guest.js';
import { NetDevice } from '../workloads/net/device.js';
import { SCRATCH, vcpuDone } from './scenario-kit.js';

/** Result bits of a ring vCPU. */
export const RING_VCPU = { MAPPED: 1, COMPLETED: 2, PAYLOAD_OK: 4, COMP_MATCHES: 8, KICKED: 16 } as const;
/** Scratch word: the device has completed this many descriptors (it leaves when the vCPU is done). */
const S_DEVICE_DONE = 4;
/**
 * Observer words (plain Atomics, not scheduled: they record, the protocol never reads them): the
 * buffer the vCPU posted (DMA address + 1, pages), and 1 if the device could still translate a page
 * of it after the vCPU's unmap returned.
 */
const S_POSTED = 6;
const S_POSTED_PAGES = 7;
const S_STALE = 8;

export const RING_STAMP = 0x7a11;

/**
 * Map `pages` pages at gfn, post one descriptor, kick the device, wait for its completion, check
 * the completion names the buffer and the payload is there, unmap. Returns RING_VCPU bits.
 */
export function ringVcpu(ctx: ThreadCtx, guest: GuestDmaPolicy, gfn: number, pages: number): number {
  const { mem, m } = ctx;
  const desc = new SpscRing(mem, m.descRing(0), m.spec.ringEntries, ctx.variant === 'ring-publish-before-write');
  const comp = new SpscRing(mem, m.compRing(0), m.spec.ringEntries);
  let res = 0;
  const dma = guest.map(gfn, pages);
  if (dma >= 0 && desc.space() > 0) {
    res |= RING_VCPU.MAPPED;
    Atomics.store(ctx.scratch, S_POSTED, dma + 1);
    Atomics.store(ctx.scratch, S_POSTED_PAGES, pages);
    desc.put(Int32Array.of(dma, gfn, pages, RING_STAMP)); // DESC order: DMA, GFN, PAGES, STAMP
    desc.publish();
    if (deviceDoorbell(mem, m).kick()) res |= RING_VCPU.KICKED;
    while (comp.available() === 0) comp.published.sleep(() => comp.available() > 0, 1000);
    res |= RING_VCPU.COMPLETED;
    const ok = comp.peek(0, COMP.DMA) === dma && comp.peek(0, COMP.GFN) === gfn && comp.peek(0, COMP.PAGES) === pages && comp.peek(0, COMP.STAMP) === RING_STAMP;
    if (ok) res |= RING_VCPU.COMP_MATCHES;
    comp.release(1);
    let payload = true;
    for (let k = 0; k < pages; k++) if (readStamp(mem, m, gfn + k) !== RING_STAMP) payload = false;
    if (payload) res |= RING_VCPU.PAYLOAD_OK;
    guest.unmap(dma, gfn, pages);
  }
  vcpuDone(ctx);
  deviceDoorbell(mem, m).ring(); // the device leaves once the vCPU is done
  return res;
}

/**
 * The NIC: serve the rings until the vCPU is done and nothing is left. Returns descriptors completed.
 * `strict`: then probe the buffer once more, as a device retrying a stale descriptor would.
 */
export function ringDevice(ctx: ThreadCtx, vcpus: number, iotlb?: Iotlb, strict = false): number {
  const { mem, m, scratch } = ctx;
  const dev = new NetDevice(mem, m, DEFAULT_COST_TABLE, m.statsBlock(ctx.thread), new Oracle(m.control, 'device', 0), iotlb);
  const bell = deviceDoorbell(mem, m);
  const allDone = () => mem.load(scratch, SCRATCH.DONE) >= vcpus;
  let done = 0;
  for (;;) {
    const n = dev.poll();
    done += n;
    if (n > 0) continue;
    if (allDone() && !dev.pending()) break;
    // as NetDevice.park, but a vCPU that finished also wakes it (it rings after counting itself done)
    bell.sleep(() => dev.pending() || allDone(), 1000);
  }
  Atomics.store(scratch, S_DEVICE_DONE, done);
  if (strict) probeAfterUnmap(scratch, dev);
  return done;
}

/**
 * A strict unmap returned before the vCPU counted itself done: no page of its buffer may translate
 * now. A stale IOTLB entry (a flush the device never applied, or applied to the wrong range) or a
 * stale page-table-cache entry shows here, though no DMA of the scenario uses it.
 */
function probeAfterUnmap(scratch: Int32Array, dev: NetDevice): void {
  const dma = Atomics.load(scratch, S_POSTED) - 1;
  if (dma < 0) return;
  for (let k = 0; k < Atomics.load(scratch, S_POSTED_PAGES); k++) if (dev.dma.probe(dma + k) >= 0) Atomics.store(scratch, S_STALE, 1);
}

/** The buffer the vCPU posted, if it mapped one: its DMA address and pages. */
export function postedBuffer(scratch: Int32Array): { dma: number; pages: number } | undefined {
  const dma = Atomics.load(scratch, S_POSTED) - 1;
  return dma < 0 ? undefined : { dma, pages: Atomics.load(scratch, S_POSTED_PAGES) };
}

export const RING_STALE_AFTER_UNMAP = "the NIC could still translate the buffer after the vCPU's strict unmap returned (a stale IOTLB or page-table-cache entry)";

/** Did the device's probe after the unmap get through? */
export const staleAfterUnmap = (scratch: Int32Array): boolean => Atomics.load(scratch, S_STALE) === 1;

/** What every ring scenario forbids, from the vCPU's bits and the oracle. */
export function ringSafety(m: Machine, vcpuBits: number): string | undefined {
  if (Atomics.load(m.control, CTL.VIOL_DMA) > 0) return RING_UNSAFE_DMA;
  if (!(vcpuBits & RING_VCPU.MAPPED)) return undefined;
  if (!(vcpuBits & RING_VCPU.COMP_MATCHES)) return RING_BAD_COMPLETION;
  if (!(vcpuBits & RING_VCPU.PAYLOAD_OK)) return RING_LOST_PAYLOAD;
  return undefined;
}

/** The rings are empty again: every descriptor taken, every completion reaped. */
export function ringsDrained(m: Machine): boolean {
  const d = m.descRing(0);
  const c = m.compRing(0);
  return Atomics.load(d, RING.TAIL) === Atomics.load(d, RING.HEAD) && Atomics.load(c, RING.TAIL) === Atomics.load(c, RING.HEAD);
}

export const RING_UNSAFE_DMA = 'the NIC DMAed into a page the IOMMU did not map for it';
export const RING_BAD_COMPLETION = 'the completion does not name the buffer that was posted (a torn or stale ring entry)';
export const RING_LOST_PAYLOAD = 'the payload the NIC completed is not in the buffer';
export const RING_NOT_DRAINED = 'a descriptor or completion was left on a ring';

/** The ring scenarios' FORBIDDEN rows (plus the oracle's: a reliance violation is FORBIDDEN everywhere). */
export const RING_FORBIDDEN = {
  [RING_UNSAFE_DMA]: 'FORBIDDEN',
  [RING_BAD_COMPLETION]: 'FORBIDDEN',
  [RING_LOST_PAYLOAD]: 'FORBIDDEN',
  [RING_NOT_DRAINED]: 'FORBIDDEN',
  [RELIANCE_BROKEN]: 'FORBIDDEN',
} as const;
