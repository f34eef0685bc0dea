// `replay`: run one schedule again and print its step-by-step trace; exits 3 on a FORBIDDEN outcome.
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ConfigError } from '../core/errors.js';
import { DEFAULT_MAX_STEPS } from '../explore/explore.js';
import { replay, prepareReplay, type ReplayResult } from '../explore/replay.js';
import { perfettoTrace } from '../explore/trace.js';
import { NAME, type Opts, type SetCode } from './context.js';
import { formatReplay } from './explore-format.js';
import { EXIT_FORBIDDEN, SCENARIO_NAMES, maxStepsOf, memoryModelOf, scenarioOf, usageError, variantOf, writableFile, type ExploreCtx } from './explore-options.js';

const SCHEDULE_ALLOWED = 'the choice string explore printed, e.g. 0*3.2.1*4';

/** A real FORBIDDEN schedule of this variant (explore --strategy dfs --budget 600 finds it); quoted for zsh. */
const REPLAY_EXAMPLE = `${NAME} replay --scenario coiommu-map-vs-unpin --variant unpin-load-store --schedule '1*7.2*7.0*32.1*4.2*6' --trace t.json`;

/** Checks every flag, and the schedule against the scenario, before any worker starts. */
function replayArgs(o: Opts) {
  const scenario = scenarioOf(o.scenario);
  const variant = variantOf(scenario, o.variant);
  if (typeof o.schedule !== 'string') throw new ConfigError('--schedule', undefined, SCHEDULE_ALLOWED);
  const schedule = o.schedule;
  const maxSteps = maxStepsOf(o);
  const memoryModel = memoryModelOf(o);
  const trace = typeof o.trace === 'string' ? o.trace : undefined;
  if (trace !== undefined) writableFile('--trace', trace);
  try {
    prepareReplay(scenario.name, variant, schedule, maxSteps);
  } catch (e) {
    usageError(e, '--schedule', schedule);
  }
  return { scenario, variant, schedule, maxSteps, trace, memoryModel };
}

async function replayAction(o: Opts, ctx: ExploreCtx, setCode: SetCode): Promise<void> {
  const { scenario: s, variant, schedule, maxSteps, trace, memoryModel } = replayArgs(o);
  let r: ReplayResult;
  try {
    r = await replay(s.name, variant, schedule, maxSteps, memoryModel);
  } catch (e) {
    usageError(e, '--schedule', schedule);
  }
  if (trace !== undefined) writeFileSync(trace, JSON.stringify(perfettoTrace(s, r.trace, r.outcome, `${s.name} ${variant}`)));
  if (o.json) {
    const { trace: _omit, ...rest } = r;
    ctx.out(`${JSON.stringify(rest, null, 2)}\n`);
  } else ctx.out(formatReplay(r, s) + (trace !== undefined ? `trace:    ${trace} (open it at ui.perfetto.dev)\n` : ''));
  setCode(r.verdict === 'FORBIDDEN' ? EXIT_FORBIDDEN : 0);
}

export function registerReplay(program: Command, ctx: ExploreCtx, setCode: SetCode): void {
  program
    .command('replay')
    .description('run one schedule again and print its step-by-step trace')
    .option('--scenario <name>', `scenario: ${SCENARIO_NAMES()}`)
    .option('--variant <bug>', 'planted bug (default none)')
    .option('--schedule <choices>', SCHEDULE_ALLOWED)
    .option('--memory-model <m>', 'sc | tso: the memory model the search ran with (default sc)')
    .option('--max-steps <n>', `the step limit the search ran with (default ${DEFAULT_MAX_STEPS})`)
    .option('--trace <file.json>', 'also write a Chrome / Perfetto trace (open it at ui.perfetto.dev)')
    .option('--json', 'print {scenario, variant, schedule, outcome, steps, ...} as JSON')
    .addHelpText('after', `\nExample:\n  ${REPLAY_EXAMPLE}\n`)
    .action((o: Opts) => replayAction(o, ctx, setCode));
}
