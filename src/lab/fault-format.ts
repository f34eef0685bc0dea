// Text for the faults a run injected, and for the soak's summary table.
import type { FaultTally } from '../core/faults/board.js';
import { grid } from '../core/grid.js';
import { formatTrend } from './rss-trend.js';
import type { ComboSummary } from './soak.js';

/** `faults  pin-fail 12 · preempt 3 (stoppedMs 90) ...` and the failure points reached. */
export function formatFaultTally(t: FaultTally | undefined, mapFailures: number): string {
  if (!t) return '';
  const kinds = Object.entries(t.byKind).map(([kind, c]) => {
    const { injected, ...reactions } = c!;
    const r = Object.entries(reactions).map(([k, v]) => `${k} ${v}`);
    return `${kind} ${injected}${r.length ? ` (${r.join(', ')})` : ''}`;
  });
  const points = Object.entries(t.points).filter(([, n]) => n > 0).map(([p, n]) => `${p} ${n}`);
  return [
    `faults        ${kinds.length ? kinds.join(' · ') : 'none fired'}; guest map failures ${mapFailures}`,
    ...(points.length ? [`failure points reached: ${points.join(' · ')}`] : []),
  ].join('\n') + '\n';
}

const mb = (x: number) => x.toFixed(1);

export function formatSoakTable(combos: ComboSummary[]): string {
  const rows = combos.map((c) => [
    c.combo,
    c.seconds.toFixed(0),
    String(c.dmaOps),
    String(c.injected),
    String(c.survived),
    String(c.detected),
    String(c.violations),
    String(c.lostPayloads),
    mb(c.rssStartMB),
    mb(c.rssWarmMB),
    mb(c.rssEndMB),
    `${c.rssGrowthPct >= 0 ? '+' : ''}${c.rssGrowthPct.toFixed(1)}%`,
    formatTrend(c.rssTrend),
    c.error ? 'ERROR' : c.violations > 0 || c.lostPayloads > 0 ? 'FAIL' : 'ok',
  ]);
  const header = ['combination', 's', 'DMAs', 'injected', 'survived', 'detected', 'violations', 'lost', 'RSS start MB', 'RSS warm MB', 'RSS end MB', 'growth', 'RSS MB/min [95% CI]', ''];
  return `${grid(header, rows, new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]))}\n`;
}
