// `trace analyze FILE`: the DMA temporal-locality figures of a Linux DMA trace (iommu:/dma: map
// and unmap events), and what each policy would pin at its peak, as a table or --json.
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { ConfigError } from '../core/errors.js';
import { formatBytes, parseDuration, parseSize } from '../core/units.js';
import { defaultScenario } from '../lab/config.js';
import { fmtNum } from '../lab/table.js';
import { PAGE_SIZE } from '../machine/layout.js';
import { analyzeTrace, type AnalyzeOptions, type TraceAnalysis } from '../workloads/trace/analyze.js';
import type { Ctx, Opts, SetCode } from './context.js';

/** How long each policy keeps a page pinned after its last unmap, from its defaults (ms). */
function keepMs(): Record<string, number> {
  const d = defaultScenario();
  return {
    'viommu-strict': 0,
    'viommu-lazy': d.viommu.flushTimeoutMs,
    'viommu-optimistic': d.viommu.optimisticTimeoutMs,
    coiommu: 2 * d.coiommu.unpinIntervalMs,
  };
}

function options(file: string, o: Opts): AnalyzeOptions {
  if (!existsSync(file)) throw new ConfigError('FILE', file, 'must be a readable trace file (see README: capturing a DMA trace)');
  const windowMs = o.window === undefined ? 100 : parseDuration(String(o.window), '--window');
  if (!(windowMs > 0)) throw new ConfigError('--window', String(o.window), 'must be a duration > 0, e.g. 100ms');
  const recentRaw = o.recent === undefined ? '1ms,10ms,100ms' : String(o.recent);
  const recentMs = recentRaw.split(',').map((x) => parseDuration(x.trim(), '--recent'));
  const guestBytes = o.guestMem === undefined ? defaultScenario().guestPages * PAGE_SIZE : parseSize(String(o.guestMem), '--guest-mem');
  return { skipBad: o.traceSkipBad === true, windowMs, recentMs, keepMs: keepMs(), guestPages: Math.floor(guestBytes / PAGE_SIZE) };
}

const pct = (f: number) => `${fmtNum(100 * f)}%`;
const int = (n: number) => Math.round(n).toLocaleString('en-US');
const pages = (n: number) => `${int(n)} (${formatBytes(n * PAGE_SIZE)})`;

function histogramLines(title: string, unit: string, b: TraceAnalysis['reuseDistanceMaps']): string[] {
  const total = b.reduce((s, x) => s + x.count, 0);
  const rows = b.filter((x) => x.count > 0).map((x) => `    ${`[${int(x.from)}, ${int(x.to)})`.padEnd(24)} ${int(x.count).padStart(12)}  ${pct(x.count / total)}`);
  return [`  ${title} (${unit}):`, ...(rows.length > 0 ? rows : ['    -'])];
}

export function formatAnalysis(a: TraceAnalysis): string {
  const an = a.anomalies;
  const lines = [
    `trace: ${a.file}`,
    `  lines:               ${int(a.lines.lines)} (${int(a.lines.badLines)} malformed skipped, ${int(a.lines.otherEvents)} other events)`,
    `  events:              ${int(a.maps)} maps, ${int(a.unmaps)} unmaps over ${fmtNum(a.durationS)} s; ${int(a.liveAtEnd)} still mapped at the end`,
    `  anomalies:           ${int(an.unmapWithoutMap)} unmaps without their map, ${int(an.doubleMap)} double maps, ${int(an.outOfOrder)} out of time order, ${int(an.lostEvents)} lost by the kernel, ${int(an.truncatedSg)} truncated sg lists`,
    'locality:',
    `  distinct pages:      ${pages(a.distinctPages)} in ${int(a.pageMaps)} page maps (${int(a.firstTouches)} first touches)`,
    ...histogramLines('reuse distance', 'maps since the page was last mapped', a.reuseDistanceMaps),
    ...histogramLines('reuse distance', 'µs since the page was last mapped', a.reuseDistanceUs),
    `  working set:         per ${fmtNum(a.workingSet.windowMs)} ms window: min ${int(a.workingSet.min)}, median ${int(a.workingSet.median)}, max ${int(a.workingSet.max)} pages (${int(a.workingSet.windows)} windows)`,
    ...a.recentHits.map((h) => `  mapped in last ${`${fmtNum(h.withinMs)} ms:`.padEnd(9)}  ${pct(h.fraction)} of page maps`),
    'pinned at peak (pages):',
    ...a.pinnedPeak.map((p) => `  ${p.policy.padEnd(20)} ${pages(p.pages).padEnd(28)} ${p.rule}`),
  ];
  return `${lines.join('\n')}\n`;
}

export function registerTrace(program: Command, ctx: Ctx, setCode: SetCode): void {
  const trace = program.command('trace').description('work with Linux DMA traces (iommu:map/unmap, dma:dma_map_*/dma_unmap_*)');
  trace
    .command('analyze')
    .description('DMA temporal locality of a trace, and what each policy would pin at its peak')
    .argument('<file>', 'a trace as ftrace, trace-cmd report or perf script print it')
    .option('--json', 'print the figures as JSON')
    .option('--window <d>', 'working-set window (default 100ms)')
    .option('--recent <d,...>', 'thresholds for "mapped in the last N ms" (default 1ms,10ms,100ms)')
    .option('--guest-mem <size>', 'guest memory static pinning would pin (default the run default, 1GiB)')
    .option('--trace-skip-bad', 'count malformed lines and go on, instead of stopping at the first')
    .action((file: string, o: Opts) => {
      const a = analyzeTrace(file, options(file, o), 'FILE');
      ctx.out(o.json ? `${JSON.stringify(a, null, 2)}\n` : formatAnalysis(a));
      setCode(0);
    });
}
