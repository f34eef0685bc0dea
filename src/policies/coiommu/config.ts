// coIOMMU's settings: the table's form, the unpin policy and the lazy unpin worker's clock, the
// guest's wait for the host, the DTT shrinker, and the paper's speculative pinning.
import { section } from '../../core/settings.js';
import { MAX_GUEST_PAGES } from '../../machine/layout.js';
import { DTT_KINDS, type DttKind } from './dtt-table.js';

export type UnpinPolicy = 'off' | 'lru';

export interface CoiommuConfig {
  /** multilevel: the shipped radix tree; flat: the paper's one word per page. */
  dtt: DttKind;
  /** off: pages are never unpinned by the worker (crosvm's default); lru: the two-generation clock. */
  unpinPolicy: UnpinPolicy;
  unpinIntervalMs: number;
  unpinGenThreshold: number;
  /** Most unpins per scan round, shared by the old and the new generation. */
  unpinLimit: number;
  /** The guest waits this long for the host's answer to a pin request, then fails the map. */
  pinTimeoutMs: number;
  /** vCPU 0 runs the DTT shrinker this often (0 = never): frees all-zero leaves. */
  dttShrinkMs: number;
  /** Also pin this many neighbouring pages on a pin request (0 = off; the paper's, not shipped). */
  speculativePages: number;
}

export const COIOMMU_SECTION = section<CoiommuConfig>('coiommu', [
  { key: 'dtt', flag: '--dtt', kind: 'text', values: () => DTT_KINDS, default: 'multilevel', help: 'DMA tracking table: multilevel (shipped) or flat (paper)' },
  { key: 'unpinPolicy', flag: '--unpin-policy', kind: 'text', values: () => ['off', 'lru'], default: 'lru', help: 'lazy unpin worker: lru, or off (crosvm default: never)' },
  { key: 'unpinIntervalMs', flag: '--unpin-interval', kind: 'ms', min: 1, max: 600_000, unit: 'ms', default: 50, help: 'coiommu lazy unpin scan period' },
  { key: 'unpinGenThreshold', flag: '--unpin-gen-threshold', kind: 'int', min: 1, max: 1000, default: 10, help: 'busy rounds before a page turns old; old pages are scanned every this many rounds' },
  { key: 'unpinLimit', flag: '--unpin-limit', kind: 'int', min: 1, max: MAX_GUEST_PAGES, note: `${MAX_GUEST_PAGES} = no limit`, default: MAX_GUEST_PAGES, help: 'most unpins per scan round (old and new generation together)' },
  { key: 'pinTimeoutMs', flag: '--pin-timeout', kind: 'ms', min: 1, max: 600_000, unit: 'ms', default: 5000, help: 'guest gives up on an unanswered pin request (the map fails)' },
  { key: 'dttShrinkMs', flag: '--dtt-shrink', kind: 'ms', min: 0, max: 600_000, unit: 'ms', note: '0 = never', default: 0, help: 'run the DTT shrinker this often (multilevel)' },
  { key: 'speculativePages', flag: '--speculative-pages', kind: 'int', min: 0, max: 64, default: 0, help: 'also pin this many neighbouring pages per pin request (paper only)' },
]);
