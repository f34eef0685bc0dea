// The real coIOMMU pieces, built over a scenario thread's SharedMem. Scenario threads run the
// same classes the role workers run; only the harness loops around them are the scenario's own.
import { CTL, STAT } from '../../machine/layout.js';
import type { Machine } from '../../machine/machine.js';
import { freeRunning, type SharedMem } from '../../machine/shared-mem.js';
import { checkAccounting } from '../../mem/accounting.js';
import { DmaEngine } from '../../mem/dma.js';
import { readStamp } from '../../mem/payload.js';
import { HostMemory } from '../../mem/host-memory.js';
import { NO_LOCK, PinStateLock, type Lock } from '../../notify/lock.js';
import { parkUntilChanged, wakeIfParked } from '../../notify/park.js';
import { SlotRequester, serveSlots } from '../../notify/pin-request.js';
import { CoiommuGuest } from '../../protocol/coiommu-guest.js';
import { CoiommuHost } from '../../protocol/coiommu-host.js';
import { ACCESSED, PINNED } from '../../protocol/dtt.js';
import { Oracle } from '../../run/oracle.js';
import type { CoiommuConfig, Variant } from '../../run/types.js';
import type { ThreadCtx } from '../scenario.js';

/** One scan round unpins everything idle; no old generation, no speculation (fewer steps). */
export const SCENARIO_COIOMMU: CoiommuConfig = {
  unpinIntervalMs: 1,
  unpinGenThreshold: 1000,
  unpinLimit: 0,
  speculativePages: 0,
};

/** A lock held this long under the explorer means a real deadlock, not a slow schedule. */
const LOCK_TIMEOUT_MS = 30_000;

/** Scratch words shared by the coIOMMU scenarios. */
export const SCRATCH = {
  /** vCPUs that have finished (the pin handler leaves when all have). */
  DONE: 0,
} as const;

export const STAMP = 0x5eed;

export function lockFor(mem: SharedMem, m: Machine, variant: Variant): Lock {
  return variant === 'no-pin-lock' ? NO_LOCK : new PinStateLock(mem, m.control, CTL.PIN_LOCK, LOCK_TIMEOUT_MS);
}

export function hostParts(ctx: ThreadCtx) {
  const { mem, m, variant } = ctx;
  const stats = m.statsBlock(ctx.thread);
  const host = new HostMemory(mem, m, stats);
  const lock = lockFor(mem, m, variant);
  const coiommu = new CoiommuHost(mem, m, host, lock, SCENARIO_COIOMMU, stats, variant);
  return { host, lock, coiommu, stats };
}

/** A vCPU on the trap path (spin 0: a spinning vCPU would make the schedule depend on time). */
export function guestParts(ctx: ThreadCtx, vcpu: number) {
  const { mem, m, variant } = ctx;
  const stats = m.statsBlock(ctx.thread);
  const requester = new SlotRequester('trap', mem, m, vcpu, 0, LOCK_TIMEOUT_MS, stats, variant);
  const guest = new CoiommuGuest(mem, m, requester, stats, variant);
  const dma = new DmaEngine(mem, m, stats, new Oracle(m.control, 'device', 0));
  return { guest, dma, stats };
}

/** Result bits of a vCPU thread. */
export const VCPU = { MAPPED: 1, REQUESTED: 2, LOST: 4 } as const;

/**
 * Map page g, let the device DMA into it, read the payload back (as the net driver does before it
 * unmaps), unmap; then say so to the pin handler.
 */
export function mapDmaUnmap(ctx: ThreadCtx, vcpu: number, g: number, verify = true): number {
  const { mem, m, scratch } = ctx;
  const { guest, dma, stats } = guestParts(ctx, vcpu);
  let res = 0;
  const r = guest.map(g, 1);
  if (r >= 0) {
    res |= VCPU.MAPPED;
    dma.write(r, g, STAMP + vcpu);
    if (verify && readStamp(mem, m, g) !== STAMP + vcpu) res |= VCPU.LOST;
    guest.unmap(r, g, 1);
  }
  if (stats[STAT.PIN_REQUESTS] > 0) res |= VCPU.REQUESTED;
  mem.add(scratch, SCRATCH.DONE, 1);
  ringHost(ctx);
  return res;
}

/** Ring the host's doorbell as a trapping vCPU does: bump it, notify if the host sleeps. */
export function ringHost(ctx: ThreadCtx): void {
  const { mem, m } = ctx;
  mem.add(m.control, CTL.HOST_DOORBELL, 1);
  wakeIfParked(mem, m.control, CTL.HOST_DOORBELL, m.control, CTL.HOST_PARKED);
}

/**
 * The hypervisor's trap loop, reduced to its core: do one round of work, leave once `vcpus`
 * vCPUs are done, else sleep on the doorbell (raising HOST_PARKED, as the hypervisor role does).
 * The doorbell value is read before the work, so a request raised after it still wakes the host.
 */
export function hostLoop(ctx: ThreadCtx, vcpus: number, work: () => number): number {
  const { mem, m, scratch } = ctx;
  let done = 0;
  for (;;) {
    const seq = mem.load(m.control, CTL.HOST_DOORBELL);
    done += work();
    if (mem.load(scratch, SCRATCH.DONE) >= vcpus) return done;
    parkUntilChanged(mem, m.control, CTL.HOST_DOORBELL, seq, m.control, CTL.HOST_PARKED, 1000);
  }
}

/** The hypervisor's trap service for pin requests: the real pin handler over the raised slots. */
export function servePinRequests(ctx: ThreadCtx, vcpus: number, coiommu: CoiommuHost): number {
  return hostLoop(ctx, vcpus, () => serveSlots(ctx.mem, ctx.m, (g) => coiommu.pin(g)));
}

/** Set-up: page g pinned by the host as the real pin handler would leave it, map count 0. */
export function pinFreeRunning(m: Machine, g: number, accessed: boolean): void {
  const host = new HostMemory(freeRunning, m);
  if (!host.pin(g)) throw new Error(`scenario set-up could not pin page ${g}`);
  Atomics.or(m.dtt, g, PINNED | (accessed ? ACCESSED : 0));
}

/** What the oracle saw, after the schedule: DMA safety, pin accounting, and page g's contents. */
export function verdictWords(m: Machine, g: number, stamps: number[]): { unsafeDma: number; accountingOk: boolean; contentsOk: boolean } {
  const unsafeDma = Atomics.load(m.control, CTL.VIOL_DMA);
  const silent = new Oracle(new Int32Array(CTL.WORDS), 'hypervisor', 0);
  const accountingOk = checkAccounting(freeRunning, m, new HostMemory(freeRunning, m), NO_LOCK, silent, true);
  // resident or reclaimed to swap, the page still holds the last payload a DMA wrote into it
  const contentsOk = stamps.includes(readStamp(freeRunning, m, g));
  return { unsafeDma, accountingOk, contentsOk };
}

export const UNSAFE_DMA = 'DMA reached a page the host IOMMU did not map for it';
export const BAD_ACCOUNTING = 'pin accounting broken (PINNED bits, IOMMU entries and pinned frames disagree)';
export const MAP_FAILED = 'a map failed (the host could not pin)';
export const LOST_PAYLOAD = 'a payload was lost (the guest read back something else, or the page lost its contents)';
