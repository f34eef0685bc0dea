// The real coIOMMU pieces, built over a scenario thread's SharedMem. Scenario threads run the
// same classes the role workers run; only the harness loops around them are the scenario's own.
import { CTL, MAX_GUEST_PAGES, STAT } from '../../machine/layout.js';
import type { Machine } from '../../machine/machine.js';
import { freeRunning } from '../../machine/shared-mem.js';
import { accountingAtRest } from '../../mem/accounting.js';
import { DmaEngine } from '../../mem/dma.js';
import { readStamp } from '../../mem/payload.js';
import { HostMemory } from '../../mem/host-memory.js';
import { Oracle } from '../../core/oracle.js';
import { SCENARIO_TIMEOUT_MS, hostThread, scenarioConfig, vcpuDone } from '../scenario-kit.js';
import { buildGuest, buildHost } from '../wiring.js';
import type { CoiommuConfig } from './config.js';
import { ACCESSED, MAP_COUNT_MASK, PINNED, isPinned } from './dtt.js';

import { coiommuGuest } from './guest.js';
import { coiommuHost, type CoiommuHost } from './host.js';
import type { ThreadCtx } from '../../core/scenario.js';

/** One scan round unpins everything idle; no old generation, no speculation (fewer steps). */
export const SCENARIO_COIOMMU: CoiommuConfig = {
  dtt: 'flat',
  unpinPolicy: 'lru',
  unpinIntervalMs: 1,
  unpinGenThreshold: 1000,
  unpinLimit: MAX_GUEST_PAGES,
  pinTimeoutMs: SCENARIO_TIMEOUT_MS,
  dttShrinkMs: 0,
  speculativePages: 0,
};

export const STAMP = 0x5eed;

const cfgOf = (ctx: ThreadCtx) => scenarioConfig(ctx.variant, { coiommu: SCENARIO_COIOMMU });

/** The host's parts, wired as the hypervisor wires them. */
export function hostParts(ctx: ThreadCtx) {
  const stats = ctx.m.statsBlock(ctx.thread);
  const parts = buildHost({ host: coiommuHost }, ctx.mem, ctx.m, cfgOf(ctx), stats);
  return { ...parts, coiommu: parts.policy as CoiommuHost, stats };
}

/** A vCPU on the trap path (spin 0: a spinning vCPU would make the schedule depend on time). */
export function guestParts(ctx: ThreadCtx, vcpu: number) {
  const { mem, m } = ctx;
  const stats = m.statsBlock(ctx.thread);
  const guest = buildGuest({ guest: coiommuGuest }, mem, m, cfgOf(ctx), vcpu, stats);
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
    dmaWindow(scratch, () => dma.write(r, g, STAMP + vcpu));
    if (verify && readStamp(mem, m, g) !== STAMP + vcpu) res |= VCPU.LOST;
    guest.unmap(r, g, 1);
  }
  if (stats[STAT.PIN_REQUESTS] > 0) res |= VCPU.REQUESTED;
  vcpuDone(ctx);
  return res;
}

/**
 * Scratch words of the observer (plain Atomics, not part of the schedule): DMAs in progress, and
 * whether two DMAs into page G were ever in progress at once. Two DMAs one after the other leave
 * the later one's whole payload; only overlapping ones may legitimately tear the page.
 */
const DMA_ACTIVE = 4;
const DMA_OVERLAPPED = 5;

function dmaWindow(scratch: Int32Array, write: () => void): void {
  if (Atomics.add(scratch, DMA_ACTIVE, 1) > 0) Atomics.store(scratch, DMA_OVERLAPPED, 1);
  try {
    write();
  } finally {
    Atomics.sub(scratch, DMA_ACTIVE, 1);
  }
}

/** Did two DMAs into the page overlap in time in this schedule (so its final contents may tear)? */
export const dmasOverlapped = (scratch: Int32Array): boolean => Atomics.load(scratch, DMA_OVERLAPPED) !== 0;

/** The hypervisor's trap service for pin requests: the real pin handler over the raised slots. */
export function servePinRequests(ctx: ThreadCtx, vcpus: number, coiommu: CoiommuHost): number {
  return hostThread(ctx, vcpus, coiommu);
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
  const accountingOk = accountingAtRest(m, { pinnedFor: (g) => isPinned(Atomics.load(m.dtt, g)) });
  // resident or reclaimed to swap, the page still holds the last payload a DMA wrote into it
  const contentsOk = stamps.includes(readStamp(freeRunning, m, g));
  return { unsafeDma, accountingOk, contentsOk };
}

export const UNSAFE_DMA = 'DMA reached a page the host IOMMU did not map for it';
export const BAD_ACCOUNTING = 'pin accounting broken (PINNED bits, IOMMU entries and pinned frames disagree)';
export const MAP_FAILED = 'a map failed (the host could not pin)';
export const MAP_COUNT_LEFT = 'a DTT map count is not 0 at the end (a map or unmap lost its update)';

/**
 * At rest every map was undone: a DTT map count still up, or an unmap that found it at 0 already
 * (the driver logs that and leaves the count alone), means a count update was lost.
 */
export function mapCountLost(m: Machine, threads: number): boolean {
  for (let t = 0; t < threads; t++) if (m.statsBlock(t)[STAT.MAP_COUNT_UNDERFLOW] > 0) return true;
  return Array.from(m.dtt).some((w) => (w & MAP_COUNT_MASK) !== 0);
}
export const STALE_NOTIFY = 'a served pin request left its notify word behind (the host clears it before REQ, as crosvm does)';
export const LOST_PAYLOAD = 'a payload was lost (the guest read back something else, or the page lost its contents)';
