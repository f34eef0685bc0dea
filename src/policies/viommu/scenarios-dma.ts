// vIOMMU scenarios along the whole DMA path (DESIGN 1.2): a strict map (IO page table, invalidation,
// wait descriptor), the buffer posted on the descriptor ring, the real NIC DMAing it through its
// IOTLB over the 4-level IO page table (as the viommu policy wires it), the completion, the strict
// unmap that tears it all down, and the NIC's probe of the buffer afterwards, which must fault.
import type { Machine } from '../../machine/machine.js';
import { CTL, INVQ } from '../../machine/layout.js';
import type { Scenario, ThreadCtx } from '../../core/scenario.js';
import { deviceWalk } from '../../mem/device-walk.js';
import { auditIoRadix } from '../../mem/io-radix-audit.js';
import { Iotlb } from '../../mem/iotlb.js';
import { hostThread, scenarioConfig } from '../scenario-kit.js';
import { buildGuest, buildHost } from '../wiring.js';
import {
  RING_FORBIDDEN,
  RING_NOT_DRAINED,
  RING_STALE_AFTER_UNMAP,
  RING_VCPU,
  postedBuffer,
  ringDevice,
  ringSafety,
  ringVcpu,
  ringsDrained,
  staleAfterUnmap,
} from '../ring-dma-kit.js';
import { iotlbOver, type ViommuConfig } from './config.js';
import { viommuGuest } from './guest.js';
import { viommuHost, type ViommuHost } from './host.js';

export const SCENARIO_VIOMMU: ViommuConfig = {
  queueEntries: 4,
  iotlbEntries: 4,
  iotlbWays: 2,
  flushQueueEntries: 2,
  flushTimeoutMs: 10,
  optimisticTimeoutMs: 5,
  optimisticQuota: 1,
  ptcacheL1: 2,
  ptcacheL2: 1,
  ptcacheL3: 1,
  invalidation: 'linux',
};
export const viommuCfgOf = (ctx: ThreadCtx) => scenarioConfig(ctx.variant, { viommu: SCENARIO_VIOMMU });

/** The hypervisor's trap service over the invalidation queue, until `vcpus` vCPUs are done. */
export function viommuHostThread(ctx: ThreadCtx, vcpus: number): number {
  const { policy } = buildHost({ host: viommuHost }, ctx.mem, ctx.m, viommuCfgOf(ctx), ctx.m.statsBlock(ctx.thread));
  return hostThread(ctx, vcpus, policy as ViommuHost);
}

export const TORN_DOWN_WRONG = 'after the strict unmap something is left: an IO page-table or shadow entry, a shadow reference or a pinned page';

/** After a strict unmap of everything: no IO page-table or shadow entry, no reference, nothing pinned. */
export function allTornDown(m: Machine): boolean {
  const zero = (a: Int32Array) => Array.from(a).every((w) => w === 0);
  return zero(m.iopt) && zero(m.shadow) && zero(m.shadowRefs) && zero(m.iommu) && zero(m.framePinned) && Atomics.load(m.control, CTL.PINNED_NOW) === 0;
}

const PAGES = 2;
const GFN = 1;

export const PEAKS_LOW = 'the pinned or resident peak is below what was pinned at once (a lost peak update: a wrong figure)';
/** The peak counters (report figures) saw at least `pages` pages pinned and resident at once. */
export const peaksCover = (m: Machine, pages: number): boolean =>
  Atomics.load(m.control, CTL.PINNED_PEAK) >= pages && Atomics.load(m.control, CTL.RESIDENT_PEAK) >= pages;

export const IOVA_BELOW_BUMP = 'an IOVA handed out lies at or above the allocator\'s bump pointer (the next allocation would hand it out again)';
export const PT_POOL_BROKEN = 'the IO page table pool is broken at the end (a page leaked, freed while linked, or miscounted)';

/** The device as the viommu policy wires it: its IOTLB over the 4-level table, with page-table caches. */
function viommuDeviceIotlb(ctx: ThreadCtx): Iotlb {
  const { mem, m } = ctx;
  const t = iotlbOver(m.shadow, viommuCfgOf(ctx), 'radix');
  const stats = m.statsBlock(ctx.thread);
  return new Iotlb(mem, m, t.entries, t.ways, stats, deviceWalk(mem, m, t, stats));
}

/** What a strict teardown leaves behind wrongly, beyond allTornDown: undefined if nothing. */
function teardownFaults(m: Machine, scratch: Int32Array): string | undefined {
  if (staleAfterUnmap(scratch)) return RING_STALE_AFTER_UNMAP;
  const posted = postedBuffer(scratch);
  if (!posted) return undefined;
  if (posted.dma + posted.pages > Atomics.load(m.invq, INVQ.IOVA_NEXT)) return IOVA_BELOW_BUMP;
  if (!peaksCover(m, posted.pages)) return PEAKS_LOW;
  if (auditIoRadix(m).length > 0) return PT_POOL_BROKEN;
  return undefined;
}

const ringDma: Scenario = {
  name: 'viommu-ring-dma',
  budget: 1000,
  description:
    'viommu-strict: a vCPU maps a 2-page buffer (IOVA from the allocator, IO page table, invalidation + wait ' +
    'descriptor), posts it on its descriptor ring and kicks the NIC; the real NetDevice DMAs it through its IOTLB ' +
    'over the 4-level IO page table and completes it; the vCPU checks completion and payload and unmaps strictly; ' +
    'then the NIC probes the buffer again, which must fault.',
  threads: ['vcpu0', 'hypervisor', 'device'],
  variants: ['none', 'ring-publish-before-write'],
  spec: { guestPages: 4, vcpus: 1, hostFrames: 4, dataFrames: 4, ringEntries: 2, iovaPages: 4, invqEntries: 4 },
  setup() {},
  run(ctx: ThreadCtx) {
    const { mem, m } = ctx;
    if (ctx.thread === 0) {
      const guest = buildGuest({ guest: (c) => viommuGuest('strict', c) }, mem, m, viommuCfgOf(ctx), 0, m.statsBlock(ctx.thread));
      return ringVcpu(ctx, guest, GFN, PAGES);
    }
    if (ctx.thread === 1) return viommuHostThread(ctx, 1);
    return ringDevice(ctx, 1, viommuDeviceIotlb(ctx), true);
  },
  outcome(results, m, scratch) {
    const bad = ringSafety(m, results[0]);
    if (bad) return bad;
    if (!(results[0] & RING_VCPU.MAPPED)) return 'the map failed';
    if (!ringsDrained(m)) return RING_NOT_DRAINED;
    if (!allTornDown(m)) return TORN_DOWN_WRONG;
    const wrong = teardownFaults(m, scratch);
    if (wrong) return wrong;
    return results[0] & RING_VCPU.KICKED ? 'the NIC was asleep: the vCPU kicked it' : 'the NIC was polling: no kick needed';
  },
  outcomes: {
    'the NIC was asleep: the vCPU kicked it': 'ACCEPTABLE',
    'the NIC was polling: no kick needed': 'ACCEPTABLE',
    ...RING_FORBIDDEN,
    [TORN_DOWN_WRONG]: 'FORBIDDEN',
    [RING_STALE_AFTER_UNMAP]: 'FORBIDDEN',
    [IOVA_BELOW_BUMP]: 'FORBIDDEN',
    [PEAKS_LOW]: 'FORBIDDEN',
    [PT_POOL_BROKEN]: 'FORBIDDEN',
  },
  mustReach: ['the NIC was asleep: the vCPU kicked it', 'the NIC was polling: no kick needed'],
};

export const VIOMMU_DMA_SCENARIOS: readonly Scenario[] = [ringDma];
