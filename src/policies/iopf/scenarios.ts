import type { Scenario } from '../../core/scenario.js';
export const IOPF_SCENARIOS: readonly Scenario[] = [];
