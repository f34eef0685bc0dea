// The fault settings' schema beside crash and hang: the --fault plan (raw specs, parsed and
// checked by src/lab/fault-check.ts) and the fail-nth sweep's point.
import { z } from 'zod';
import { FAILURE_POINTS } from '../core/faults/kinds.js';

export function faultPlanSchema() {
  return {
    plan: z.array(z.string()).optional(),
    // n = 0: count the failure points only (the sweep's first run)
    failNth: z.strictObject({ point: z.enum(FAILURE_POINTS), n: z.number().int().min(0) }).optional(),
  };
}
