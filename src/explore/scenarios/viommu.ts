// vIOMMU scenario (DESIGN 1.2, 3.2): a strict unmap with its invalidation and wait descriptor,
// against a device that holds the IOVA's translation in its IOTLB and accesses it again. Once the
// guest has seen the wait descriptor complete, no device access that starts afterwards may
// translate the IOVA: the host must flush the IOTLB before it completes the wait.
import type { Machine } from '../../machine/machine.js';
import { freeRunning } from '../../machine/shared-mem.js';
import { HostMemory } from '../../mem/host-memory.js';
import { Iotlb } from '../../mem/iotlb.js';
import { InvalidationQueue } from '../../notify/invalidation-queue.js';
import { ioPte } from '../../protocol/io-page-table.js';
import { IovaAllocator } from '../../protocol/iova-allocator.js';
import { ViommuGuest } from '../../protocol/viommu-guest.js';
import { ViommuHost } from '../../protocol/viommu-host.js';
import type { ViommuConfig } from '../../run/types.js';
import type { Scenario, ThreadCtx } from '../scenario.js';
import { SCRATCH, hostLoop, lockFor, ringHost } from './coiommu-parts.js';

const G = 1; // guest page
const I = 2; // its IOVA page
const TIMEOUT_MS = 30_000;
const S = { UNMAPPED: 1 } as const; // word 0 is SCRATCH.DONE
const CFG: ViommuConfig = {
  queueEntries: 4,
  iotlbEntries: 4,
  iotlbWays: 2,
  flushQueueEntries: 256,
  flushTimeoutMs: 10,
  optimisticTimeoutMs: 5,
  optimisticQuota: 64,
};
/** Device result bits. */
const DEV = { FIRST_OK: 1, SAW_UNMAPPED: 2, SECOND_OK: 4, UNSAFE: 8 } as const;

const LEAK = 'an access that began after the unmap completed still translated (protection leak)';
const UNSAFE = 'the device reached a frame not pinned for its page';

function vcpu(ctx: ThreadCtx): number {
  const { mem, m, scratch } = ctx;
  const stats = m.statsBlock(ctx.thread);
  const queue = new InvalidationQueue('trap', mem, m, 0, 0, TIMEOUT_MS, stats);
  const guest = new ViommuGuest(mem, m, queue, new IovaAllocator(mem, m, 8, TIMEOUT_MS), 'strict', CFG, stats);
  guest.unmap(I, G, 1); // strict: clear the entry, invalidate, wait for the wait descriptor
  mem.store(scratch, S.UNMAPPED, 1); // from here on, the IOVA must fault
  mem.add(scratch, SCRATCH.DONE, 1);
  ringHost(ctx);
  return 0;
}

/** The hypervisor's trap service for the invalidation queue. */
function host(ctx: ThreadCtx): number {
  const { mem, m } = ctx;
  const stats = m.statsBlock(ctx.thread);
  const h = new ViommuHost(mem, m, new HostMemory(mem, m, stats), lockFor(mem, m, 'none'), stats, ctx.variant, TIMEOUT_MS);
  return hostLoop(ctx, 1, () => h.processQueue());
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

export const unmapVsDeviceAccess: Scenario = {
  name: 'viommu-unmap-vs-dma',
  description:
    'viommu-strict: a vCPU unmaps IOVA I (clear the IO page table entry, queue an invalidation and a wait ' +
    'descriptor, wait) while the hypervisor serves the invalidation queue and the device, holding I in its IOTLB, ' +
    'accesses I again. An access that starts after the guest saw the unmap complete must fault.',
  threads: ['vcpu0', 'hypervisor', 'device'],
  variants: ['none', 'wait-before-flush'],
  spec: { guestPages: 4, vcpus: 1, hostFrames: 4, dataFrames: 4, ringEntries: 2, iovaPages: 4, invqEntries: 4 },
  setup(m: Machine) {
    const hostMem = new HostMemory(freeRunning, m);
    if (!hostMem.pin(G)) throw new Error('scenario set-up could not pin the page');
    m.iopt[I] = ioPte(G);
    m.shadow[I] = hostMem.pinnedFrame(G) + 1;
    m.shadowRefs[G] = 1;
  },
  run(ctx) {
    return ctx.thread === 0 ? vcpu(ctx) : ctx.thread === 1 ? host(ctx) : device(ctx);
  },
  outcome(results) {
    const d = results[2];
    if (d & DEV.UNSAFE) return UNSAFE;
    if (d & DEV.SAW_UNMAPPED && d & DEV.SECOND_OK) return LEAK;
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
  },
};
