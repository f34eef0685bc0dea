// vIOMMU scenario (DESIGN 1.2, 3.2): a strict unmap with its invalidation and wait descriptor,
// against a device that holds the IOVA's translation in its IOTLB and accesses it again. Once the
// guest has seen the wait descriptor complete, no device access that starts afterwards may
// translate the IOVA: the host must flush the IOTLB before it completes the wait.
import type { Machine } from '../../machine/machine.js';
import { freeRunning, withoutFences } from '../../machine/shared-mem.js';
import { HostMemory } from '../../mem/host-memory.js';
import { Iotlb } from '../../mem/iotlb.js';
import type { Scenario, ThreadCtx } from '../../core/scenario.js';
import { hostThread, scenarioConfig, vcpuDone } from '../scenario-kit.js';
import { buildGuest, buildHost } from '../wiring.js';
import type { ViommuConfig } from './config.js';
import { viommuGuest } from './guest.js';
import { viommuHost, type ViommuHost } from './host.js';
import { ioPte } from './io-page-table.js';
import { TORN_DOWN_WRONG, allTornDown } from './scenarios-dma.js';

const G = 1; // guest page
const I = 2; // its IOVA page
const S = { UNMAPPED: 1 } as const; // word 0 is the kit's SCRATCH.DONE
const CFG: ViommuConfig = {
  queueEntries: 4,
  iotlbEntries: 4,
  iotlbWays: 2,
  flushQueueEntries: 256,
  flushTimeoutMs: 10,
  optimisticTimeoutMs: 5,
  optimisticQuota: 64,
  ptcacheL1: 2,
  ptcacheL2: 1,
  ptcacheL3: 1,
  invalidation: 'linux',
};
const cfgOf = (ctx: ThreadCtx) => scenarioConfig(ctx.variant, { viommu: CFG });
/** Device result bits. */
const DEV = { FIRST_OK: 1, SAW_UNMAPPED: 2, SECOND_OK: 4, UNSAFE: 8 } as const;

const LEAK = 'an access that began after the unmap completed still translated (protection leak)';
const UNSAFE = 'the device reached a frame not pinned for its page';

function vcpu(ctx: ThreadCtx): number {
  const { mem, m, scratch } = ctx;
  const guest = buildGuest({ guest: (c) => viommuGuest('strict', c) }, mem, m, cfgOf(ctx), 0, m.statsBlock(ctx.thread));
  guest.unmap(I, G, 1); // strict: clear the entry, invalidate, wait for the wait descriptor
  mem.store(scratch, S.UNMAPPED, 1); // from here on, the IOVA must fault
  vcpuDone(ctx);
  return 0;
}

/** The hypervisor's trap service for the invalidation queue. */
function host(ctx: ThreadCtx): number {
  const { policy } = buildHost({ host: viommuHost }, ctx.mem, ctx.m, cfgOf(ctx), ctx.m.statsBlock(ctx.thread));
  return hostThread(ctx, 1, policy as ViommuHost);
}

/** Two accesses to IOVA I through the device IOTLB; the first fills it (if I is still mapped). */
function device(ctx: ThreadCtx): number {
  const { mem, m, scratch } = ctx;
  const tlb = new Iotlb(mem, m, CFG.iotlbEntries, CFG.iotlbWays, m.statsBlock(ctx.thread), (a) => mem.load(m.shadow, a) - 1);
  let res = 0;
  const access = (): number => {
    tlb.begin();
    try {
      const f = tlb.translate(I);
      // DMA safety at the moment of the access: the frame belongs to G and is pinned
      if (f >= 0 && (mem.load(m.frameOwner, f) !== G + 1 || mem.load(m.framePinned, f) === 0)) res |= DEV.UNSAFE;
      return f;
    } finally {
      tlb.end();
    }
  };
  if (access() >= 0) res |= DEV.FIRST_OK;
  if (mem.load(scratch, S.UNMAPPED) !== 0) res |= DEV.SAW_UNMAPPED;
  if (access() >= 0) res |= DEV.SECOND_OK;
  return res;
}

const unmapVsDeviceAccess: Scenario = {
  name: 'viommu-unmap-vs-dma',
  budget: 400,
  description:
    'viommu-strict: a vCPU unmaps IOVA I (clear the IO page table entry, queue an invalidation and a wait ' +
    'descriptor, wait) while the hypervisor serves the invalidation queue and the device, holding I in its IOTLB, ' +
    'accesses I again. An access that starts after the guest saw the unmap complete must fault.',
  threads: ['vcpu0', 'hypervisor', 'device'],
  variants: ['none', 'wait-before-flush', 'missing-fence-device', 'unpin-before-drain'],
  spec: { guestPages: 4, vcpus: 1, hostFrames: 4, dataFrames: 4, ringEntries: 2, iovaPages: 4, invqEntries: 4 },
  setup(m: Machine) {
    const hostMem = new HostMemory(freeRunning, m);
    if (!hostMem.pin(G)) throw new Error('scenario set-up could not pin the page');
    m.iopt[I] = ioPte(G);
    m.shadow[I] = hostMem.pinnedFrame(G) + 1;
    m.shadowRefs[G] = 1;
  },
  run(ctx) {
    if (ctx.variant === 'missing-fence-device' && ctx.thread === 2) ctx = { ...ctx, mem: withoutFences(ctx.mem) };
    return ctx.thread === 0 ? vcpu(ctx) : ctx.thread === 1 ? host(ctx) : device(ctx);
  },
  outcome(results, m) {
    const d = results[2];
    if (d & DEV.UNSAFE) return UNSAFE;
    if (d & DEV.SAW_UNMAPPED && d & DEV.SECOND_OK) return LEAK;
    if (!allTornDown(m)) return TORN_DOWN_WRONG;
    if (!(d & DEV.FIRST_OK)) return 'the unmap came first: both accesses faulted';
    if (d & DEV.SECOND_OK) return 'both accesses ran before the unmap completed';
    if (d & DEV.SAW_UNMAPPED) return 'the unmap completed, then the access faulted';
    return 'the flush came between the accesses: the second faulted before the guest saw the unmap complete';
  },
  outcomes: {
    'both accesses ran before the unmap completed': 'ACCEPTABLE',
    'the unmap completed, then the access faulted': 'ACCEPTABLE',
    'the unmap came first: both accesses faulted': 'ACCEPTABLE',
    'the flush came between the accesses: the second faulted before the guest saw the unmap complete': 'INTERESTING',
    [LEAK]: 'FORBIDDEN',
    [UNSAFE]: 'FORBIDDEN',
    [TORN_DOWN_WRONG]: 'FORBIDDEN',
  },
  mustReach: ['both accesses ran before the unmap completed', 'the unmap completed, then the access faulted', 'the unmap came first: both accesses faulted'],
};

export const VIOMMU_SCENARIOS: readonly Scenario[] = [unmapVsDeviceAccess];
