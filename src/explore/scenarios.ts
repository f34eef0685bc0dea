// The explorer's named scenarios: those every registered policy declares.
import type { Scenario } from '../core/scenario.js';
import { allPolicies } from '../policies/index.js';

export const allScenarios = (): Scenario[] => allPolicies().flatMap((p) => [...(p.scenarios ?? [])]);

export class UnknownScenarioError extends Error {}

export function scenarioByName(name: string): Scenario {
  const s = allScenarios().find((x) => x.name === name);
  if (!s) throw new UnknownScenarioError(`unknown scenario "${name}": allowed values are ${allScenarios().map((x) => x.name).join(', ')}`);
  return s;
}
