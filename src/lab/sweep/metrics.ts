// The figures a sweep summarizes per configuration (median and 95% bootstrap interval over its
// trials), plots and tables: one declaration each.
import type { RunReport } from '../../core/types.js';
import { violationTotal } from '../../core/violations.js';
import { reuseQuantile, reusedWithin } from './locality.js';

export interface Metric {
  key: string;
  label: string;
  of: (r: RunReport) => number | undefined;
  /** Printed with this many decimals. */
  digits: number;
}

const pct = (part: number, whole: number) => (whole > 0 ? (100 * part) / whole : undefined);

/**
 * Guest memory the host can take back with a balloon that asks for all of it: every page but the
 * pinned ones the policy refused to let go. Undefined when no balloon fired (the run ended first).
 */
function reclaimablePct(r: RunReport): number | undefined {
  const b = r.host.balloon;
  if (!b || b.released + b.refused === 0) return undefined;
  return pct(r.guestPages - b.refused, r.guestPages);
}

const reuse = (r: RunReport) => r.locality?.reuseDistanceMaps ?? [];

/**
 * The paper's per-(un)map figure, as the virtual clock charged one strict unmap: its page-table
 * write, its request (the exit and trap handling, or the sidecore's), and its invalidation with the
 * wait. A DMA is a map and an unmap, each half of the page-table and request terms; in a guest
 * (caching mode) the map is invalidated too, natively (bare) only the unmap. Pins and walks aside.
 */
function perStrictUnmap(r: RunReport): number | undefined {
  const b = r.modeled.breakdown;
  if (r.invSubmits === 0) return undefined;
  const inv = b.invalidations ?? 0;
  return (b.pageTable ?? 0) / 2 + (b.requests ?? 0) / 2 + (r.notify === 'bare' ? inv : inv / 2);
}

export const METRICS = {
  modeledOps: { key: 'modeledOps', label: 'modeled DMA ops/s', of: (r) => r.modeled.opsPerSecond, digits: 0 },
  lineRate: { key: 'lineRate', label: 'modeled % of line rate', of: (r) => r.modeled.lineRatePercent, digits: 1 },
  measuredOps: { key: 'measuredOps', label: 'measured DMA ops/s', of: (r) => r.opsPerSecond, digits: 0 },
  cyclesPerDma: { key: 'cyclesPerDma', label: 'modeled cycles per DMA', of: (r) => r.modeled.cyclesPerDma, digits: 0 },
  cyclesPerUnmap: { key: 'cyclesPerUnmap', label: 'modeled cycles per strict unmap', of: perStrictUnmap, digits: 0 },
  exitsPerDma: { key: 'exitsPerDma', label: 'exits per DMA', of: (r) => r.exitsPerDma, digits: 3 },
  mapP50: { key: 'mapP50', label: 'measured map p50 (us)', of: (r) => r.latencyUs.map.p50, digits: 1 },
  modeledMapP50: { key: 'modeledMapP50', label: 'modeled map p50 (us)', of: (r) => r.modeled.latencyUs.map.p50, digits: 2 },
  invSubmitP50: { key: 'invSubmitP50', label: 'measured invalidation submit p50 (us)', of: (r) => r.latencyUs.invSubmit.p50, digits: 1 },
  pinnedPeakPct: { key: 'pinnedPeakPct', label: 'peak pinned, % of guest memory', of: (r) => pct(r.pinnedPages.peak, r.guestPages), digits: 2 },
  pinnedEndPct: { key: 'pinnedEndPct', label: 'pinned at the end, % of guest memory', of: (r) => pct(r.pinnedPages.end, r.guestPages), digits: 2 },
  vmCreationMs: { key: 'vmCreationMs', label: 'measured VM creation (ms)', of: (r) => r.staticPin?.ms ?? 0, digits: 1 },
  vmCreationModeledMs: { key: 'vmCreationModeledMs', label: 'modeled VM creation (ms)', of: (r) => r.staticPin?.modeledMs ?? 0, digits: 1 },
  residentPeakPct: { key: 'residentPeakPct', label: 'resident peak, % of guest memory', of: (r) => pct(r.host.residentPeak, r.guestPages), digits: 2 },
  reclaimablePct: { key: 'reclaimablePct', label: 'reclaimable by a balloon, % of guest memory', of: reclaimablePct, digits: 2 },
  balloonReleased: { key: 'balloonReleased', label: 'pages the balloon took back', of: (r) => r.host.balloon?.released, digits: 0 },
  balloonRefused: { key: 'balloonRefused', label: 'pinned pages refused', of: (r) => r.host.balloon?.refused, digits: 0 },
  restored: { key: 'restored', label: 'pages restored from swap', of: (r) => r.host.restored, digits: 0 },
  pageMaps: { key: 'pageMaps', label: 'page maps', of: (r) => r.locality?.pageMaps, digits: 0 },
  distinctPages: { key: 'distinctPages', label: 'distinct pages', of: (r) => r.locality?.distinctPages, digits: 0 },
  firstTouchPct: { key: 'firstTouchPct', label: 'first touches, % of page maps', of: (r) => r.locality && pct(r.locality.firstTouches, r.locality.pageMaps), digits: 1 },
  reuseP50: { key: 'reuseP50', label: 'reuse distance p50 (maps, <)', of: (r) => reuseQuantile(reuse(r), 0.5), digits: 0 },
  reuseP90: { key: 'reuseP90', label: 'reuse distance p90 (maps, <)', of: (r) => reuseQuantile(reuse(r), 0.9), digits: 0 },
  reusedWithin64Pct: { key: 'reusedWithin64Pct', label: 'reuses within 64 maps, %', of: (r) => reusedWithin(reuse(r), 64), digits: 1 },
  violations: { key: 'violations', label: 'oracle violations', of: (r) => violationTotal(r.violations), digits: 0 },
} satisfies Record<string, Metric>;

export type MetricKey = keyof typeof METRICS;
export const ALL_METRICS: readonly Metric[] = Object.values(METRICS);
