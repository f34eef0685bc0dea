// `scenarios`: the explorer's scenarios, their planted-bug variants and outcome tables.
import type { Command } from 'commander';
import { allScenarios } from '../explore/scenarios.js';
import type { Opts, SetCode } from './context.js';
import { formatScenarios } from './explore-format.js';
import type { ExploreCtx } from './explore-options.js';

function scenariosJson(): string {
  const list = allScenarios().map((s) => ({ name: s.name, description: s.description, threads: s.threads, variants: s.variants, outcomes: s.outcomes, budget: s.budget, mustReach: s.mustReach }));
  return `${JSON.stringify(list, null, 2)}\n`;
}

export function registerScenarios(program: Command, ctx: ExploreCtx, setCode: SetCode): void {
  program
    .command('scenarios')
    .description('list the explorer scenarios, their planted-bug variants and outcome tables')
    .option('--json', 'print [{name, variants, outcomes, ...}] as JSON')
    .action((o: Opts) => {
      ctx.out(o.json ? scenariosJson() : formatScenarios());
      setCode(0);
    });
}
