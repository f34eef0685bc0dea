// Replay: run one recorded schedule again, with its trace.
import { FollowChooser, ScheduleDivergedError } from './choosers.js';
import { verdictOf, type Verdict } from '../core/scenario.js';
import { scenarioByName } from './scenarios.js';
import type { TraceStep } from './scheduler.js';
import { ScheduleSyntaxError, decodeChoices, encodeChoices } from './schedule-string.js';
import { DEFAULT_MAX_STEPS } from './explore.js';
import { ExploreSession, checkVariant } from './session.js';
import type { MemoryModel } from './sched-layout.js';

export interface ReplayResult {
  scenario: string;
  variant: string;
  schedule: string;
  outcome: string;
  verdict: Verdict;
  steps: number;
  /** The schedule given was shorter than the run: the rest ran without preemptions. */
  extended: boolean;
  trace: TraceStep[];
  errors?: string[];
}

/** Parse and check everything before any worker starts (bad input is a usage error). */
export function prepareReplay(scenarioName: string, variant: string, schedule: string, maxSteps = DEFAULT_MAX_STEPS) {
  const scenario = scenarioByName(scenarioName);
  const choices = decodeChoices(schedule, scenario.threads.length);
  if (choices.length > maxSteps)
    throw new ScheduleSyntaxError(`the schedule has ${choices.length} steps, more than --max-steps ${maxSteps}: raise --max-steps`);
  return { scenario, variant: checkVariant(scenario, variant), choices };
}

/** Replays in this thread (the main thread: it waits for each turn, it never spins). */
export async function replay(
  scenarioName: string,
  variant: string,
  schedule: string,
  maxSteps = DEFAULT_MAX_STEPS,
  memoryModel: MemoryModel = 'sc',
): Promise<ReplayResult> {
  const p = prepareReplay(scenarioName, variant, schedule, maxSteps);
  const session = await ExploreSession.open(p.scenario, p.variant, { maxSteps, spinUs: 0, memoryModel });
  try {
    const r = session.runner.run(new FollowChooser(p.choices), true);
    if (r.steps < p.choices.length)
      throw new ScheduleDivergedError(
        `the schedule does not fit this scenario: it has ${p.choices.length} steps, the run ended after ${r.steps}`,
      );
    return {
      scenario: p.scenario.name,
      variant: p.variant,
      schedule: encodeChoices(r.choices),
      outcome: r.outcome,
      verdict: verdictOf(p.scenario, r.outcome),
      steps: r.steps,
      extended: r.steps > p.choices.length,
      trace: r.trace ?? [],
      ...(r.errors ? { errors: r.errors } : {}),
    };
  } finally {
    await session.close();
  }
}
