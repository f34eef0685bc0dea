// The emulated VT-d family (caching mode, DESIGN 1.2): every map and unmap goes through the
// invalidation queue; the three members differ only in their teardown strategy.
import { invalidationCycles, perDmaOf, requestCycles } from '../../core/cost-table.js';
import { formatDuration } from '../../core/units.js';
import type { Policy } from '../policy.js';
import { INVALIDATIONS, VIOMMU_SECTION, iotlbOver, type ViommuConfig } from './config.js';
import { viommuGuest } from './guest.js';
import { viommuHost } from './host.js';
import { VIOMMU_SCENARIOS } from './scenarios.js';
import { ptcacheVsFree } from './fands-scenario.js';
import { VIOMMU_MORE_SCENARIOS, VIOMMU_MORE_VARIANTS } from './scenarios-more.js';
import type { TeardownMode } from './teardown.js';

const HELP: Record<TeardownMode, string> = {
  strict: `emulated VT-d in caching mode: map and unmap each write the
guest IO page table and submit an invalidation (descriptor +
wait descriptor); the host pins on map, unpins on unmap and
flushes the device IOTLB first: 2 submissions per buffer`,
  lazy: `unmaps wait in a flush queue (--flush-queue 255 entries or
--flush-timeout 10ms, whichever first): 1 + 1/batch per buffer.
A what-if: Linux forces strict mode in caching-mode guests`,
  optimistic: `an unmapped buffer stays mapped for --optimistic-timeout (at
most --optimistic-quota of them); re-mapping it costs nothing`,
};

function member(mode: TeardownMode): Policy {
  return {
    name: `viommu-${mode}`,
    family: 'viommu',
    help: HELP[mode],
    notifyPaths: ['trap', 'sidecore', 'bare'],
    compareOn: ['trap', 'sidecore'],
    pinsAtCreation: false,
    requests: 'invalidation',
    identityDma: false,
    // the physical IOMMU walks the host's 4-level table, whose leaves are the shadow entries
    deviceIotlb: (m, cfg) => iotlbOver(m.shadow, cfg, 'radix'),
    config: VIOMMU_SECTION,
    pairSetting: { section: 'viommu', key: 'invalidation', values: INVALIDATIONS },
    // The IOVA space is as large as guest memory; only vIOMMU runs pay for its tables.
    machine: (cfg) => ({ iovaPages: cfg.guestPages, invqEntries: (cfg.viommu as ViommuConfig).queueEntries }),
    guestTimerMs: (cfg) => {
      const v = cfg.viommu as ViommuConfig;
      return mode === 'lazy' ? v.flushTimeoutMs : mode === 'optimistic' ? v.optimisticTimeoutMs : 20;
    },
    // every DMA sits between two submissions a few µs apart: the device never parks
    extraSpinners: 1,
    guest: (ctx) => viommuGuest(mode, ctx),
    host: viommuHost,
    // the same terms the virtual clock charges (host.ts stamp, teardown.ts charge)
    cost: (c, t) => ({
      pageTable: perDmaOf(c.dmaOps, c.ptWrites * t.ioPageTableCycles),
      requests: perDmaOf(c.dmaOps, c.invSubmits * requestCycles(t, c.notify)),
      // caching mode invalidates on every submission; natively only a teardown needs it
      invalidations: perDmaOf(c.dmaOps, (c.notify === 'bare' ? c.teardownSubmits : c.invSubmits) * invalidationCycles(t)),
      pins: perDmaOf(c.dmaOps, c.notify === 'bare' ? 0 : c.pins * t.pinPageCycles),
      iotlbWalks: perDmaOf(c.dmaOps, c.walkReads * t.iotlbMissReadNs * t.cpuGhz),
    }),
    footer: (cfg) => {
      const v = cfg.viommu as ViommuConfig;
      return (
        `vIOMMU:      invalidation queue ${v.queueEntries}, IOTLB ${v.iotlbEntries} entries ${v.iotlbWays}-way; ` +
        `lazy flush at ${v.flushQueueEntries} or ${formatDuration(v.flushTimeoutMs)} (a what-if: Linux forces strict in caching mode); ` +
        `optimistic ${formatDuration(v.optimisticTimeoutMs)}, quota ${v.optimisticQuota}`
      );
    },
    ...(mode === 'strict'
      ? {
          scenarios: [...VIOMMU_SCENARIOS, ...VIOMMU_MORE_SCENARIOS, ptcacheVsFree],
          variants: {
            'wait-before-flush': 'vIOMMU host completes the wait descriptor before it flushes the device IOTLB',
            ...VIOMMU_MORE_VARIANTS,
            'missing-fence-device': 'the device runs without its fences: under x86-TSO its IOTLB re-reads the flush generation before its ACTIVE store is visible',
            'ptcache-kept-after-free': '--invalidation fands keeps the page-table caches even when an unmap freed a page-table page',
          },
        }
      : {}),
  };
}

export const viommuPolicies: readonly Policy[] = (['strict', 'lazy', 'optimistic'] as const).map(member);
