// report.html of a sweep or an experiment: what ran, the view's tables and plots, the scenario, the
// cost table, the machine, and every point.
import { costSection, machineSection, scenarioSection } from '../html/common.js';
import { renderPage, type Section } from '../html/page.js';
import { fmtNum } from '../table.js';
import type { SweepResults } from './results.js';
import type { SweepView } from './view.js';

function aboutSection(r: SweepResults): Section {
  const m = r.manifest;
  const pairs: [string, string][] = [
    ['command', m.command],
    ['points', `${r.points.filter((p) => p.report).length} finished of ${m.planPoints} in the plan${m.shard.count > 1 ? ` (shard ${m.shard.index}/${m.shard.count})` : ''}`],
    ['configurations', `${m.pairs.join(', ')}${m.vary.map((v) => ` x ${v.key} = ${v.values.join(', ')}`).join('')}, ${m.trials} trial(s) each`],
    ['parallelism', `virtual-clock points ran ${m.threads} at a time on a piscina pool; wall-clock points ${m.wallParallel ? `ran side by side too (asked for with --parallel-wall: their measured figures shared the cores)` : 'ran one at a time'}`],
  ];
  if (!r.complete) pairs.push(['INCOMPLETE', `points without a report: ${r.missing.join(', ')}`]);
  if (r.failed) pairs.push(['FAILED', `point ${r.failed.index} (${r.failed.pair}): ${r.failed.error}`]);
  return { heading: 'what ran', kind: 'pairs', pairs };
}

function pointsSection(r: SweepResults): Section {
  const keys = r.manifest.vary.map((v) => v.key);
  const rows = r.points.map((p) => [
    String(p.index), p.pair, ...keys.map((k) => p.vary[k]), String(p.trial),
    p.report ? fmtNum(p.report.modeled.opsPerSecond) : '-', p.report ? fmtNum(p.report.opsPerSecond) : '-', p.report ? String(p.report.dmaOps) : '-', p.error ?? '',
  ]);
  return { heading: 'every point', kind: 'table', header: ['point', 'policy/notify', ...keys, 'trial', 'modeled ops/s', 'measured ops/s', 'DMAs', 'error'], rows };
}

export function renderSweepHtml(r: SweepResults, v: SweepView): string {
  const reports = r.points.flatMap((p) => (p.report ? [p.report] : []));
  const sections: Section[] = [aboutSection(r)];
  for (const t of v.tables) sections.push({ heading: t.heading, kind: 'table', header: t.header, rows: t.rows, note: t.note });
  for (const p of v.plots.filter((x) => x.data.length > 0)) sections.push({ heading: p.title, kind: 'plot', plot: p });
  if (v.notes.length) sections.push({ heading: 'notes', kind: 'pre', text: v.notes.join('\n') });
  if (reports[0]) sections.push(scenarioSection(reports[0], 'scenario (first point; the varied settings differ per point)'), costSection(reports[0]));
  sections.push(machineSection(reports, [['pool threads', String(r.manifest.threads)]]), pointsSection(r));
  return renderPage({ title: v.title, subtitle: 'viommu-lab sweep report: self-contained, plots rendered at report time', sections });
}
