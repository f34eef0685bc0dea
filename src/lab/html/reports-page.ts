// report.html of `run --html` and `compare --html`: the printed table, the figures side by side with
// grouped bars (policy x notify path, 95% intervals as error bars when there are trials), the
// scenario, the cost table and the machine.
import { writeFileSync } from 'node:fs';
import type { RunReport, TrialInterval } from '../../core/types.js';
import { formatCompareTable, formatRunReport } from '../table.js';
import { costSection, machineSection, scenarioSection } from './common.js';
import { renderPage, type Section } from './page.js';
import type { Datum, PlotSpec } from './plots.js';

interface Figure {
  label: string;
  of: (r: RunReport) => number | undefined;
  ci?: (r: RunReport) => TrialInterval | undefined;
}

const FIGURES: Figure[] = [
  { label: 'modeled DMA ops/s', of: (r) => r.modeled.opsPerSecond, ci: (r) => r.ci95?.modeledOpsPerSecond },
  { label: 'measured DMA ops/s', of: (r) => r.opsPerSecond, ci: (r) => r.ci95?.opsPerSecond },
  { label: 'exits per DMA', of: (r) => r.exitsPerDma, ci: (r) => r.ci95?.exitsPerDma },
  { label: 'peak pinned pages', of: (r) => r.pinnedPages.peak },
];

function plotOf(reports: readonly RunReport[], f: Figure): PlotSpec {
  const data: Datum[] = reports.flatMap((r) => {
    const y = f.ci?.(r)?.median ?? f.of(r);
    const ci = f.ci?.(r);
    return y === undefined || !Number.isFinite(y) ? [] : [{ x: r.policy, series: r.notify, y, ...(ci && { lo: ci.lo, hi: ci.hi }) }];
  });
  return { kind: 'bars', title: f.label, xLabel: 'policy', yLabel: f.label, data };
}

export function renderReportsHtml(reports: readonly RunReport[], title: string): string {
  const text = reports.length === 1 ? formatRunReport(reports[0]) : formatCompareTable([...reports]);
  const sections: Section[] = [{ heading: reports.length === 1 ? 'report' : 'comparison', kind: 'pre', text }];
  for (const f of FIGURES) {
    const plot = plotOf(reports, f);
    if (plot.data.length > 0) sections.push({ heading: f.label, kind: 'plot', plot });
  }
  if (reports[0]) sections.push(scenarioSection(reports[0]), costSection(reports[0]));
  sections.push(machineSection(reports));
  return renderPage({ title, subtitle: 'viommu-lab report: self-contained, plots rendered at report time', sections });
}

export function writeReportsHtml(file: string, reports: readonly RunReport[], title: string): void {
  writeFileSync(file, renderReportsHtml(reports, title));
}
