// The iopf parts over one small machine, one thread (free-running Atomics): the host's fault
// handler, a drop-mode device with its IOTLB and DMA engine, and the reclaimer's step.
import { DEFAULT_COST_TABLE } from '../../src/core/cost-table.js';
import { Oracle } from '../../src/core/oracle.js';
import type { Variant } from '../../src/core/types.js';
import { CTL } from '../../src/machine/layout.js';
import { Machine } from '../../src/machine/machine.js';
import { freeRunning } from '../../src/machine/shared-mem.js';
import { checkAccounting } from '../../src/mem/accounting.js';
import { DmaEngine } from '../../src/mem/dma.js';
import { HostMemory } from '../../src/mem/host-memory.js';
import { Iotlb } from '../../src/mem/iotlb.js';
import { NO_LOCK } from '../../src/notify/lock.js';
import { IopfDevice } from '../../src/policies/iopf/device.js';
import { IopfHost } from '../../src/policies/iopf/host.js';
import { prqWords } from '../../src/policies/iopf/prq.js';

export const PAGES = 16;

export function rig(variant: Variant = 'none', budget = 0) {
  const m = Machine.create({ guestPages: PAGES, vcpus: 1, hostFrames: PAGES, dataFrames: PAGES, ringEntries: 2, prqWords: prqWords(PAGES) });
  const hostStats = m.statsBlock(0);
  const devStats = m.statsBlock(2);
  const host = new HostMemory(freeRunning, m, hostStats);
  const iopf = new IopfHost(freeRunning, m, host, NO_LOCK, hostStats, DEFAULT_COST_TABLE, 'trap', variant, 1000, budget);
  const dev = new IopfDevice(freeRunning, m, 'drop', 'trap', devStats, 1000);
  const iotlb = new Iotlb(freeRunning, m, 8, 4, devStats, (a) => Atomics.load(m.iommu, a) - 1);
  const dma = new DmaEngine(freeRunning, m, devStats, new Oracle(m.control, 'device', 0), iotlb, dev);
  /** Take page g back as the reclaimer does: force-unpin with the shootdown, then reclaim the frame. */
  const reclaim = (g: number): boolean => {
    if (!iopf.forceUnpin(g)) return false;
    return host.reclaim(host.residentFrame(g));
  };
  const accountingOk = () => checkAccounting(freeRunning, m, host, NO_LOCK, new Oracle(new Int32Array(CTL.WORDS), 'hypervisor', 0));
  return { m, host, iopf, dev, dma, reclaim, hostStats, accountingOk };
}

