// An experiment: a named recipe that reproduces one of the source documents' figures as a sweep,
// with a --quick setting (under a minute on 2 cores) and its own table and plots, drawing the
// published values beside the lab's where a paper gives them.
import type { PartialScenario } from '../config.js';
import { defaultScenario, resolveScenario } from '../config.js';
import type { Vary } from '../sweep/plan.js';
import type { GroupSummary, SweepResults } from '../sweep/results.js';
import type { SweepView } from '../sweep/view.js';
import type { ScenarioConfig } from '../scenario.js';
import { pairOverride } from '../../policies/pair-override.js';

export interface ExperimentPlan {
  pairs: string[];
  vary: Vary[];
  trials: number;
  configFor: (pair: string, vary: Record<string, string>, trial: number) => ScenarioConfig;
}

/** Options a recipe may take on the command line (`experiment locality --trace FILE`). */
export interface RecipeOptions {
  trace?: string;
}

export interface Experiment {
  name: string;
  help: string;
  /** What it reproduces, and from which source. */
  source: string;
  /** The RecipeOptions it takes (the others are refused). */
  options?: readonly (keyof RecipeOptions)[];
  plan: (quick: boolean, options?: RecipeOptions) => ExperimentPlan;
  view: (r: SweepResults) => SweepView;
}

/** A published value the lab's figure is drawn beside. */
export interface PaperValue {
  value: number;
  source: string;
}

/** A point's scenario: the recipe's base, the pair (with its third part), the varied settings' own partials, seed + trial. */
export function recipeConfig(base: PartialScenario, pair: string, parts: PartialScenario[], trial: number): ScenarioConfig {
  const [policy, notify, setting] = pair.split('/');
  let partial: PartialScenario = { ...base, policy, notify, ...pairOverride(base, policy, setting) };
  for (const p of parts) partial = deepish(partial, p);
  const cfg = resolveScenario(partial, defaultScenario());
  return trial === 0 ? cfg : { ...cfg, seed: cfg.seed + trial };
}

/** Merge one level of sections (`net: {...}`) so parts can each set a field of a section. */
function deepish(a: PartialScenario, b: PartialScenario): PartialScenario {
  const out: PartialScenario = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const old = out[k];
    out[k] = typeof v === 'object' && v !== null && typeof old === 'object' && old !== null ? { ...old, ...v } : v;
  }
  return out;
}

/** The group of a pair (and varied values, if any). */
export function groupOf(r: SweepResults, pair: string, vary: Record<string, string> = {}): GroupSummary | undefined {
  return r.groups.find((g) => g.pair === pair && Object.entries(vary).every(([k, v]) => g.vary[k] === v));
}

export const GIB_PAGES = 262_144;
