// The explorer's named scenarios.
import type { Scenario } from '../scenario.js';
import { forceUnpinVsMap, mapVsUnpin, twoVcpusSamePage } from './coiommu.js';
import { unmapVsDeviceAccess } from './viommu.js';

export const SCENARIOS: readonly Scenario[] = [mapVsUnpin, twoVcpusSamePage, forceUnpinVsMap, unmapVsDeviceAccess];

export class UnknownScenarioError extends Error {}

export function scenarioByName(name: string): Scenario {
  const s = SCENARIOS.find((x) => x.name === name);
  if (!s) throw new UnknownScenarioError(`unknown scenario "${name}": allowed values are ${SCENARIOS.map((x) => x.name).join(', ')}`);
  return s;
}
