// Human-readable reports: the side-by-side table of `compare` and the key/value view of `run`.
import type { CostTable, Percentiles, RunReport } from '../core/types.js';
import { grid } from '../core/grid.js';
import { violationTotal } from '../core/violations.js';
import { formatBytes, formatDuration } from '../core/units.js';
import { PAGE_SIZE } from '../machine/layout.js';
import { policyByName } from '../policies/index.js';
import { workloadByName } from '../workloads/index.js';
import { halfWidth, overlaps, type Interval } from './stats.js';
import { overloaded } from './trials.js';

export { grid } from '../core/grid.js';

const intFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** Integer with thousands separators. */
export function fmtInt(n: number): string {
  return Number.isFinite(n) ? intFmt.format(Math.round(n)) : '-';
}

/** The decimals fmtNum gives a number of this size. */
const decimalsFor = (n: number) => {
  const a = Math.abs(n);
  return a === 0 || a >= 100 ? 0 : a >= 10 ? 1 : a >= 0.1 ? 2 : 3;
};

const fixed = (n: number, digits: number) =>
  Number.isFinite(n) ? new Intl.NumberFormat('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(n) : '-';

/** About three significant digits, thousands separators above 100. */
export function fmtNum(n: number): string {
  return fixed(n, decimalsFor(n));
}

const label = (r: RunReport) => `${r.policy}/${r.notify}`;
const violationCount = (r: RunReport) => violationTotal(r.violations);
const pcts = (p: Percentiles) => `p50 ${fmtNum(p.p50)}  p99 ${fmtNum(p.p99)}  max ${fmtNum(p.max)}`;
const costLine = (c: CostTable) =>
  Object.entries(c)
    .map(([k, v]) => `${k} ${fmtCost(v)}`)
    .join(', ');
const fmtCost = (v: number) => (Number.isInteger(v) ? fmtInt(v) : String(v));
const guestLine = (r: RunReport) =>
  `${formatBytes(r.guestPages * PAGE_SIZE)} (${fmtInt(r.guestPages)} pages), ${r.vcpus} vCPU${r.vcpus === 1 ? '' : 's'}`;

const workloadLine = (r: RunReport): string => workloadByName(r.workload).describe(r.config);
/** Does the policy send the host requests of this kind? (else the figure prints as `-`) */
const asks = (r: RunReport, kind: 'pin' | 'invalidation'): boolean => policyByName(r.policy).requests === kind;
const pctsIf = (yes: boolean, p: Percentiles) => (yes ? pcts(p) : '-');

function parallelismLine(p: RunReport['parallelism']): string {
  return `${p.cores} cores, ${p.threads} threads, ${p.spinners} spinner${p.spinners === 1 ? '' : 's'}`;
}

function oversubscribedWarning(r: RunReport): string {
  const p = r.parallelism;
  return (
    `WARNING: ${label(r)} was oversubscribed (${p.spinners} spinning of ${p.threads} threads on ${p.cores} cores): ` +
    'its latency tails include OS scheduler ticks, not only protocol costs'
  );
}

function staticPinLine(r: RunReport): string | undefined {
  const s = r.staticPin;
  if (!s) return undefined;
  return `${fmtInt(s.pages)} pages (${formatBytes(s.pages * PAGE_SIZE)}) pinned at VM creation in ${formatDuration(s.ms)} measured, ${formatDuration(s.modeledMs)} modeled`;
}

function firstViolationLine(r: RunReport): string | undefined {
  const v = r.violations.first;
  if (!v) return undefined;
  return `${v.kind} seen by ${v.role} at ${formatDuration(v.atMs)}, gfn ${v.gfn}, frame ${v.frame}: ${v.detail}`;
}

const allSame = <T>(xs: T[], key: (x: T) => string) => xs.every((x) => key(x) === key(xs[0]));

function iotlbHitPct(r: RunReport): string {
  const t = r.iotlb ? r.iotlb.hits + r.iotlb.misses : 0;
  return t > 0 ? fmtNum((100 * r.iotlb.hits) / t) : '-';
}

const trialsOf = (r: RunReport) => r.trials ?? 1;
/** Every run behind a report: its trials, or the report itself. */
const runsOf = (r: RunReport) => r.trialReports ?? [r];

/** `median ±half-width` over several trials (scaled by `k`, the ± with the median's decimals); the plain value for one trial. */
function spread(r: RunReport, ci: Interval | undefined, plain: number, fmt: typeof fmtNum | typeof fmtInt, k = 1): string {
  if (!ci || trialsOf(r) <= 1) return fmt(plain * k);
  const m = ci.median * k;
  return `${fmt(m)} ±${fmt === fmtNum ? fixed(halfWidth(ci) * k, decimalsFor(m)) : fmt(halfWidth(ci) * k)}`;
}

/** The sentence warning that other work had the cores busy when the command started (undefined: it did not). */
export function loadWarning(runs: RunReport[]): string | undefined {
  const busy = runs.filter((r) => overloaded(r.machine));
  if (busy.length === 0) return undefined;
  const top = busy.reduce((a, b) => (b.machine!.loadAverage1m > a.machine!.loadAverage1m ? b : a)).machine!;
  return (
    `the 1-minute load average was ${fmtNum(top.loadAverage1m)} when the command started, above the ${top.cores} cores: ` +
    'other work was competing for the cores, so the figures are noisier than they should be'
  );
}

/** The 1-minute load average when the command behind a report started. */
function loadLine(r: RunReport): string | undefined {
  const loads = runsOf(r).flatMap((t) => (t.machine ? [t.machine] : []));
  if (loads.length === 0) return undefined;
  const each = loads.length > 1 ? ' of each trial' : '';
  return `1-minute load average ${loads.map((m) => fmtNum(m.loadAverage1m)).join(', ')} on ${loads[0].cores} cores at the start${each}`;
}

const HEADER = ['policy', 'notify', 'DMA ops/s', 'modeled ops/s*', 'line %*', 'M reads/page', 'T(M) Gbit/s*', 'exits/1k DMA', 'inval/DMA', 'pins', 'unpins', 'pinned peak/end', 'map p50/p99 µs', 'IOTLB hit %', 'leaks/probes', 'cycles/DMA*', 'violations'];

/** The policy, with its invalidation strategy when it is not Linux's. */
const policyCell = (r: RunReport): string => (r.invalidation && r.invalidation !== 'linux' ? `${r.policy} (${r.invalidation})` : r.policy);

function compareRow(r: RunReport): string[] {
  const t = r.modeled.translation;
  return [
    policyCell(r),
    // a policy that sends the host no requests has no notify path
    policyByName(r.policy).requests === 'none' ? '-' : r.notify,
    spread(r, r.ci95?.opsPerSecond, r.opsPerSecond, fmtInt),
    spread(r, r.ci95?.modeledOpsPerSecond, r.modeled.opsPerSecond, fmtInt),
    r.modeled.lineRatePercent === undefined ? '-' : fmtNum(r.modeled.lineRatePercent),
    t ? fmtNum(t.readsPerPage) : '-',
    t ? fmtNum(t.modelGbps) : '-',
    spread(r, r.ci95?.exitsPerDma, r.exitsPer1kDma / 1000, fmtNum, 1000),
    fmtNum(r.dmaOps > 0 ? (r.invSubmits ?? 0) / r.dmaOps : 0),
    fmtInt(r.pins),
    fmtInt(r.unpins),
    `${fmtInt(r.pinnedPages.peak)}/${fmtInt(r.pinnedPages.end)}`,
    `${spread(r, r.ci95?.mapP50Us, r.latencyUs.map.p50, fmtNum)}/${fmtNum(r.latencyUs.map.p99)}`,
    iotlbHitPct(r),
    r.protection ? `${fmtInt(r.protection.leaks)}/${fmtInt(r.protection.probes)}` : '-',
    fmtInt(r.modeled.cyclesPerDma),
    fmtInt(violationCount(r)),
  ];
}

/** Threads and spinners: once if every run had the same, else per run. */
function parallelismFooter(reports: RunReport[]): string[] {
  const r0 = reports[0];
  const out: string[] = [];
  if (allSame(reports, (r) => parallelismLine(r.parallelism))) out.push(`parallelism: ${parallelismLine(r0.parallelism)}`);
  else if (allSame(reports, (r) => String(r.parallelism.cores))) {
    const each = reports.map((r) => `${label(r)} ${r.parallelism.threads} threads, ${r.parallelism.spinners} spinning`);
    out.push(`parallelism: ${r0.parallelism.cores} cores; ${each.join('; ')}`);
  } else out.push(`parallelism: ${reports.map((r) => `${label(r)} ${parallelismLine(r.parallelism)}`).join('; ')}`);
  for (const r of reports) if (r.parallelism.oversubscribed) out.push(oversubscribedWarning(r));
  return out;
}

function protectionFooter(reports: RunReport[]): string[] {
  if (!reports.some((r) => r.protection?.probes)) return [];
  const out = ['protection:  leaks = probes of unmapped addresses that still translated; strict must show 0, the others pay a window'];
  const windows = reports.filter((r) => r.protection?.leaks);
  if (windows.length)
    out.push(
      `window:      how long an unmapped address still translated, p50/max µs: ` +
        windows.map((r) => `${label(r)} ${fmtNum(r.protection.windowUs.p50)}/${fmtNum(r.protection.windowUs.max)}`).join('; '),
    );
  return out;
}

/** What each design let the host take back (resident peak, reclaimed, restored, force unpins), and iopf's faults. */
function hostFooter(reports: RunReport[]): string[] {
  const out = [
    'host memory: resident peak / reclaimed / restored / force unpins (pages): ' +
      reports.map((r) => `${label(r)} ${fmtInt(r.host.residentPeak)}/${fmtInt(r.host.reclaimed)}/${fmtInt(r.host.restored)}/${fmtInt(r.host.forceUnpins)}`).join('; '),
  ];
  for (const r of reports) if (r.host.balloon) out.push(`balloon:     ${label(r)}: ${balloonLine(r.host.balloon)}`);
  for (const r of reports) if (r.faults) out.push(`faults:      ${label(r)}: ${faultsLine(r)}`);
  return out;
}

const balloonLine = (b: NonNullable<RunReport['host']['balloon']>) =>
  `${fmtInt(b.requested)} pages asked at ${formatDuration(b.atMs)}, ${fmtInt(b.released)} released, ${fmtInt(b.refused)} pinned pages refused`;

function faultsLine(r: RunReport): string {
  const f = r.faults!;
  const per = r.dmaOps > 0 ? f.raised / r.dmaOps : 0;
  const drop = f.dropped ? `, ${fmtInt(f.dropped)} descriptors dropped, ${fmtInt(f.reposted)} re-posted` : '';
  const stall = f.dropped ? '' : `, stall p50 ${fmtNum(f.stalledUs.p50)} µs p99 ${fmtNum(f.stalledUs.p99)} µs (virtual)`;
  return `${fmtInt(f.raised)} raised (${fmtNum(per)} per DMA), ${fmtInt(f.minor)} minor, ${fmtInt(f.major)} major${drop}${stall}; ${fmtInt(r.shootdowns ?? 0)} shootdowns`;
}

/** The cost table, static pinning's one-time cost, and whatever went wrong, per run. */
function costAndTroubleFooter(reports: RunReport[]): string[] {
  const out = [
    `* modeled: the virtual clock (${reports[0].config.clock === 'virtual' ? "the policies' timers ran on it" : "the policies' timers ran on this machine's clock"}) and counts x the cost table below, projected onto hardware`,
  ];
  if (allSame(reports, (r) => costLine(r.modeled.costTable))) out.push(`cost table:  ${costLine(reports[0].modeled.costTable)}`);
  else for (const r of reports) out.push(`cost table (${label(r)}): ${costLine(r.modeled.costTable)}`);
  const several = reports.filter((x) => x.staticPin).length > 1;
  for (const r of reports) {
    const s = staticPinLine(r);
    if (s) out.push(`static pin:  ${several ? `${label(r)}: ` : ''}${s}`);
  }
  for (const r of reports) if (r.teardownLeftovers?.length) out.push(`LEFTOVERS:   ${label(r)}: ${r.teardownLeftovers.join('; ')}`);
  for (const r of reports) {
    const v = firstViolationLine(r);
    if (v) out.push(`VIOLATION:   ${label(r)}: first ${v}`);
  }
  return out;
}

/** How many trials, in what order, and which configurations' DMA ops/s the noise cannot tell apart. */
function trialsFooter(reports: RunReport[]): string[] {
  if (!reports.some((r) => trialsOf(r) > 1)) return [];
  const counts = reports.map(trialsOf);
  const each = counts.every((n) => n === counts[0]) ? `${counts[0]} per configuration` : reports.map((r) => `${label(r)} ${trialsOf(r)}`).join(', ');
  const out = [
    `trials:      ${each}, interleaved in a shuffled order (seed ${reports[0].config.seed}); ` +
      'each ± figure is the median ± half its 95% bootstrap interval',
  ];
  const near = new Map<string, string[]>();
  reports.forEach((a, i) =>
    reports.slice(i + 1).forEach((b) => {
      if (a.ci95 && b.ci95 && overlaps(a.ci95.opsPerSecond, b.ci95.opsPerSecond)) near.set(label(a), [...(near.get(label(a)) ?? []), label(b)]);
    }),
  );
  for (const [a, bs] of near) out.push(`within noise: ${a} vs ${bs.join(', ')} (DMA ops/s intervals overlap: no order between them)`);
  if (near.size === 0 && reports.length > 1) out.push('spread:      no two DMA ops/s intervals overlap');
  return out;
}

/** Side-by-side comparison of several runs of the same base scenario, with a footer of what was run. */
export function formatCompareTable(reports: RunReport[], failed?: { label: string; message: string }): string {
  if (reports.length === 0) return failed ? `FAILED:      ${failed.label}: ${failed.message}\n` : '(no runs)\n';
  const rows = reports.map(compareRow);
  if (failed) rows.push([...failed.label.split('/'), 'FAILED', ...HEADER.slice(3).map(() => '-')]);
  const out = [grid(HEADER, rows, new Set(HEADER.map((_, i) => i).slice(2))), ''];
  if (failed) out.push(`FAILED:      ${failed.label}: ${failed.message}`);
  const c = reports[0].config;
  out.push(`guest:       ${guestLine(reports[0])}`, `workload:    ${workloadLine(reports[0])}`);
  const measured = reports.map((r) => `${fmtNum(r.seconds)} s`).join(', ');
  out.push(`duration:    ${formatDuration(c.durationMs)} per run + ${formatDuration(c.drainMs)} drain, seed ${c.seed}; measured ${measured}`);
  if (c.variant !== 'none') out.push(`variant:     ${c.variant} (a planted bug, not the real protocol)`);
  out.push(...parallelismFooter(reports));
  out.push(...new Set(reports.map((r) => policyByName(r.policy).footer?.(c)).filter((x): x is string => !!x)));
  if (reports.some((r) => r.modeled.translation))
    out.push(
      'M:           IOMMU memory reads per page of DMA (IOTLB misses + page-table-cache misses by level); T(M) = 4 KiB / (l0 + M x l_m), F&S\'s model;' +
        ` invalidation ${reports.some((r) => r.invalidation === 'fands') ? 'linux unless marked (fands)' : 'linux'}`,
    );
  out.push(...protectionFooter(reports), ...hostFooter(reports), ...costAndTroubleFooter(reports), ...trialsFooter(reports));
  const load = loadWarning(reports.flatMap(runsOf));
  if (load) out.push(`WARNING: ${load}`);
  return out.join('\n') + '\n';
}

type Group = [string, [string, string | undefined][]];

function scenarioGroup(r: RunReport): Group {
  return [
    'scenario',
    [
      ['policy', r.policy],
      ['notify', r.notify],
      ['workload', workloadLine(r)],
      ['variant', r.variant === 'none' ? 'none' : `${r.variant} (a planted bug, not the real protocol)`],
      ['guest', guestLine(r)],
      ['duration', `${fmtNum(r.seconds)} s measured (${formatDuration(r.config.durationMs)} configured, then ${formatDuration(r.config.drainMs)} drain)`],
      ['seed', String(r.config.seed)],
      ['trials', trialsOf(r) > 1 ? `${trialsOf(r)}; each ± figure is the median ± half its 95% bootstrap interval, the others are the median trial's` : undefined],
    ],
  ];
}

function throughputGroup(r: RunReport): Group {
  return [
    'throughput',
    [
      ['DMA ops', fmtInt(r.dmaOps)],
      ['DMA ops/s', spread(r, r.ci95?.opsPerSecond, r.opsPerSecond, fmtInt)],
      ['per trial', trialsOf(r) > 1 ? `${runsOf(r).map((t) => fmtInt(t.opsPerSecond)).join(', ')} DMA ops/s (in the order they ran)` : undefined],
      ['modeled ops/s', r.ci95?.modeledOpsPerSecond && trialsOf(r) > 1 ? spread(r, r.ci95.modeledOpsPerSecond, 0, fmtInt) : undefined],
      ['exits', `${fmtInt(r.exits)} (${fmtNum(r.exitsPer1kDma)} per 1k DMA)`],
      ['map failures', r.mapFailures ? `${fmtInt(r.mapFailures)} (the buffer waited and was tried again)` : undefined],
    ],
  ];
}

function protectionGroup(r: RunReport): Group {
  const t = r.iotlb;
  const p = r.protection;
  return [
    'vIOMMU and protection',
    [
      ['invalidations', r.invSubmits ? `${fmtInt(r.invalidations)} descriptors in ${fmtInt(r.invSubmits)} submissions` : undefined],
      ['queue lock', r.invQueueLockWaits ? `found held on ${fmtInt(r.invQueueLockWaits)} submissions` : undefined],
      ['exits per DMA', spread(r, r.ci95?.exitsPerDma, r.exitsPerDma ?? 0, fmtNum)],
      ['submit latency', r.invSubmits ? `${pcts(r.latencyUs.invSubmit)} µs` : undefined],
      ['invalidation', r.invalidation],
      ['IOTLB', t && t.hits + t.misses > 0 ? `${fmtInt(t.hits)} hits, ${fmtInt(t.misses)} misses, ${fmtInt(t.walkReads)} walk reads${t.laps ? `; flush log lapped ${fmtInt(t.laps)} times` : ''}` : undefined],
      [
        'page-table caches',
        t?.ptcacheMisses && t.hits + t.misses > 0
          ? `misses L1 ${fmtInt(t.ptcacheMisses.l1)}, L2 ${fmtInt(t.ptcacheMisses.l2)}, L3 ${fmtInt(t.ptcacheMisses.l3)}; M = ${fmtNum(t.readsPerPage ?? 0)} reads per page`
          : undefined,
      ],
      [
        'protection',
        p
          ? `${fmtInt(p.leaks)} of ${fmtInt(p.probes)} probes got through` +
            (p.leaks > 0 ? `, window p50 ${fmtNum(p.windowUs.p50)} µs, max ${fmtNum(p.windowUs.max)} µs` : '')
          : undefined,
      ],
    ],
  ];
}

function memoryGroups(r: RunReport): Group[] {
  return [
    [
      'pinning',
      [
        ['pin requests', asks(r, 'pin') ? fmtInt(r.pinRequests) : '-'],
        ['pins', fmtInt(r.pins)],
        ['unpins', fmtInt(r.unpins)],
        ['pinned pages', `peak ${fmtInt(r.pinnedPages.peak)}, end ${fmtInt(r.pinnedPages.end)}`],
        ['static pin', staticPinLine(r)],
      ],
    ],
    [
      'host memory (pages)',
      [
        ['resident', `peak ${fmtInt(r.host.residentPeak)}, end ${fmtInt(r.host.residentEnd)}`],
        ['reclaimed', fmtInt(r.host.reclaimed)],
        ['restored', fmtInt(r.host.restored)],
        ['force unpins', fmtInt(r.host.forceUnpins)],
        ['reclaimable at end', fmtInt(r.host.reclaimablePagesEnd)],
        ['balloon', r.host.balloon ? balloonLine(r.host.balloon) : undefined],
        ['I/O page faults', r.faults ? faultsLine(r) : undefined],
      ],
    ],
  ];
}

function costGroups(r: RunReport): Group[] {
  return [
    [
      'latency (µs)',
      [
        ['map', trialsOf(r) > 1 ? `p50 ${spread(r, r.ci95?.mapP50Us, r.latencyUs.map.p50, fmtNum)}  (median trial: ${pcts(r.latencyUs.map)})` : pcts(r.latencyUs.map)],
        ['pin request', pctsIf(asks(r, 'pin'), r.latencyUs.pinRequest)],
        ['inval submit', pctsIf(asks(r, 'invalidation'), r.latencyUs.invSubmit)],
      ],
    ],
    [
      'modeled cost',
      [
        ['clock', r.config.clock === 'virtual' ? "virtual (the policies' timers ran on it)" : "wall (the policies' timers ran on this machine's clock)"],
        ['virtual time', `${fmtNum(r.modeled.virtualSeconds * 1000)} ms for ${fmtInt(r.dmaOps)} DMA ops`],
        ['DMA ops/s', fmtInt(r.modeled.opsPerSecond)],
        ['line rate', r.modeled.gbps === undefined ? undefined : `${fmtNum(r.modeled.gbps)} Gbit/s, ${fmtNum(r.modeled.lineRatePercent ?? 0)}% of the link`],
        ['map latency', `p50 ${fmtNum(r.modeled.latencyUs.map.p50)}  p99 ${fmtNum(r.modeled.latencyUs.map.p99)} µs`],
        [
          'translation',
          r.modeled.translation
            ? `M ${fmtNum(r.modeled.translation.readsPerPage)} reads/page: ${fmtNum(r.modeled.translation.pageNs)} ns a page, T(M) ${fmtNum(r.modeled.translation.modelGbps)} Gbit/s (F&S's model)`
            : undefined,
        ],
        ['cycles/DMA', fmtInt(r.modeled.cyclesPerDma)],
        ...Object.entries(r.modeled.breakdown).map(([k, v]): [string, string] => [`  ${k}`, fmtNum(v)]),
        ['cost table', costLine(r.modeled.costTable)],
      ],
    ],
    [
      'parallelism',
      [
        ['machine', parallelismLine(r.parallelism)],
        ['warning', r.parallelism.oversubscribed ? oversubscribedWarning(r) : undefined],
        ['load', loadLine(r)],
        ['load warning', loadWarning(runsOf(r))?.replace(/^/, 'WARNING: ')],
      ],
    ],
  ];
}

function violationsGroup(r: RunReport): Group {
  return [
    'violations',
    [
      ['total', fmtInt(violationCount(r))],
      ['DMA to unpinned', fmtInt(r.violations.dmaToUnpinned)],
      ['lost payloads', fmtInt(r.violations.lostPayloads)],
      ['accounting', fmtInt(r.violations.accounting)],
      ['unpinned while mapped', fmtInt(r.violations.unpinnedWhileMapped ?? 0)],
      ['lost wake-ups', fmtInt(r.violations.lostWakeups ?? 0)],
      ['map failures with frames free', fmtInt(r.violations.mapFailures ?? 0)],
      ['unpins before IOTLB drain', fmtInt(r.violations.undrainedUnpins ?? 0)],
      ['first', firstViolationLine(r)],
      ['teardown leftovers', r.teardownLeftovers?.length ? r.teardownLeftovers.join('; ') : undefined],
    ],
  ];
}

/** One run as grouped `key: value` lines. */
export function formatRunReport(r: RunReport): string {
  const groups = [scenarioGroup(r), throughputGroup(r), protectionGroup(r), ...memoryGroups(r), ...costGroups(r), violationsGroup(r)];
  const width = Math.max(...groups.flatMap(([, kv]) => kv.map(([k]) => k.length))) + 1;
  const out: string[] = [];
  for (const [title, kv] of groups) {
    out.push(`${title}:`);
    for (const [k, v] of kv) if (v !== undefined) out.push(`  ${`${k}:`.padEnd(width + 1)} ${v}`);
  }
  return out.join('\n') + '\n';
}
