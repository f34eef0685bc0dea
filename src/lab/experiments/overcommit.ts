// Overcommit: how much of a guest's memory the host can take back with a balloon, per policy. The
// balloon (issue 10's --balloon) asks for all guest memory mid-run: unpinned resident frames go at
// once, each pinned page is offered to the policy's force-unpin (coIOMMU: refused while its map
// count is not zero; iopf: after a device-TLB shootdown; static pinning, passthrough and the
// vIOMMU's shadow pins: no way to let go). Guest memory never touched was never backed and counts
// as reclaimable; what the policy refuses is what overcommit cannot have.
import type { PlotSpec } from '../html/plots.js';
import { METRICS, type Metric } from '../sweep/metrics.js';
import type { SweepResults } from '../sweep/results.js';
import { figure, groupTable, metricPlot, type PlotAxes, type SweepView } from '../sweep/view.js';
import { recipeConfig, type Experiment } from './experiment.js';

export const OVERCOMMIT_PAIRS = [
  'static/trap', 'passthrough/trap', 'coiommu/trap', 'coiommu/sidecore', 'iopf/trap',
  'viommu-strict/trap', 'viommu-lazy/trap', 'viommu-optimistic/trap',
];
/** --quick keeps one of each behaviour (passthrough pins as static does; lazy lies between strict and optimistic). */
export const OVERCOMMIT_QUICK_PAIRS = ['static/trap', 'coiommu/trap', 'iopf/trap', 'viommu-strict/trap', 'viommu-optimistic/trap'];

/**
 * Guest pages, DMAs, the pool's move interval (so DMA touches more memory) and the balloon's time
 * (virtual ms). The balloon fires on the host's timer (every 50 ms of virtual time), so the link
 * is slow enough that every policy's run outlasts it (quick: 2,000 packets at 0.5 Gbit/s take
 * 131 ms on the wire; full: 20,000 at 1 Gbit/s, 655 ms).
 */
const SETTING = {
  quick: { guestPages: 16_384, ops: 2000, rotateMs: 1, balloonAtMs: 50, lineRateGbps: 0.5 },
  full: { guestPages: 262_144, ops: 20_000, rotateMs: 5, balloonAtMs: 300, lineRateGbps: 1 },
};

/** Two measures of guest memory side by side per policy: what a balloon can take, what was ever resident. */
function groupedBars(r: SweepResults, ms: readonly Metric[]): PlotSpec {
  const data = r.groups.flatMap((g) =>
    ms.flatMap((m) => {
      const f = g.figures[m.key];
      return f ? [{ x: g.pair, series: m.label, y: f.median, lo: f.lo, hi: f.hi }] : [];
    }),
  );
  return { kind: 'bars', title: 'guest memory: reclaimable by a balloon vs resident at peak', xLabel: 'policy/notify', yLabel: '% of guest memory', data };
}

function view(r: SweepResults): SweepView {
  const metrics = [METRICS.reclaimablePct, METRICS.balloonReleased, METRICS.balloonRefused, METRICS.residentPeakPct, METRICS.restored, METRICS.modeledOps, METRICS.violations];
  const axes: PlotAxes = { x: (g) => g.pair, series: () => 'modeled DMA ops/s', xLabel: 'policy/notify' };
  const unfired = r.groups.filter((g) => !g.figures[METRICS.reclaimablePct.key]).map((g) => g.pair);
  const held = r.groups.filter((g) => (g.figures[METRICS.reclaimablePct.key]?.median ?? 100) < 50).map((g) => `${g.pair} ${figure(g, METRICS.reclaimablePct)}%`);
  return {
    title: `overcommit: guest memory a balloon can take back, per policy (net at ${r.points[0]?.report?.config.net?.lineRateGbps ?? '?'} Gbit/s, the balloon asks for all guest memory mid-run)`,
    tables: [groupTable(r, metrics, 'balloon')],
    plots: [groupedBars(r, [METRICS.reclaimablePct, METRICS.residentPeakPct]), metricPlot(r.groups, METRICS.modeledOps, axes, 'bars')],
    notes: [
      'reclaimable = guest memory minus the pinned pages the policy refused to let go (never-touched memory was never backed); took back = resident frames the host freed at the balloon; restored = pages faulted back from swap afterwards (the price, with the modeled ops/s)',
      ...(held.length ? [`nearly nothing reclaimable (everything pinned for the VM's life): ${held.join(', ')}`] : []),
      ...(unfired.length ? [`no balloon fired (the run ended first): ${unfired.join(', ')}`] : []),
      'no published reference values: the coIOMMU talk (ATC 2020) has a "Memory Overcommitment" section and SCIMITAR argues for I/O page faults, but the sources here give no figure for it',
    ],
  };
}

export const overcommit: Experiment = {
  name: 'overcommit',
  help: 'guest memory a balloon can take back under each policy: static, passthrough, coIOMMU (force-unpin), iopf (shootdown), vIOMMU variants',
  source: 'coIOMMU (Tian et al., USENIX ATC 2020), memory overcommitment; SCIMITAR (IBM Haifa), I/O page faults',
  plan: (quick) => {
    const s = quick ? SETTING.quick : SETTING.full;
    return {
      pairs: quick ? OVERCOMMIT_QUICK_PAIRS : OVERCOMMIT_PAIRS,
      vary: [],
      trials: quick ? 1 : 3,
      configFor: (pair, _v, trial) =>
        recipeConfig(
          { workload: 'net', ops: s.ops, durationMs: 120_000, drainMs: 0, guestPages: s.guestPages, net: { rotateMs: s.rotateMs, lineRateGbps: s.lineRateGbps }, host: { memoryPages: 0, balloonPages: s.guestPages, balloonAtMs: s.balloonAtMs } },
          pair, [], trial,
        ),
    };
  },
  view,
};
