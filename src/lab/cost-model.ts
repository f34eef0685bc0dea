// The modeled clock: counts from the run times a cycle cost table, so a result can be projected
// onto hardware that this machine's threads only imitate. Each policy prices its own terms.
import type { CostTable } from '../core/types.js';
import type { Machine } from '../machine/machine.js';
import type { CostCounts, Policy } from '../policies/policy.js';

export { requestCycles, staticPinModeledMs, unmapCycles } from '../core/cost-table.js';

export function modelCycles(policy: Policy, c: CostCounts, t: CostTable, m?: Machine): { cyclesPerDma: number; breakdown: Record<string, number> } {
  const breakdown = policy.cost(c, t, m);
  const cyclesPerDma = Object.values(breakdown).reduce((a, b) => a + b, 0);
  return { cyclesPerDma, breakdown };
}

