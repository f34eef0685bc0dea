// The emulated vIOMMU's settings: the invalidation queue, the device IOTLB and its page-table
// caches, the invalidation strategy (Linux's or F&S's), and the two deferred teardown strategies
// (flush queue, optimistic teardown).
import { section } from '../../core/settings.js';
import type { SectionBag } from '../../core/types.js';
import type { PtCacheSizes } from '../../mem/page-walk.js';

/** How unmaps invalidate (src/policies/viommu/invalidation.ts). */
export const INVALIDATIONS = ['linux', 'fands'] as const;
export type InvalidationName = (typeof INVALIDATIONS)[number];

export interface ViommuConfig {
  /** Descriptors in the invalidation queue (a power of two). */
  queueEntries: number;
  /** Device IOTLB entries and associativity (entries / ways sets, a power of two). */
  iotlbEntries: number;
  iotlbWays: number;
  /** Page-table-cache entries by level (L1: which leaf page, L2, L3: the root's entries). */
  ptcacheL1: number;
  ptcacheL2: number;
  ptcacheL3: number;
  /** linux: one invalidation per page, each empties the page-table caches; fands: one per descriptor, caches kept. */
  invalidation: InvalidationName;
  /** viommu-lazy: the flush queue is flushed at this many deferred unmaps ... */
  flushQueueEntries: number;
  /** ... or when its oldest entry is this old, whichever comes first. */
  flushTimeoutMs: number;
  /** viommu-optimistic: an unmapped buffer stays mapped this long, waiting to be re-mapped ... */
  optimisticTimeoutMs: number;
  /** ... and at most this many such stale mappings per vCPU. */
  optimisticQuota: number;
}

const isPow2 = (n: number) => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;

export const VIOMMU_SECTION = section<ViommuConfig>(
  'viommu',
  [
    // VT-d drivers allocate one 4 KiB page of 16-byte descriptors: 256.
    { key: 'queueEntries', flag: '--queue-entries', kind: 'int', min: 4, max: 65_536, note: 'a power of two', default: 256, help: 'viommu-*: invalidation-queue descriptors' },
    { key: 'iotlbEntries', flag: '--iotlb-entries', kind: 'int', min: 1, max: 65_536, note: 'entries / ways must be a power of two', default: 64, help: 'device IOTLB entries (viommu-*, passthrough)' },
    { key: 'iotlbWays', flag: '--iotlb-ways', kind: 'int', min: 1, max: 64, note: 'and at most the IOTLB entries', default: 4, help: 'device IOTLB associativity; entries / ways must be a power of two' },
    // Intel does not publish its paging-structure cache sizes; small, as F&S infer them
    { key: 'ptcacheL1', flag: '--ptcache-l1', kind: 'int', min: 0, max: 4096, default: 16, help: 'device page-table cache: level-1 entries (each maps 2 MiB)' },
    { key: 'ptcacheL2', flag: '--ptcache-l2', kind: 'int', min: 0, max: 4096, default: 4, help: 'device page-table cache: level-2 entries (each maps 1 GiB)' },
    { key: 'ptcacheL3', flag: '--ptcache-l3', kind: 'int', min: 0, max: 4096, default: 2, help: 'device page-table cache: root entries (each maps 512 GiB)' },
    { key: 'invalidation', flag: '--invalidation', kind: 'text', values: () => INVALIDATIONS, default: 'linux', help: "viommu-*: linux (an invalidation per page, each empties the page-table caches) or fands (F&S: one per descriptor, caches kept until a page-table page is freed)" },
    // Linux's IOVA flush queue holds 256 entries (or 10 ms) and ends with one domain-wide flush;
    // here each entry is its own range descriptor, so 255 of them plus the wait descriptor fill
    // the 256-entry invalidation queue exactly: one submission (one exit) per full batch.
    { key: 'flushQueueEntries', flag: '--flush-queue', kind: 'int', min: 1, max: 65_536, default: 255, help: 'viommu-lazy: deferred unmaps per flush; above queue entries - 1 a flush takes several submissions' },
    { key: 'flushTimeoutMs', flag: '--flush-timeout', kind: 'ms', gt: 0, max: 60_000, unit: 'ms', default: 10, help: 'viommu-lazy: flush deferred unmaps at least this often' },
    // "a few ms" (vIOMMU, ATC'11 optimistic teardown)
    { key: 'optimisticTimeoutMs', flag: '--optimistic-timeout', kind: 'ms', gt: 0, max: 60_000, unit: 'ms', default: 10, help: 'viommu-optimistic: how long an unmapped buffer stays mapped' },
    // room for the default net pool (reuse distance 256 + queue depth 64)
    { key: 'optimisticQuota', flag: '--optimistic-quota', kind: 'int', min: 1, max: 65_536, default: 512, help: 'viommu-optimistic: most stale mappings per vCPU' },
  ],
  (cfg, fail, name) => {
    const v = cfg.viommu as ViommuConfig;
    if (!isPow2(v.queueEntries)) fail(['viommu.queueEntries'], 'must be a power of two between 4 and 65536');
    if (v.iotlbWays > v.iotlbEntries || v.iotlbEntries % v.iotlbWays !== 0 || !isPow2(v.iotlbEntries / v.iotlbWays)) {
      fail(
        ['viommu.iotlbWays', 'viommu.iotlbEntries'],
        `the IOTLB has ${name('viommu.iotlbEntries')} / ${name('viommu.iotlbWays')} sets, which must be a whole power of two` +
          ` (got ${v.iotlbEntries} / ${v.iotlbWays}); e.g. 64 entries with 1, 2, 4, 8, 16, 32 or 64 ways`,
      );
    }
  },
);

/**
 * The device IOTLB of the scenario's size, walking the 4-level table (`radix`), `table` as an
 * identity-mapped 4-level one (`flat`: passthrough), or, without `walk`, `table` at 4 reads a miss.
 */
export const iotlbOver = (
  table: Int32Array,
  cfg: SectionBag,
  walk?: 'radix' | 'flat',
): { table: Int32Array; entries: number; ways: number; walk?: 'radix' | 'flat'; ptcache?: PtCacheSizes } => {
  const v = cfg.viommu as ViommuConfig;
  const ptcache = walk ? { ptcache: { l1: v.ptcacheL1, l2: v.ptcacheL2, l3: v.ptcacheL3 } } : {};
  return { table, entries: v.iotlbEntries, ways: v.iotlbWays, ...(walk && { walk }), ...ptcache };
};
