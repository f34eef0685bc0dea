// DPOR's reduction (issue 14): schedules needed to exhaust each scenario's bounded space (the
// preemption bound 2), plain DFS (every pass, repeats included) vs DPOR with source sets and
// sleep sets, in the same run. Both must reach the same outcomes. Target: >= 10x fewer schedules
// on the coIOMMU scenarios together.
import { explore, type ExploreResult, type SearchOptions } from '../../src/explore/explore.js';
import { scenarioByName } from '../../src/explore/scenarios.js';
import { ExploreSession } from '../../src/explore/session.js';
import type { Benchmark } from '../lib/context.js';
import { makeResult } from '../lib/report.js';

const BOUND = 2;
const SCENARIOS = ['coiommu-map-vs-unpin', 'coiommu-force-unpin-vs-map'];

const opts = (scenario: string, strategy: 'dfs' | 'dpor'): SearchOptions => ({
  scenario, variant: 'none', strategy, budget: 1_000_000, seed: 1, depth: 3, preemptions: BOUND, maxSteps: 5000, shrink: false,
});

const runs = (r: ExploreResult): number => r.schedules + (r.dfs?.repeats ?? 0);

export const exploreDpor: Benchmark = {
  name: 'explore-dpor',
  title: `explorer: schedules to exhaust the bounded space (${BOUND} preemptions), DFS / DPOR, coIOMMU scenarios, target >= 10x`,
  async run(ctx) {
    const lines: string[] = [];
    let dfsTotal = 0;
    let dporTotal = 0;
    for (const name of SCENARIOS) {
      ctx.log(`explore-dpor: ${name}, DFS then DPOR to exhaustion`);
      const s = scenarioByName(name);
      const session = await ExploreSession.open(s, 'none', {});
      try {
        const dfs = explore(session, s, opts(name, 'dfs'), [{ index: 0, count: 1 }]);
        const dpor = explore(session, s, opts(name, 'dpor'), [{ index: 0, count: 1 }]);
        const same = JSON.stringify(Object.keys(dfs.histogram).sort()) === JSON.stringify(Object.keys(dpor.histogram).sort());
        if (!same) throw new Error(`${name}: DFS and DPOR reached different outcomes`);
        dfsTotal += runs(dfs);
        dporTotal += runs(dpor);
        lines.push(`${name}: DFS ${runs(dfs)} schedules (${dfs.seconds.toFixed(1)} s), DPOR ${runs(dpor)} (${dpor.seconds.toFixed(1)} s), ${(runs(dfs) / runs(dpor)).toFixed(1)}x, same outcomes`);
      } finally {
        await session.close();
      }
    }
    return makeResult({
      name: this.name,
      unit: 'schedules',
      value: dfsTotal,
      baseline: dporTotal,
      ratioOf: 'value/baseline',
      target: { op: '>=', limit: 10 },
      valueIs: `plain DFS, every pass up to ${BOUND} preemptions, repeats included, until the bounded space is exhausted`,
      baselineIs: 'source-set DPOR with sleep sets, same bound, until exhausted',
      spinningThreads: 0,
      detail: { value: lines.join('; '), baseline: 'same searches' },
    });
  },
};
