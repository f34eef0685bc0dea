// The iopf explorer scenarios on real workers: each planted bug is found by PCT and by the bounded
// DFS within a stated budget and replays to the same FORBIDDEN outcome; the real protocol shows no
// FORBIDDEN outcome within the same budgets, and the races the tables call INTERESTING happen.
import { describe, expect, it } from 'vitest';
import { verdictOf } from '../src/core/scenario.js';
import type { Variant } from '../src/core/types.js';
import { explore, type SearchOptions, type Strategy } from '../src/explore/explore.js';
import { replay } from '../src/explore/replay.js';
import { scenarioByName } from '../src/explore/scenarios.js';
import { ExploreSession } from '../src/explore/session.js';

/**
 * Budgets (schedules). Seen here with seed 1: reclaim-before-shootdown first found at PCT schedule
 * 14, DFS 73; respond-before-map at PCT 2, DFS 29.
 */
const BUDGETS: Record<string, Record<'pct' | 'dfs', number>> = {
  'iopf-fault-vs-reclaim': { pct: 300, dfs: 300 },
  'iopf-two-faults-same-page': { pct: 200, dfs: 200 },
};
const BUGS: [string, Variant][] = [
  ['iopf-fault-vs-reclaim', 'reclaim-before-shootdown'],
  ['iopf-two-faults-same-page', 'respond-before-map'],
];

function opts(scenario: string, variant: Variant, strategy: Strategy): SearchOptions {
  return { scenario, variant, strategy, budget: BUDGETS[scenario][strategy as 'pct' | 'dfs'], seed: 1, depth: 3, preemptions: 2, maxSteps: 5000 };
}

async function search(o: SearchOptions) {
  const s = scenarioByName(o.scenario);
  const session = await ExploreSession.open(s, o.variant, { maxSteps: o.maxSteps });
  try {
    return explore(session, s, o, [{ index: 0, count: 1 }]);
  } finally {
    await session.close();
  }
}

describe.each(['pct', 'dfs'] as const)('iopf planted bugs are found by %s', (strategy) => {
  it.each(BUGS)('%s with %s: FORBIDDEN within the budget, and the schedule replays to it', async (scenario, variant) => {
    const r = await search({ ...opts(scenario, variant, strategy), stopOnForbidden: true });
    expect(r.forbidden).toBeGreaterThan(0);
    expect(r.schedules).toBeLessThanOrEqual(BUDGETS[scenario][strategy]);
    const first = r.firstForbidden!;
    expect(verdictOf(scenarioByName(scenario), first.outcome)).toBe('FORBIDDEN');
    const again = await replay(scenario, variant, first.schedule);
    expect(again.outcome).toBe(first.outcome);
  });
});

describe.each(['pct', 'dfs'] as const)('the real iopf protocol under %s', (strategy) => {
  it.each(Object.keys(BUDGETS))('%s: no FORBIDDEN outcome within the same budget, and the races happen', async (scenario) => {
    const r = await search(opts(scenario, 'none', strategy));
    expect(r.schedules).toBe(BUDGETS[scenario][strategy]);
    expect(r.forbidden).toBe(0);
    expect(Object.keys(r.histogram).length).toBeGreaterThan(1);
    if (scenario === 'iopf-fault-vs-reclaim') {
      // the shootdown raced a DMA: a page under DMA was skipped, and a reclaimed page faulted back in
      expect(r.histogram['reclaim skipped: G was under DMA']).toBeGreaterThan(0);
      expect(r.histogram['reclaimed; the device faulted G back in from swap (major fault)']).toBeGreaterThan(0);
    }
  });
});
