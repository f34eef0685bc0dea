// What every command gets: where output goes, whether stderr is a terminal, and the runner.
import type { RunReport } from '../core/types.js';
import type { RunOptions } from '../lab/orchestrator.js';
import type { ScenarioConfig } from '../lab/scenario.js';

export type RunScenario = (cfg: ScenarioConfig, opts?: RunOptions) => Promise<RunReport>;

export const NAME = 'viommu-lab';

export interface Ctx {
  out: (s: string) => void;
  err: (s: string) => void;
  stderrIsTTY: boolean;
  runScenario?: RunScenario;
  /** The command line as given (sweeps record it). */
  argv?: string[];
}

export type Opts = Record<string, unknown>;
export type SetCode = (code: number) => void;
