// iopf (SCIMITAR, IBM Haifa): no pinning at map time. The device uses the guest's addresses; a DMA
// to a page the host IOMMU does not map raises an I/O page fault (PCIe PRI: a page request queue,
// a response per group), the host makes the page resident, pins and maps it, and the device
// retries (stall) or the guest re-posts (drop). The cost moves to the rare unmap: before the host
// takes a page back it shoots the device's cached translation down and waits for the completion.
import { perDmaOf, requestCycles } from '../../core/cost-table.js';
import type { Policy } from '../policy.js';
import { IdentityGuest } from '../pin-all.js';
import { iotlbOver } from '../viommu/config.js';
import { IOPF_SECTION } from './config.js';
import { iopfDevice } from './device.js';
import { iopfHost } from './host.js';
import { prqWords, readPrqCounts } from './prq.js';
import { iopfReport } from './report.js';
import { IOPF_SCENARIOS } from './scenarios.js';

export const iopfPolicy: Policy = {
  name: 'iopf',
  family: 'iopf',
  help: `I/O page faults (SCIMITAR): nothing pinned at map time; the
device faults a page in through a page request queue, the host
pins it on the fault; reclaim shoots the device TLB down first`,
  notifyPaths: ['trap', 'sidecore'],
  compareOn: ['trap', 'sidecore'],
  pinsAtCreation: false,
  requests: 'fault',
  identityDma: true,
  // the device caches translations (ATS) over the host IOMMU table
  deviceIotlb: (m, cfg) => iotlbOver(m.iommu, cfg),
  config: IOPF_SECTION,
  machine: (cfg) => ({ prqWords: prqWords(cfg.guestPages) }),
  guest: () => new IdentityGuest(),
  host: iopfHost,
  device: iopfDevice,
  report: iopfReport,
  cost: (c, t, m) => {
    const f = m ? readPrqCounts(m) : undefined;
    const groups = f?.GROUPS_ANSWERED ?? c.pins;
    const per = (x: number) => perDmaOf(c.dmaOps, x);
    return {
      pageRequests: per(groups * requestCycles(t, c.notify)),
      minorFaults: per((f ? f.MINOR : c.pins) * t.iopfMinorCycles),
      majorFaults: per((f?.MAJOR ?? 0) * (t.iopfMinorCycles + t.iopfMajorCycles)),
      pins: per(c.pins * (t.pinPageCycles + t.iommuMapCycles)),
      // unmap + device-TLB invalidation + its wait, per page taken back
      shootdowns: per((f?.SHOOTDOWNS ?? c.unpins) * t.iommuMapCycles),
      iotlbWalks: per(c.walkReads * t.iotlbMissReadNs * t.cpuGhz),
    };
  },
  footer: (cfg) => `iopf: --fault-mode ${(cfg.iopf as { faultMode: string }).faultMode}; minor fault ${cfg.costTable.iopfMinorCycles} cycles, major +${cfg.costTable.iopfMajorCycles} (estimates; --cost to change)`,
  scenarios: IOPF_SCENARIOS,
  variants: {
    'reclaim-before-shootdown': 'iopf: the host unpins and reuses the frame before the device-TLB invalidation completes',
    'respond-before-map': 'iopf: the host answers a page request SUCCESS before the host IOMMU mapping exists',
  },
};
