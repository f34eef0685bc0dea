// coIOMMU's settings: the lazy unpin worker's clock and speculative pinning.
import { section } from '../../core/settings.js';

export interface CoiommuConfig {
  unpinIntervalMs: number;
  unpinGenThreshold: number;
  /** Maximum unpins per scan round; 0 = no limit. */
  unpinLimit: number;
  /** Also pin this many neighbouring pages on a pin request (0 = off). */
  speculativePages: number;
}

export const COIOMMU_SECTION = section<CoiommuConfig>('coiommu', [
  { key: 'unpinIntervalMs', flag: '--unpin-interval', kind: 'ms', min: 1, max: 600_000, unit: 'ms', default: 50, help: 'coiommu lazy unpin scan period' },
  { key: 'unpinGenThreshold', flag: '--unpin-gen-threshold', kind: 'int', min: 1, max: 1000, default: 10, help: 'busy scan rounds before a page moves to the old generation' },
  { key: 'unpinLimit', flag: '--unpin-limit', kind: 'int', min: 0, note: '0 = no limit', default: 0, help: 'most unpins per scan round' },
  { key: 'speculativePages', flag: '--speculative-pages', kind: 'int', min: 0, max: 64, default: 0, help: 'also pin this many neighbouring pages per pin request' },
]);
