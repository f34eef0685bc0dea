// coIOMMU (ATC'20): cooperative DMA buffer tracking through the DTT; the host pins on a page's
// first DMA and unpins lazily when the page is idle (DESIGN 1.1).
import { perDmaOf, requestCycles } from '../../core/cost-table.js';
import type { Policy } from '../policy.js';
import { COIOMMU_SECTION, type CoiommuConfig } from './config.js';
import { coiommuGuest } from './guest.js';
import { coiommuHost } from './host.js';
import { COIOMMU_SCENARIOS } from './scenarios.js';
import { COIOMMU_DMA_SCENARIOS } from './scenarios-dma.js';
import { COIOMMU_PRESSURE_SCENARIOS } from './scenarios-pressure.js';
import { COIOMMU_BALLOON_SCENARIOS } from './scenarios-balloon.js';
import { COIOMMU_PROBE_SCENARIOS } from './scenarios-probe.js';
import { coiommuRegion } from './region.js';

export const coiommuPolicy: Policy = {
  name: 'coiommu',
  family: 'coiommu',
  help: `the guest marks pages in a DMA tracking table (DTT); the host
pins a page on its first DMA and unpins it lazily when idle`,
  notifyPaths: ['trap', 'sidecore'],
  compareOn: ['trap', 'sidecore'],
  pinsAtCreation: false,
  requests: 'pin',
  identityDma: true,
  config: COIOMMU_SECTION,
  hostTimerMs: (cfg) => (cfg.coiommu as CoiommuConfig).unpinIntervalMs,
  // registers, the DTT's page pool and the pin-info buffers (region.ts)
  machine: (cfg) => ({ coiommuWords: coiommuRegion(cfg.guestPages, cfg.vcpus).words }),
  guest: coiommuGuest,
  host: coiommuHost,
  cost: (c, t) => ({
    dtt: perDmaOf(c.dmaOps, c.dttOps * t.dttUpdateCycles),
    requests: perDmaOf(c.dmaOps, c.pinRequests * requestCycles(t, c.notify)),
    pins: perDmaOf(c.dmaOps, c.pins * (t.pinPageCycles + t.iommuMapCycles)),
    unpins: perDmaOf(c.dmaOps, c.unpins * t.iommuMapCycles),
  }),
  scenarios: [...COIOMMU_SCENARIOS, ...COIOMMU_DMA_SCENARIOS, ...COIOMMU_PRESSURE_SCENARIOS, ...COIOMMU_BALLOON_SCENARIOS, ...COIOMMU_PROBE_SCENARIOS],
  variants: {
    'pinned-check-before-add': 'guest tests PINNED before it raises the map count',
    'unpin-load-store': 'unpin scan uses load-then-store instead of compareExchange',
    'pinned-before-map': 'host sets PINNED before the host IOMMU mapping exists',
    'no-pin-lock': 'pin and unpin without the pin-state lock',
    'unpin-ignores-count': 'the unpin exchange tests only ACCESSED, not the map count: a mapped page is unpinned early',
    'unmap-off-by-one': 'an unmap drops the map count of one page too few (a count left behind: the page can never be unpinned)',
    'ignore-pin-failure': 'the guest takes a pin request as granted without re-checking PINNED (a failed pin goes unnoticed)',
    'ring-publish-before-write': 'the descriptor ring publishes its tail before it writes the entry',
    'unlock-no-wake': 'the pin-state lock is released without waking its waiter (a lost wake-up)',
    'doorbell-without-bump': 'a trapping vCPU notifies the host without bumping the doorbell: a lost wake-up',
    'missing-fence-host': 'the pin handler runs without its fences: under x86-TSO its answer passes the parked-flag check (a lost wake-up)',
    'shrink-without-park': 'the DTT shrinker frees pages without parking the host unpin worker',
    'shrink-without-lock': "the DTT shrinker frees pages without the DTT's write lock (a map may be inside)",
    'leaf-install-plain-store': 'a vCPU installs a new DTT page with a plain store instead of the compare-and-swap',
    'probe-level-before-root': "the DTT probe publishes the table's level before its root: a waiting vCPU walks from root 0",
  },
};
