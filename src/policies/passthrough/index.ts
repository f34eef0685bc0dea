// vIOMMU in passthrough mode: the guest's IOVA is its physical address (an identity map) and the
// host pins all guest memory at VM creation, exactly like static pinning; the device still
// translates through its IOTLB and the host IOMMU table. No exits, no protection.
import { perDmaOf } from '../../core/cost-table.js';
import type { Policy } from '../policy.js';
import { IdentityGuest } from '../pin-all.js';
import { VIOMMU_SECTION, iotlbOver } from '../viommu/config.js';

export const passthroughPolicy: Policy = {
  name: 'passthrough',
  family: 'passthrough',
  help: `a vIOMMU in passthrough mode: identity map, all memory pinned
at creation (like static); no exits, and no protection`,
  notifyPaths: ['trap'],
  compareOn: ['trap'],
  pinsAtCreation: true,
  requests: 'none',
  identityDma: true,
  // the physical IOMMU walks the host IOMMU table itself (guest physical -> frame)
  deviceIotlb: (m, cfg) => iotlbOver(m.iommu, cfg, 'flat'),
  config: VIOMMU_SECTION, // the IOTLB's size and ways
  guest: () => new IdentityGuest(),
  cost: (c, t) => ({ iotlbWalks: perDmaOf(c.dmaOps, c.walkReads * t.iotlbMissReadNs * t.cpuGhz) }),
};
