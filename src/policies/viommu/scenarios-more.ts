// The vIOMMU scenarios beyond the strict unmap against a device access: the whole DMA path over the
// rings, the IOVA allocator's magazines across two vCPUs, optimistic teardown against a re-map.
import type { Scenario } from '../../core/scenario.js';
import { VIOMMU_DMA_SCENARIOS } from './scenarios-dma.js';
import { VIOMMU_IOVA_SCENARIOS } from './scenarios-iova.js';
import { VIOMMU_TEARDOWN_SCENARIOS } from './scenarios-teardown.js';

export const VIOMMU_MORE_SCENARIOS: readonly Scenario[] = [...VIOMMU_DMA_SCENARIOS, ...VIOMMU_IOVA_SCENARIOS, ...VIOMMU_TEARDOWN_SCENARIOS];

export const VIOMMU_MORE_VARIANTS: Readonly<Record<string, string>> = {
  'unpin-before-drain': 'the vIOMMU host unpins torn-down pages before the device IOTLB flush has drained',
  'iova-refill-unlocked': 'a vCPU refills its IOVA magazine from the depot without the IOVA lock',
  'optimistic-stale-reuse': 'optimistic teardown frees a deferred IOVA but keeps it on its list: a re-map hands out an IOVA another buffer holds',
};
