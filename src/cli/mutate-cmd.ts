// `mutate`: the mutation score of a scenario's search: one concurrency mutation at one operation
// site per mutant, the bounded DPOR (or DFS) on each; killed / (mutants - declared equivalent).
import type { Command } from 'commander';
import { ConfigError } from '../core/errors.js';
import { fmtInt, grid } from '../lab/table.js';
import type { MutateOptions, MutateResult } from '../explore/mutate.js';
import { MUTATION_OPS, type MutationOp } from '../explore/sched-layout.js';
import { NAME, type Opts, type SetCode } from './context.js';
import { SCENARIO_NAMES, int, maxStepsOf, scenarioOf, type ExploreCtx } from './explore-options.js';

function formatMutate(r: MutateResult): string {
  const rows = r.all.map((m) => [m.status, m.thread, m.operator, m.where, m.status === 'equivalent' ? m.reason ?? '' : m.outcome ? `${m.outcome} (${m.by})` : '', fmtInt(m.schedules)]);
  return (
    `scenario: ${r.scenario}\n\n` +
    grid(['status', 'thread', 'operator', 'word', 'outcome / reason', 'schedules'], rows, new Set([5])) +
    `\n\nmutants ${r.mutants}, killed ${r.killed}, equivalent ${r.equivalent}, survived ${r.survivors.length}: ` +
    (r.score === null ? 'score — (no mutant left to score: every one is equivalent)\n' : `score ${r.killed}/${r.mutants - r.equivalent} = ${(100 * r.score).toFixed(1)}%\n`)
  );
}

/** --only THREAD:OPERATOR:WORD, any field may be empty (e.g. ':delay-store:' for every missing fence). */
function onlyOf(v: unknown): MutateOptions['only'] {
  if (v === undefined) return undefined;
  const parts = String(v).split(':');
  if (parts.length !== 3) throw new ConfigError('--only', String(v), 'THREAD:OPERATOR:WORD, fields may be empty (e.g. pin-handler:delay-store:slot0.REQ)');
  const [thread, operator, where] = parts;
  if (operator && !(MUTATION_OPS as readonly string[]).includes(operator)) throw new ConfigError('--only', String(v), `an operator of ${MUTATION_OPS.join(', ')}`);
  return { thread: thread || undefined, operator: (operator || undefined) as MutationOp | undefined, where: where || undefined };
}

async function mutateAction(o: Opts, ctx: ExploreCtx): Promise<void> {
  const scenario = scenarioOf(o.scenario);
  const preemptions = int('--preemptions', o.preemptions ?? '1', 0, 4);
  const budget = int('--budget', o.budget ?? '400', 1, 1_000_000);
  const maxSteps = maxStepsOf(o);
  const focus = int('--focus', o.focus ?? '300', 0, 1_000_000);
  const focusWindow = int('--focus-window', o.focusWindow ?? '12', 1, 1000);
  const extra = int('--extra', o.extra ?? '100', 0, 1_000_000);
  const strategy = o.strategy ?? 'dpor';
  if (strategy !== 'dpor' && strategy !== 'dfs') throw new ConfigError('--strategy', String(strategy), 'dpor or dfs');
  const only = onlyOf(o.only);
  const { mutate } = await import('../explore/mutate.js');
  const r = await mutate(scenario, {
    strategy,
    preemptions,
    budget,
    maxSteps,
    focus,
    focusWindow,
    extra,
    only,
    onMutant: o.json ? undefined : (m, done, total) => ctx.err(`[${done}/${total}] ${m.status} ${m.thread} ${m.operator} ${m.where}\n`),
  });
  if (o.json) {
    const { scenario: name, mutants, killed, equivalent, score, survivors } = r;
    ctx.out(`${JSON.stringify({ scenario: name, mutants, killed, equivalent, score, survivors }, null, 2)}\n`);
  } else ctx.out(formatMutate(r));
}

export function registerMutate(program: Command, ctx: ExploreCtx, _setCode: SetCode): void {
  program
    .command('mutate')
    .description("mutation score of a scenario's search: plant one concurrency mutation per run, count the ones it finds")
    .option('--scenario <name>', `scenario: ${SCENARIO_NAMES()}`)
    .option('--strategy <name>', 'the bounded search on each SC mutant: dpor (default) or dfs; delay-store mutants (x86-TSO) always get the DFS')
    .option('--preemptions <b>', 'the preemption bound of that search (default 1)')
    .option('--budget <n>', 'schedules per mutant at most (default 400)')
    .option('--focus <n>', "schedules of the focused search on a mutant the bounded search left alive: thread switches within a few steps of any operation on the mutant's word, and back once the mutation fired (default 300; 0: none)")
    .option('--focus-window <n>', 'the focused search preempts at each of the n steps after an operation on the word (default 12)')
    .option('--extra <n>', 'PCT schedules (depth 3) on a mutant still alive after that (default 100; 0: none)')
    .option('--max-steps <n>', 'a schedule longer than this is cut off: a livelock kills the mutant and ends its search (default 5000)')
    .option('--only <thread:operator:word>', 'only the mutants that match (fields may be empty), e.g. pin-handler:delay-store:slot0.REQ to re-run one survivor')
    .option('--json', 'print {scenario, mutants, killed, equivalent, score, survivors[]}')
    .addHelpText(
      'after',
      `\nOperators: drop-notify, split-rmw (load then store), delay-store (seen only after the thread's next\nload: a missing fence; run under x86-TSO as the fence after the store left out), skip-store.\nA site is one thread's operations on one shared word. The real protocol must pass the same\nsearch under SC and TSO first. A survivor is equivalent (with its evidence) when it changed\nnothing: a split RMW on a word no other thread wrote, a store no fence follows, a silent store.\n\nExample:\n  ${NAME} mutate --scenario litmus-mp --json\n`,
    )
    .action((o: Opts) => mutateAction(o, ctx));
}
