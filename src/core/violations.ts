// One total over every oracle counter, so a table, a CSV column or a soak verdict never forgets a
// kind added later (soak and sweep once summed only the first three of seven).
import type { RunReport } from './types.js';

type Violations = RunReport['violations'];

/** Every counter of `violations` except the first-violation record, summed. */
export function violationTotal(v: Violations): number {
  let n = 0;
  for (const [k, x] of Object.entries(v)) if (k !== 'first' && typeof x === 'number') n += x;
  return n;
}
