// The catalogue of planted bugs under the default strategy (mixed: random, PCT at depths 2-4 and
// DFS in one budget): every variant of every scenario is found within its scenario's stated budget
// and its schedule replays to the same FORBIDDEN outcome; the real protocol shows no FORBIDDEN
// outcome within the same budget, reaches every outcome its scenario says it must, and its
// histogram does not collapse to one outcome. The budgets are the README's.
import { describe, expect, it } from 'vitest';
import { explore, type SearchOptions } from '../src/explore/explore.js';
import { FollowChooser } from '../src/explore/choosers.js';
import { decodeChoices, encodeChoices } from '../src/explore/schedule-string.js';
import { verdictOf } from '../src/core/scenario.js';
import { allScenarios, scenarioByName } from '../src/explore/scenarios.js';
import { ExploreSession } from '../src/explore/session.js';
import { budgetOf } from '../src/explore/coverage-run.js';

/**
 * The catalogue: the scenarios that state their budget for the default strategy (the README lists
 * them); a scenario joins by declaring `budget` and `mustReach`.
 */
const CATALOGUE = allScenarios().filter((s) => s.budget !== undefined);
const MIXED_BUDGETS: Record<string, number> = Object.fromEntries(CATALOGUE.map((s) => [s.name, budgetOf(s)]));

const opts = (scenario: string, variant: string): SearchOptions => ({
  scenario,
  variant,
  strategy: 'mixed',
  budget: MIXED_BUDGETS[scenario],
  seed: 1,
  depth: 3,
  preemptions: 2,
  maxSteps: 5000,
});

/** The search, and (one session: no second set of workers) the replay of its first FORBIDDEN schedule. */
async function search(o: SearchOptions) {
  const s = scenarioByName(o.scenario);
  const session = await ExploreSession.open(s, o.variant, { maxSteps: o.maxSteps });
  try {
    const r = explore(session, s, o, [{ index: 0, count: 1 }]);
    const first = r.firstForbidden;
    const again = first ? session.runner.run(new FollowChooser(decodeChoices(first.schedule, s.threads.length))) : undefined;
    return { ...r, replayed: again && { outcome: again.outcome, schedule: encodeChoices(again.choices) } };
  } finally {
    await session.close();
  }
}

// the missing-fence variants need x86-TSO (--memory-model tso): their own tests hold them
const BUGS: [string, string][] = CATALOGUE.flatMap((s) => s.variants.filter((v) => v !== 'none' && !v.startsWith('missing-fence')).map((v): [string, string] => [s.name, v]));

describe('the catalogue', () => {
  it('has at least 12 planted bugs, one or more in every scenario, each scenario with a stated budget', () => {
    expect(new Set(BUGS.map(([, v]) => v)).size).toBeGreaterThanOrEqual(12);
    expect(CATALOGUE.length).toBeGreaterThanOrEqual(10);
    for (const s of CATALOGUE) {
      expect(s.variants.length, s.name).toBeGreaterThan(1);
      expect(s.mustReach?.length, `${s.name} declares the outcomes it must reach`).toBeGreaterThan(0);
    }
  });
});

describe('planted bugs x the default strategy', () => {
  it.each(BUGS)('%s with %s: FORBIDDEN within the budget, and the schedule replays to it', async (scenario, variant) => {
    const r = await search({ ...opts(scenario, variant), stopOnForbidden: true });
    expect(r.forbidden, JSON.stringify(r.histogram)).toBeGreaterThan(0);
    expect(r.schedules).toBeLessThanOrEqual(MIXED_BUDGETS[scenario]);
    const first = r.firstForbidden!;
    expect(verdictOf(scenarioByName(scenario), first.outcome)).toBe('FORBIDDEN');
    expect(r.replayed).toEqual({ outcome: first.outcome, schedule: first.schedule });
  });
});

describe('the real protocols under the default strategy', () => {
  it.each(Object.keys(MIXED_BUDGETS))('%s: nothing FORBIDDEN, every outcome it must reach reached, no collapse', async (scenario) => {
    const r = await search(opts(scenario, 'none'));
    expect(r.schedules).toBe(MIXED_BUDGETS[scenario]);
    expect(r.forbidden, JSON.stringify(r.firstForbidden)).toBe(0);
    expect(r.unreached).toEqual([]);
    expect(r.collapsed).toBe(false);
    expect(r.mixed!.random + r.mixed!.pct + r.mixed!.dfs).toBe(r.schedules);
  });
});
