// How the vIOMMU family invalidates, a strategy of the family rather than a policy of its own: it
// is orthogonal to when a teardown happens (strict, flush queue, optimistic), so every member can
// run either one, and the compare rows differ in this one setting.
//
// linux: the driver maps and unmaps each page of a multi-page descriptor on its own, so each page
//   gets its own invalidation descriptor (and, strict, its own submission with its wait), and its
//   invalidations leave the hint clear: the IOMMU empties its page-table caches on every unmap.
// fands (F&S, SOSP'24): one contiguous, size-aligned IOVA chunk per descriptor, still mapped per
//   page; one range invalidation per descriptor; the hint set, so the page-table caches stay,
//   unless the unmap freed a page-table page (then they must go before the page is reused).
import { FLUSH } from '../../machine/layout.js';
import type { Variant } from '../../core/types.js';
import type { InvalidationName } from './config.js';

export interface InvalidationStrategy {
  readonly name: InvalidationName;
  /** Guest: the invalidation descriptors of a (un)map of [iova, iova + n): (iova, pages) pairs. */
  ranges(iova: number, n: number): number[];
  /** Guest: does each of those descriptors go in a submission of its own (a wait each)? */
  readonly submitEach: boolean;
  /** Host: the FLUSH bits of the device flush for a torn-down range (`freed`: page-table pages went). */
  flushFlags(freed: boolean): number;
}

const perPage = (iova: number, n: number): number[] => {
  const out: number[] = [];
  for (let p = 0; p < n; p++) out.push(iova + p, 1);
  return out;
};

export const linuxInvalidation: InvalidationStrategy = {
  name: 'linux',
  ranges: perPage,
  submitEach: true,
  flushFlags: (freed) => FLUSH.PTC_HINT | (freed ? FLUSH.PT_FREED : 0),
};

export const fandsInvalidation: InvalidationStrategy = {
  name: 'fands',
  ranges: (iova, n) => [iova, n],
  submitEach: false,
  flushFlags: (freed) => (freed ? FLUSH.PT_FREED : 0),
};

/** Planted bug: F&S keeps the page-table caches even when the unmap freed a page-table page. */
const keptAfterFree: InvalidationStrategy = { ...fandsInvalidation, flushFlags: () => 0 };

export function invalidationStrategy(name: InvalidationName, variant: Variant = 'none'): InvalidationStrategy {
  if (name === 'linux') return linuxInvalidation;
  return variant === 'ptcache-kept-after-free' ? keptAfterFree : fandsInvalidation;
}
