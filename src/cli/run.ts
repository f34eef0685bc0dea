// `run`: one scenario (--trials times), its report as grouped lines or (--json) one object. A
// failed run still prints a JSON object, with `error`, when --json asked for one.
import type { Command } from 'commander';
import { defaultScenario, resolveScenario } from '../lab/config.js';
import { formatRunReport } from '../lab/table.js';
import { finishRecording, recordFileOf } from '../workloads/trace/recorder.js';
import type { Ctx, Opts, SetCode } from './context.js';
import { RUN_EXAMPLES, guide } from './help.js';
import { runAll } from './runner.js';
import { addScenarioOptions, parseTrials, scenarioInput } from './scenario-flags.js';

export function registerRun(program: Command, ctx: Ctx, setCode: SetCode): void {
  const run = program.command('run').description('run one scenario and print its report');
  addScenarioOptions(run, 'run', '')
    .addHelpText('after', guide() + RUN_EXAMPLES)
    .action(async (o: Opts) => {
      const trials = parseTrials(o);
      const input = scenarioInput(o);
      const cfg = resolveScenario(input.partial, defaultScenario(), input.label);
      const { reports, failed } = await runAll([cfg], o, ctx, trials);
      if (failed) {
        const finished = trials > 1 ? { trialReports: failed.trialReports } : {};
        if (o.json) ctx.out(`${JSON.stringify({ error: failed.message, policy: cfg.policy, notify: cfg.notify, config: cfg, ...finished }, null, 2)}\n`);
        throw new Error(failed.message);
      }
      const record = recordFileOf(cfg);
      if (record) finishRecording(record, cfg.vcpus); // the vCPUs' parts, merged in time order
      ctx.out(o.json ? `${JSON.stringify(reports[0], null, 2)}\n` : formatRunReport(reports[0]));
      setCode(0);
    });
}
