// `experiment NAME`: a named recipe that reproduces one of the papers' figures as a sweep; prints
// its table and writes results.json, results.csv and report.html into --out.
import type { Command } from 'commander';
import { ConfigError } from '../core/errors.js';
import { PENDING, allExperiments, experimentByName } from '../lab/experiments/index.js';
import { planPoints } from '../lab/sweep/plan.js';
import type { Ctx, Opts, SetCode } from './context.js';
import { addSweepOptions, sweepCommand, sweepFlags } from './sweep-run.js';

function listText(): string {
  const ready = allExperiments().map((e) => `  ${e.name.padEnd(18)}${e.help}`);
  const waiting = Object.entries(PENDING).map(([n, why]) => `  ${n.padEnd(18)}(not yet: needs ${why})`);
  return `\nExperiments:\n${[...ready, ...waiting].join('\n')}\n\nExample: viommu-lab experiment line-rate --quick --out runs/line-rate\n`;
}

export function registerExperiment(program: Command, ctx: Ctx, setCode: SetCode): void {
  const cmd = program.command('experiment').description("run a named recipe that reproduces one of the papers' figures; writes results.json, results.csv and report.html").argument('<name>', 'the experiment (see below)');
  addSweepOptions(cmd)
    .option('--quick', 'a tiny setting that finishes in under a minute on 2 cores (what the tests run)')
    .option('--trace <file>', 'locality: the reuse distances of this Linux DMA trace (replayed) instead of the default set')
    .option('--json', 'print results.json on stdout instead of the table')
    .option('--no-progress', 'no line per finished point on stderr')
    .addHelpText('after', listText())
    .action(async (name: string, o: Opts) => {
      const e = experimentByName(name);
      const flags = sweepFlags(o);
      if (o.quick !== undefined && typeof o.quick !== 'boolean') throw new ConfigError('--quick', String(o.quick), 'takes no value');
      const trace = o.trace === undefined ? undefined : String(o.trace);
      if (trace !== undefined && !e.options?.includes('trace')) throw new ConfigError('--trace', trace, `only ${allExperiments().filter((x) => x.options?.includes('trace')).map((x) => x.name).join(', ')} take a trace`);
      const plan = e.plan(o.quick === true, { trace });
      const points = planPoints(plan);
      const command = `viommu-lab experiment ${name}${o.quick ? ' --quick' : ''}${trace !== undefined ? ` --trace ${trace}` : ''}`;
      await sweepCommand({ title: `experiment ${name}${o.quick ? ' (quick)' : ''}`, command, experiment: name, points, vary: plan.vary, pairs: plan.pairs, trials: plan.trials, view: e.view }, flags, o, ctx, setCode);
    });
}
