// A pair's third part (`viommu-strict/bare/fands`): the policy's pair setting, as a partial
// scenario in its section. compare, sweep and the experiments' recipes all read pairs this way.
import { policyByName } from './index.js';

/** A pair's third part as a partial scenario: the policy's pair setting in its section. */
export function pairOverride(partial: Record<string, unknown>, policy: string, setting?: string): Record<string, unknown> {
  const ps = policyByName(policy).pairSetting;
  if (!ps || setting === undefined) return {};
  return { [ps.section]: { ...(partial[ps.section] as object | undefined), [ps.key]: setting } };
}
