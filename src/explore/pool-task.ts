// One explorer slice as a piscina task: its own scenario threads, its own schedules, its result.
import { explore, type ExploreResult, type SearchOptions, type Slice } from './explore.js';
import { scenarioByName } from './scenarios.js';
import { ExploreSession } from './session.js';
import { Checkpoint, type CheckpointState } from './checkpoint.js';

export interface SliceTask {
  options: SearchOptions;
  /** Outermost first: the shard of the search, then the thread within it. */
  path: Slice[];
  /** One Int32 word: schedules done, shared by every slice of the search. */
  progress?: SharedArrayBuffer;
  /** Turn hand-off spin (see handOffSpinUs). */
  spinUs?: number;
  /** Save the search state to this file (and resume from `resume`). */
  checkpoint?: { file: string; resume?: CheckpointState<SearchOptions, ExploreResult> };
}

export async function runSlice(task: SliceTask): Promise<ExploreResult> {
  const scenario = scenarioByName(task.options.scenario);
  const session = await ExploreSession.open(scenario, task.options.variant, {
    maxSteps: task.options.maxSteps,
    spinUs: task.spinUs ?? 0,
    memoryModel: task.options.memoryModel,
  });
  try {
    const cp = task.checkpoint ? new Checkpoint<SearchOptions, ExploreResult>(task.checkpoint.file, task.options, task.checkpoint.resume) : undefined;
    return explore(session, scenario, task.options, task.path, task.progress ? new Int32Array(task.progress) : undefined, cp);
  } finally {
    await session.close();
  }
}
