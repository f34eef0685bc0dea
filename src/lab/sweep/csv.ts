// results.csv: one row per point, flat columns. The columns are declared here once, with what each
// means; the README's table and the test read the same list.
import type { RunReport } from '../../core/types.js';
import { violationTotal } from '../../core/violations.js';
import { METRICS } from './metrics.js';
import type { PointResult } from './point.js';

interface Column {
  name: string;
  doc: string;
  of: (p: PointResult, r: RunReport | undefined) => string | number | undefined;
}

const varyAt = (p: PointResult, i: number) => Object.entries(p.vary)[i];
const pct = (part: number, whole: number) => (whole > 0 ? (100 * part) / whole : undefined);

export const CSV_COLUMNS: readonly Column[] = [
  { name: 'point', doc: 'index of the point in the whole (unsharded) plan', of: (p) => p.index },
  { name: 'pair', doc: 'policy/notify', of: (p) => p.pair },
  { name: 'policy', doc: 'memory policy', of: (p) => p.pair.split('/')[0] },
  { name: 'notify', doc: 'notify path', of: (p) => p.pair.split('/')[1] },
  { name: 'vary1', doc: 'first varied setting (flag name), empty if none', of: (p) => varyAt(p, 0)?.[0] },
  { name: 'value1', doc: 'its value as typed', of: (p) => varyAt(p, 0)?.[1] },
  { name: 'vary2', doc: 'second varied setting, empty if none', of: (p) => varyAt(p, 1)?.[0] },
  { name: 'value2', doc: 'its value as typed', of: (p) => varyAt(p, 1)?.[1] },
  { name: 'trial', doc: '0-based trial (trial k runs with --seed + k)', of: (p) => p.trial },
  { name: 'workload', doc: 'workload', of: (_, r) => r?.workload },
  { name: 'clock', doc: 'virtual or wall', of: (_, r) => r?.config.clock as string | undefined },
  { name: 'guest_pages', doc: 'guest memory in 4 KiB pages', of: (_, r) => r?.guestPages },
  { name: 'vcpus', doc: 'vCPUs', of: (_, r) => r?.vcpus },
  { name: 'dma_ops', doc: 'DMAs done', of: (_, r) => r?.dmaOps },
  { name: 'seconds', doc: 'measured run time (s)', of: (_, r) => r?.seconds },
  { name: 'ops_per_second', doc: 'measured DMA ops/s on this machine', of: (_, r) => r?.opsPerSecond },
  { name: 'modeled_ops_per_second', doc: 'DMAs per virtual second', of: (_, r) => r?.modeled.opsPerSecond },
  { name: 'line_rate_percent', doc: 'modeled % of the line rate (net)', of: (_, r) => r?.modeled.lineRatePercent },
  { name: 'cycles_per_dma', doc: 'modeled cycles per DMA (cost table terms)', of: (_, r) => r?.modeled.cyclesPerDma },
  { name: 'exits', doc: 'exits', of: (_, r) => r?.exits },
  { name: 'exits_per_dma', doc: 'exits per DMA', of: (_, r) => r?.exitsPerDma },
  { name: 'pin_requests', doc: 'pin requests', of: (_, r) => r?.pinRequests },
  { name: 'pins', doc: 'pages pinned', of: (_, r) => r?.pins },
  { name: 'unpins', doc: 'pages unpinned', of: (_, r) => r?.unpins },
  { name: 'pinned_peak', doc: 'peak pinned pages', of: (_, r) => r?.pinnedPages.peak },
  { name: 'pinned_end', doc: 'pinned pages at the end', of: (_, r) => r?.pinnedPages.end },
  { name: 'pinned_peak_percent', doc: 'peak pinned pages as % of guest memory', of: (_, r) => r && pct(r.pinnedPages.peak, r.guestPages) },
  { name: 'pinned_end_percent', doc: 'pinned pages at the end as % of guest memory', of: (_, r) => r && pct(r.pinnedPages.end, r.guestPages) },
  { name: 'resident_peak', doc: 'peak resident host frames', of: (_, r) => r?.host.residentPeak },
  { name: 'balloon_released', doc: 'pages the --balloon event took back (empty without a balloon)', of: (_, r) => r?.host.balloon?.released },
  { name: 'balloon_refused', doc: 'pinned pages the policy would not let go of for the balloon', of: (_, r) => r?.host.balloon?.refused },
  { name: 'reclaimable_percent', doc: 'with a balloon asking for all guest memory: guest memory minus the refused pages, as %', of: (_, r) => r && METRICS.reclaimablePct.of(r) },
  { name: 'distinct_pages', doc: 'distinct guest pages mapped (points that record their trace: `experiment locality`)', of: (_, r) => r?.locality?.distinctPages },
  { name: 'reuse_distance_p50', doc: 'maps between two maps of a page: the log2 bucket bound below which half the reuses fall', of: (_, r) => r && METRICS.reuseP50.of(r) },
  { name: 'reuse_distance_p90', doc: 'the same for 90% of the reuses', of: (_, r) => r && METRICS.reuseP90.of(r) },
  { name: 'vm_creation_ms', doc: 'measured VM creation (static pinning) ms; 0 when nothing is pinned up front', of: (_, r) => r && (r.staticPin?.ms ?? 0) },
  { name: 'vm_creation_modeled_ms', doc: 'modeled VM creation ms', of: (_, r) => r && (r.staticPin?.modeledMs ?? 0) },
  { name: 'map_p50_us', doc: 'measured map latency p50 (us)', of: (_, r) => r?.latencyUs.map.p50 },
  { name: 'modeled_map_p50_us', doc: 'modeled map latency p50 (us)', of: (_, r) => r?.modeled.latencyUs.map.p50 },
  { name: 'inv_submit_p50_us', doc: 'measured invalidation submit latency p50 (us)', of: (_, r) => r?.latencyUs.invSubmit.p50 },
  { name: 'inv_submits', doc: 'invalidation-queue submissions', of: (_, r) => r?.invSubmits },
  { name: 'inv_queue_lock_waits', doc: "submissions that found the queue's lock held", of: (_, r) => r?.invQueueLockWaits },
  { name: 'iotlb_misses', doc: 'device IOTLB misses', of: (_, r) => r?.iotlb.misses },
  { name: 'violations', doc: 'oracle violations (every counter: DMA to unpinned, lost payloads, accounting, reliance, lost wake-ups, map failures, undrained unpins)', of: (_, r) => r && violationTotal(r.violations) },
  { name: 'protection_leaks', doc: 'probes of unmapped addresses that got through', of: (_, r) => r?.protection.leaks },
  { name: 'load_average_1m', doc: "the machine's 1-minute load average as the sweep started", of: (_, r) => r?.machine?.loadAverage1m },
  { name: 'error', doc: 'why the point failed, empty if it finished', of: (p) => p.error },
];

function cell(v: string | number | undefined): string {
  if (v === undefined) return '';
  const s = typeof v === 'number' ? (Number.isInteger(v) ? String(v) : String(Math.round(v * 1000) / 1000)) : v;
  return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function toCsv(points: readonly PointResult[]): string {
  const rows = points.map((p) => CSV_COLUMNS.map((c) => cell(c.of(p, p.report))).join(','));
  return `${[CSV_COLUMNS.map((c) => c.name).join(','), ...rows].join('\n')}\n`;
}

/** The column table for the README and --help. */
export const csvColumnsDoc = (): string => CSV_COLUMNS.map((c) => `| \`${c.name}\` | ${c.doc} |`).join('\n');
