// One sweep point as a piscina task: a whole run, in the pool thread, with its own role workers.
import type { RunReport } from '../../core/types.js';
import { runScenario } from '../orchestrator.js';
import type { ScenarioConfig } from '../scenario.js';

export interface PointTask {
  cfg: ScenarioConfig;
}

export const runPointTask = (task: PointTask): Promise<RunReport> => runScenario(task.cfg);
