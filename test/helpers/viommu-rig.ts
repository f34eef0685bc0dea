// Single-threaded harness for the emulated vIOMMU: one Machine with IOVA tables, the host's memory,
// the pin-state lock, the vIOMMU host, one guest driver (queue, IOVA allocator, teardown policy)
// per vCPU, and the device's DMA engine with its IOTLB, all in the test thread. A tail write runs
// the host's "process the queue once" inline, so a test drives the protocol step by step; per-role
// SharedMem views (an Interposer's) let it stop one role at an exact shared-memory operation.
import { STAT, type MachineSpec } from '../../src/machine/layout.js';
import { Machine } from '../../src/machine/machine.js';
import { freeRunning, type SharedMem } from '../../src/machine/shared-mem.js';
import { checkAccounting } from '../../src/mem/accounting.js';
import { DmaEngine } from '../../src/mem/dma.js';
import { HostMemory } from '../../src/mem/host-memory.js';
import { Iotlb } from '../../src/mem/iotlb.js';
import { InvalidationQueue } from '../../src/notify/invalidation-queue.js';
import { PinStateLock } from '../../src/notify/lock.js';
import { IovaAllocator } from '../../src/policies/viommu/iova-allocator.js';
import { ViommuGuest, type TeardownMode } from '../../src/policies/viommu/guest.js';
import { viommuHost, type ViommuHost } from '../../src/policies/viommu/host.js';
import { Oracle, readViolations } from '../../src/core/oracle.js';
import type { NotifyPath, Variant } from '../../src/core/types.js';
import type { ViommuConfig } from '../../src/policies/viommu/config.js';
import { buildHost } from '../../src/policies/wiring.js';
import { defaultScenario } from '../../src/lab/config.js';
import { CTL } from '../../src/machine/layout.js';

export interface ViommuRigOptions {
  guestPages?: number;
  vcpus?: number;
  invqEntries?: number;
  mode?: TeardownMode;
  path?: NotifyPath;
  variant?: Variant;
  viommu?: Partial<ViommuConfig>;
  iotlbEntries?: number;
  iotlbWays?: number;
  guestMem?: SharedMem;
  hostMem?: SharedMem;
  deviceMem?: SharedMem;
  /** Guest clock (ms) for deferred teardown. */
  now?: () => number;
}

export function makeViommuRig(o: ViommuRigOptions = {}) {
  const guestPages = o.guestPages ?? 256;
  const vcpus = o.vcpus ?? 1;
  const spec: MachineSpec = {
    guestPages,
    vcpus,
    hostFrames: guestPages,
    dataFrames: guestPages,
    ringEntries: 16,
    iovaPages: guestPages,
    invqEntries: o.invqEntries ?? 256,
  };
  const m = Machine.create(spec);
  const gmem = o.guestMem ?? freeRunning;
  const hmem = o.hostMem ?? freeRunning;
  const dmem = o.deviceMem ?? freeRunning;
  const hostStats = m.statsBlock(0);
  const deviceStats = m.statsBlock(2);
  const cfg: ViommuConfig = { ...defaultScenario().viommu, ...o.viommu };
  const scenario = { ...defaultScenario(), variant: o.variant ?? 'none', viommu: cfg };
  const parts = buildHost({ host: viommuHost }, hmem, m, scenario, hostStats, 200);
  const { host: hostMemory, lock } = parts;
  const host = parts.policy as ViommuHost;
  const queues: InvalidationQueue[] = [];
  const iovas: IovaAllocator[] = [];
  const guests: ViommuGuest[] = [];
  for (let v = 0; v < vcpus; v++) {
    const stats = m.guestStats(v);
    const q = new InvalidationQueue(o.path ?? 'trap', gmem, m, v, 0, 200, stats);
    q.onTailWrite = () => host.processQueue();
    const a = new IovaAllocator(gmem, m, undefined, 200);
    queues.push(q);
    iovas.push(a);
    guests.push(new ViommuGuest(gmem, m, q, a, o.mode ?? 'strict', cfg, stats, undefined, o.now));
  }
  const iotlb = new Iotlb(dmem, m, o.iotlbEntries ?? 16, o.iotlbWays ?? 2, deviceStats, (a) => dmem.load(m.shadow, a) - 1);
  const deviceOracle = new Oracle(m.control, 'device', performance.timeOrigin + performance.now());
  const dma = new DmaEngine(dmem, m, deviceStats, deviceOracle, iotlb);
  const hostOracle = new Oracle(m.control, 'hypervisor', performance.timeOrigin + performance.now());
  return {
    m,
    spec,
    host,
    hostMemory,
    lock,
    queues,
    iovas,
    guests,
    guest: guests[0],
    queue: queues[0],
    iotlb,
    dma,
    hostStats,
    deviceStats,
    guestStats: (v = 0) => m.guestStats(v),
    stat: (block: Float64Array, name: keyof typeof STAT) => block[STAT[name]],
    violations: () => readViolations(m.control),
    checkAccounting: () => checkAccounting(freeRunning, m, hostMemory, lock, hostOracle, host),
    shadowFrame: (iova: number) => Atomics.load(m.shadow, iova) - 1,
    pinnedNow: () => Atomics.load(m.control, CTL.PINNED_NOW),
  };
}
export type ViommuRig = ReturnType<typeof makeViommuRig>;
