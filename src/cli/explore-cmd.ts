// `explore`: search the interleavings of one scenario; exits 3 when it finds a FORBIDDEN outcome.
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { STRATEGIES, sliceBudget, type ExploreResult, type SearchOptions, type Slice } from '../explore/explore.js';
import { scenarioByName } from '../explore/scenarios.js';
import { ConfigError } from '../core/errors.js';
import { formatCoverage } from './coverage-cmd.js';
import { NAME, type Opts, type SetCode } from './context.js';
import { formatExplore } from './explore-format.js';
import { EXIT_FORBIDDEN, SCENARIO_NAMES, checkDpor, searchOptions, type ExploreCtx } from './explore-options.js';
import { EXIT_INTERRUPTED, withCheckpoint } from './explore-checkpoint.js';

const EXPLORE_HELP = `
Strategies:
  mixed   (the default) random, PCT at depths 2-4 and DFS dealt round robin from
          one budget; each scenario states its budget ('scenarios' lists them)
  random  a seeded uniform choice of the next thread at every step
  pct     probabilistic concurrency testing: random thread priorities and d-1
          priority change points; prints the probability bound it gives
  dfs     bounded exhaustive search, depth first, one preemption bound after the
          other up to --preemptions; says whether the bounded space was exhausted
  dpor    the same bounded space with dynamic partial-order reduction (source sets
          and sleep sets): one schedule per Mazurkiewicz trace, not every one

The first FORBIDDEN schedule is shrunk before it is printed (fewest preemptions,
then fewest steps, same outcome). Under --memory-model tso a schedule element fT
is a flush step: the oldest store in thread T's store buffer becomes visible.

Every schedule is a choice string (e.g. 0*3.2.1*4: thread 0 three steps, thread 2
one, thread 1 four) that replays exactly. Exit code: 0 no FORBIDDEN outcome,
3 FORBIDDEN outcomes found, 2 bad usage, 1 the explorer itself failed.

Examples:
  ${NAME} scenarios
  ${NAME} explore --scenario coiommu-map-vs-unpin --strategy pct --budget 2000
  ${NAME} explore --scenario coiommu-map-vs-unpin --variant unpin-load-store --strategy dfs --budget 500
  ${NAME} explore --scenario coiommu-two-vcpus-same-page --threads 2 --json
  ${NAME} explore ... --shard 0/4 --json > s0.json   (and 1/4, 2/4, 3/4 elsewhere)
  ${NAME} merge s0.json s1.json s2.json s3.json
`;

/** A progress bar on stderr, started, or undefined when none is wanted (by default: JSON or no terminal). */
function progressBar(o: Opts, ctx: ExploreCtx, scenario: string, total: number): cliProgress.SingleBar | undefined {
  const show = typeof o.progress === 'boolean' ? o.progress : !o.json && ctx.stderrIsTTY;
  if (!show) return undefined;
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: `${scenario} [{bar}] {value}/{total} schedules`, hideCursor: false, linewrap: null, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return bar;
}

/** Ctrl-C / SIGTERM end the search early: it prints (and saves) what it has. Returns the remover. */
function onSignals(stop: () => void): () => void {
  const handler = () => stop();
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

async function exploreAction(o: Opts, ctx: ExploreCtx, setCode: SetCode): Promise<void> {
  const { options, shard, threads, checkpoint } = withCheckpoint(o, searchOptions);
  checkDpor(o, options);
  // loaded here: the pool is only needed by a search, not by --help or bad usage
  if (o.coverage) return exploreCoverage(o, options, threads, shard, ctx, setCode);
  const { exploreParallel } = await import('../explore/parallel.js');
  const bar = progressBar(o, ctx, options.scenario, sliceBudget(options.budget, shard));
  let r: ExploreResult;
  try {
    let off = () => {};
    try {
      r = await exploreParallel(options, shard, {
        threads,
        onProgress: bar ? (n) => bar.update(n) : undefined,
        checkpoint,
        onInterruptible: (stop) => (off = onSignals(stop)),
      });
    } finally {
      off();
    }
  } finally {
    bar?.stop();
  }
  ctx.out(o.json ? `${JSON.stringify(r, null, 2)}\n` : formatExplore(r));
  setCode(r.forbidden > 0 ? EXIT_FORBIDDEN : r.interrupted ? EXIT_INTERRUPTED : 0);
}

/** --coverage: one search in this process, recording the protocol site of every operation. */
async function exploreCoverage(o: Opts, options: SearchOptions, threads: number, shard: Slice, ctx: ExploreCtx, setCode: SetCode): Promise<void> {
  if (threads !== 1 || shard.count !== 1) throw new ConfigError('--coverage', 'on', 'runs in one process: leave out --threads and --shard');
  const { exploreWithSites } = await import('../explore/coverage-run.js');
  const { coverageOf } = await import('../explore/coverage.js');
  const { COVERAGE_EXCEPTIONS } = await import('../explore/coverage-exceptions.js');
  const { result, sites } = await exploreWithSites(scenarioByName(options.scenario), options);
  const c = coverageOf(sites, COVERAGE_EXCEPTIONS);
  ctx.out(o.json ? `${JSON.stringify({ ...result, coverage: c }, null, 2)}\n` : formatExplore(result) + '\n' + formatCoverage(c));
  setCode(result.forbidden > 0 ? EXIT_FORBIDDEN : 0);
}

export function registerExplore(program: Command, ctx: ExploreCtx, setCode: SetCode): void {
  program
    .command('explore')
    .description('search the interleavings of a scenario and print the outcome histogram')
    .option('--scenario <name>', `scenario to explore: ${SCENARIO_NAMES()}`)
    .option('--strategy <name>', `${STRATEGIES.join(' | ')} (default mixed: random, PCT at depths 2-4 and DFS in one budget)`)
    .option('--budget <n>', "schedules to run in all, over every shard and thread (default: the scenario's stated budget, else 1000)")
    .option('--variant <bug>', "planted bug to run instead of the real protocol (default none; see 'scenarios')")
    .option('--seed <n>', 'random and pct: the seed of the search (default 1)')
    .option('--depth <d>', 'pct: the bug depth d to aim at, d-1 change points (default 3)')
    .option('--preemptions <b>', 'dfs, dpor: the preemption bound (default 2)')
    .option('--memory-model <m>', 'sc (sequentially consistent) | tso (x86-TSO: per-thread store buffers, flushed as steps of their own) (default sc)')
    .option('--max-steps <n>', 'a schedule longer than this is cut off and reported (default 5000)')
    .option('--threads <n>', 'pool threads that share the search (default 1; a search spins at its hand-offs only while 2 per thread fit the cores, so on 2 cores 1 is fastest)')
    .option('--shard <i/n>', 'run only shard i of n of the search (merge the results with "merge")')
    .option('--checkpoint <file>', 'save the search state to this file every 2 s and at the end (one thread, one shard)')
    .option('--resume <file>', 'continue the search a checkpoint file holds (its options; --budget may raise the budget)')
    .option('--stop-on-forbidden', 'end the search at the first FORBIDDEN outcome')
    .option('--json', 'print the result as JSON')
    .option('--coverage', 'also record and print which protocol sites (file:line of shared-memory operations) the search reached')
    .option('--progress', 'show a progress bar on stderr (default: only when stderr is a terminal)')
    .option('--no-progress', 'never show a progress bar')
    .addHelpText('after', EXPLORE_HELP)
    .action((o: Opts) => exploreAction(o, ctx, setCode));
}
