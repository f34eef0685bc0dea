// The explorer's named scenarios: those every registered policy declares.
import type { Scenario } from '../core/scenario.js';
import { allPolicies } from '../policies/index.js';
import { LITMUS_SCENARIOS } from './litmus.js';

/** The policies' scenarios, then the memory-model litmus tests. */
export const allScenarios = (): Scenario[] => [...allPolicies().flatMap((p) => [...(p.scenarios ?? [])]), ...LITMUS_SCENARIOS];

export class UnknownScenarioError extends Error {}

export function scenarioByName(name: string): Scenario {
  const s = allScenarios().find((x) => x.name === name);
  if (!s) throw new UnknownScenarioError(`unknown scenario "${name}": allowed values are ${allScenarios().map((x) => x.name).join(', ')}`);
  return s;
}
