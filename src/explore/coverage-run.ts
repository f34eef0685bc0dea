// A coverage run: every scenario's real protocol under the default strategy at its stated budget,
// with the controlled executor recording the protocol site of each operation; the union is the
// figure `viommu-lab coverage` prints.
import type { Scenario } from '../core/scenario.js';
import { COVERAGE_EXCEPTIONS } from './coverage-exceptions.js';
import { coverageOf, type Coverage } from './coverage.js';
import { DEFAULT_MAX_STEPS, explore, type ExploreResult, type SearchOptions } from './explore.js';
import { ExploreSession } from './session.js';

/** A scenario's stated budget for the default strategy (its own, or this). */
export const DEFAULT_SCENARIO_BUDGET = 200;
export const budgetOf = (s: Scenario): number => s.budget ?? DEFAULT_SCENARIO_BUDGET;

/** One search with site recording; returns its result and the sites its schedules reached. */
export async function exploreWithSites(s: Scenario, o: SearchOptions): Promise<{ result: ExploreResult; sites: string[] }> {
  const session = await ExploreSession.open(s, o.variant, { maxSteps: o.maxSteps, coverage: true });
  let result: ExploreResult;
  try {
    result = explore(session, s, o, [{ index: 0, count: 1 }]);
  } catch (e) {
    await session.close();
    throw e;
  }
  return { result, sites: await session.closeWithSites() };
}

/** Every scenario's real protocol, mixed strategy, its budget; the union of the sites reached. */
export async function coverageRun(
  scenarios: readonly Scenario[],
  onScenario?: (name: string, sites: number) => void,
  /** Schedules per scenario (default: each scenario's stated budget). */
  budget?: number,
): Promise<Coverage & { perScenario: Record<string, number> }> {
  const reached = new Set<string>();
  const perScenario: Record<string, number> = {};
  for (const s of scenarios) {
    const o: SearchOptions = { scenario: s.name, variant: 'none', strategy: 'mixed', budget: budget ?? budgetOf(s), seed: 1, depth: 3, preemptions: 2, maxSteps: DEFAULT_MAX_STEPS };
    const { sites } = await exploreWithSites(s, o);
    for (const x of sites) reached.add(x);
    perScenario[s.name] = sites.length;
    onScenario?.(s.name, sites.length);
  }
  return { ...coverageOf(reached, COVERAGE_EXCEPTIONS), perScenario };
}
