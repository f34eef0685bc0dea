// The explorer's commands: explore, replay, scenarios, merge. Registered on the main program by
// src/cli.ts; bad input is a ConfigError (exit 2), a search that finds a FORBIDDEN outcome exits 3.
import { accessSync, constants, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { ConfigError } from '../lab/config.js';
import { fmtInt, grid } from '../lab/table.js';
import { ScheduleDivergedError } from '../explore/choosers.js';
import {
  DEFAULT_MAX_STEPS,
  STRATEGIES,
  mergeResults,
  sliceBudget,
  type ExploreResult,
  type SearchOptions,
  type Slice,
  type Strategy,
} from '../explore/explore.js';
import { replay, prepareReplay, type ReplayResult } from '../explore/replay.js';
import { verdictOf, type Scenario } from '../core/scenario.js';
import { allScenarios, UnknownScenarioError, scenarioByName } from '../explore/scenarios.js';
import { ScheduleSyntaxError } from '../explore/schedule-string.js';
import { UnknownVariantError, checkVariant } from '../explore/session.js';
import { formatTrace, perfettoTrace } from '../explore/trace.js';

export const EXPLORE_COMMANDS = ['explore', 'replay', 'scenarios', 'merge'] as const;
/** Exit code of a search that found a FORBIDDEN outcome (0: none, 1: the explorer failed, 2: bad usage). */
export const EXIT_FORBIDDEN = 3;

export interface ExploreCtx {
  out: (s: string) => void;
  err: (s: string) => void;
  stderrIsTTY: boolean;
}

type Opts = Record<string, unknown>;
const NAME = 'viommu-lab';
const SCENARIO_NAMES = () => allScenarios().map((s) => s.name).join(', ');

function int(field: string, raw: unknown, min: number, max: number): number {
  const s = String(raw).trim();
  if (!/^\d+$/.test(s) || Number(s) < min || Number(s) > max)
    throw new ConfigError(field, String(raw), `must be a whole number in ${fmtInt(min)}..${fmtInt(max)}`);
  return Number(s);
}

function parseShard(raw: unknown): Slice {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(String(raw));
  const allowed = 'must be i/n with 0 <= i < n <= 4096, e.g. 0/4 (shard 0 of 4)';
  if (!m) throw new ConfigError('--shard', String(raw), allowed);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || count > 4096 || index >= count) throw new ConfigError('--shard', String(raw), allowed);
  return { index, count };
}

function scenarioOf(raw: unknown): Scenario {
  if (typeof raw !== 'string') throw new ConfigError('--scenario', undefined, `one of ${SCENARIO_NAMES()}`);
  try {
    return scenarioByName(raw);
  } catch (e) {
    if (e instanceof UnknownScenarioError) throw new ConfigError('--scenario', raw, `allowed values are ${SCENARIO_NAMES()}`);
    throw e;
  }
}

function variantOf(s: Scenario, raw: unknown): SearchOptions['variant'] {
  const v = typeof raw === 'string' ? raw : 'none';
  try {
    return checkVariant(s, v);
  } catch (e) {
    if (e instanceof UnknownVariantError)
      throw new ConfigError('--variant', v, `allowed values for ${s.name} are ${s.variants.join(', ')}`);
    throw e;
  }
}

export function searchOptions(o: Opts): { options: SearchOptions; shard: Slice; threads: number } {
  const scenario = scenarioOf(o.scenario);
  const strategy = String(o.strategy ?? 'pct');
  if (!(STRATEGIES as readonly string[]).includes(strategy))
    throw new ConfigError('--strategy', strategy, `allowed values are ${STRATEGIES.join(', ')}`);
  return {
    options: {
      scenario: scenario.name,
      variant: variantOf(scenario, o.variant),
      strategy: strategy as Strategy,
      budget: int('--budget', o.budget ?? '1000', 1, 100_000_000),
      seed: int('--seed', o.seed ?? '1', 0, 2 ** 31 - 1),
      depth: int('--depth', o.depth ?? '3', 1, 16),
      preemptions: int('--preemptions', o.preemptions ?? '2', 0, 16),
      maxSteps: int('--max-steps', o.maxSteps ?? String(DEFAULT_MAX_STEPS), 10, 1_000_000),
      stopOnForbidden: o.stopOnForbidden === true,
    },
    shard: o.shard === undefined ? { index: 0, count: 1 } : parseShard(o.shard),
    threads: int('--threads', o.threads ?? '1', 1, 64),
  };
}

/** Fail before the run, not after it, when an output file cannot be written. */
function writableFile(field: string, file: string): void {
  const dir = dirname(resolve(file));
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    accessSync(dir, constants.W_OK);
  } catch {
    throw new ConfigError(field, file, `must be a file in an existing, writable directory (${dir} is not)`);
  }
}

// ---- human output -----------------------------------------------------------------------------


export function formatExplore(r: ExploreResult): string {
  const s = scenarioByName(r.scenario);
  const rows = Object.entries(r.histogram)
    .sort((a, b) => b[1] - a[1])
    .map(([outcome, n]) => [r.verdicts[outcome] ?? verdictOf(s, outcome), fmtInt(n), outcome]);
  const o = r.options;
  const how =
    r.strategy === 'pct'
      ? `pct, depth ${o.depth}, seed ${o.seed}`
      : r.strategy === 'dfs'
        ? `dfs, preemption bound ${o.preemptions}` + (r.dfs ? ` (searched up to ${r.dfs.reachedBound})` : '')
        : `random, seed ${o.seed}`;
  const lines = [
    `scenario:   ${r.scenario}${r.variant === 'none' ? '' : ` (planted bug: ${r.variant})`}`,
    `strategy:   ${how}; budget ${fmtInt(o.budget)} schedules; slices ${r.slices.join(', ')}`,
    `schedules:  ${fmtInt(r.schedules)}${o.stopOnForbidden && r.forbidden > 0 ? ' (stopped at the first FORBIDDEN outcome)' : ''} (${fmtInt(r.steps)} steps) in ${r.seconds.toFixed(2)} s: ` +
      `${fmtInt(r.schedules / Math.max(r.seconds, 1e-9))} schedules/s, ${fmtInt(r.steps / Math.max(r.seconds, 1e-9))} steps/s`,
  ];
  if (r.strategy === 'dfs')
    lines.push(
      `search:     ${
        r.exhausted
          ? 'the bounded space is exhausted: every schedule within the bound was run'
          : o.stopOnForbidden && r.forbidden > 0
            ? 'stopped at the first FORBIDDEN outcome'
            : 'the budget ran out before the bounded space did'
      }` +
        (r.dfs?.repeats ? ` (${fmtInt(r.dfs.repeats)} schedules were run but not counted: re-met from a lower bound, or another slice's)` : ''),
    );
  if (r.pct)
    lines.push(
      `PCT bound:  a bug of depth ${r.pct.depth} is hit with probability >= 1/(n k^(d-1)) = ${r.pct.perSchedule.toExponential(2)} ` +
        `per schedule (n=${r.pct.threads} threads, k=${r.pct.steps} steps); all ${fmtInt(o.budget)} schedules miss it with ` +
        `probability <= ${r.pct.missAll.toPrecision(3)}`,
    );
  lines.push('', grid(['verdict', 'count', 'outcome'], rows, new Set([1])), '');
  if (r.firstForbidden) {
    lines.push(`FORBIDDEN outcomes: ${fmtInt(r.forbidden)}. First: ${r.firstForbidden.outcome}`);
    lines.push(`  schedule: ${r.firstForbidden.schedule}`, `  replay:   ${r.firstForbidden.replay}`);
  } else lines.push('no FORBIDDEN outcome');
  return lines.join('\n') + '\n';
}

function formatReplay(r: ReplayResult, s: Scenario): string {
  return (
    `scenario: ${r.scenario}${r.variant === 'none' ? '' : ` (planted bug: ${r.variant})`}\n` +
    `threads:  ${s.threads.map((t, i) => `${i} = ${t}`).join(', ')}\n\n` +
    formatTrace(s, r.trace) +
    `\noutcome:  ${r.outcome} (${r.verdict})\nsteps:    ${r.steps}` +
    (r.extended ? ' (the schedule given was shorter: the rest ran without preemptions)' : '') +
    `\nschedule: ${r.schedule}\n` +
    (r.errors ? `errors:   ${r.errors.join('; ')}\n` : '')
  );
}

export function formatScenarios(): string {
  return allScenarios().map(
    (s) =>
      `${s.name}\n  ${s.description}\n  threads:  ${s.threads.join(', ')}\n  variants: ${s.variants.join(', ')}\n` +
      Object.entries(s.outcomes)
        .map(([o, v]) => `    ${v.padEnd(11)} ${o}`)
        .join('\n'),
  ).join('\n\n') + '\n';
}

// ---- commands -----------------------------------------------------------------------------------

function usageError(e: unknown, field: string, raw: string): never {
  if (e instanceof ScheduleSyntaxError || e instanceof ScheduleDivergedError) throw new ConfigError(field, raw, e.message);
  throw e;
}

const EXPLORE_HELP = `
Strategies:
  random  a seeded uniform choice of the next thread at every step
  pct     probabilistic concurrency testing: random thread priorities and d-1
          priority change points; prints the probability bound it gives
  dfs     bounded exhaustive search, depth first, one preemption bound after the
          other up to --preemptions; says whether the bounded space was exhausted

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

export function registerExploreCommands(program: Command, ctx: ExploreCtx, setCode: (code: number) => void): void {
  program
    .command('explore')
    .description('search the interleavings of a scenario and print the outcome histogram')
    .option('--scenario <name>', `scenario to explore: ${SCENARIO_NAMES()}`)
    .option('--strategy <name>', `${STRATEGIES.join(' | ')} (default pct)`)
    .option('--budget <n>', 'schedules to run in all, over every shard and thread (default 1000)')
    .option('--variant <bug>', "planted bug to run instead of the real protocol (default none; see 'scenarios')")
    .option('--seed <n>', 'random and pct: the seed of the search (default 1)')
    .option('--depth <d>', 'pct: the bug depth d to aim at, d-1 change points (default 3)')
    .option('--preemptions <b>', 'dfs: the preemption bound (default 2)')
    .option('--max-steps <n>', 'a schedule longer than this is cut off and reported (default 5000)')
    .option('--threads <n>', 'pool threads that share the search (default 1; a search spins at its hand-offs only while 2 per thread fit the cores, so on 2 cores 1 is fastest)')
    .option('--shard <i/n>', 'run only shard i of n of the search (merge the results with "merge")')
    .option('--stop-on-forbidden', 'end the search at the first FORBIDDEN outcome')
    .option('--json', 'print the result as JSON')
    .option('--progress', 'show a progress bar on stderr (default: only when stderr is a terminal)')
    .option('--no-progress', 'never show a progress bar')
    .addHelpText('after', EXPLORE_HELP)
    .action(async (o: Opts) => {
      const { options, shard, threads } = searchOptions(o);
      const { exploreParallel } = await import('../explore/parallel.js');
      const showBar = typeof o.progress === 'boolean' ? o.progress : !o.json && ctx.stderrIsTTY;
      const mine = sliceBudget(options.budget, shard);
      let bar: cliProgress.SingleBar | undefined;
      if (showBar) {
        bar = new cliProgress.SingleBar(
          { stream: process.stderr, format: `${options.scenario} [{bar}] {value}/{total} schedules`, hideCursor: false, linewrap: null, clearOnComplete: true },
          cliProgress.Presets.shades_classic,
        );
        bar.start(mine, 0);
      }
      let r: ExploreResult;
      try {
        r = await exploreParallel(options, shard, { threads, onProgress: bar ? (n) => bar.update(n) : undefined });
      } finally {
        bar?.stop();
      }
      ctx.out(o.json ? `${JSON.stringify(r, null, 2)}\n` : formatExplore(r));
      setCode(r.forbidden > 0 ? EXIT_FORBIDDEN : 0);
    });

  program
    .command('replay')
    .description('run one schedule again and print its step-by-step trace')
    .option('--scenario <name>', `scenario: ${SCENARIO_NAMES()}`)
    .option('--variant <bug>', 'planted bug (default none)')
    .option('--schedule <choices>', 'the choice string explore printed, e.g. 0*3.2.1*4')
    .option('--max-steps <n>', `the step limit the search ran with (default ${DEFAULT_MAX_STEPS})`)
    .option('--trace <file.json>', 'also write a Chrome / Perfetto trace (open it at ui.perfetto.dev)')
    .option('--json', 'print {scenario, variant, schedule, outcome, steps, ...} as JSON')
    .addHelpText('after', `\nExample:\n  ${NAME} replay --scenario coiommu-map-vs-unpin --variant unpin-load-store --schedule 1*4.2*7.0*20.1*4.2*6 --trace t.json\n`)
    .action(async (o: Opts) => {
      const s = scenarioOf(o.scenario);
      const variant = variantOf(s, o.variant);
      if (typeof o.schedule !== 'string') throw new ConfigError('--schedule', undefined, 'the choice string explore printed, e.g. 0*3.2.1*4');
      const raw = o.schedule;
      const maxSteps = int('--max-steps', o.maxSteps ?? String(DEFAULT_MAX_STEPS), 10, 1_000_000);
      if (typeof o.trace === 'string') writableFile('--trace', o.trace);
      try {
        prepareReplay(s.name, variant, raw, maxSteps);
      } catch (e) {
        usageError(e, '--schedule', raw);
      }
      let r: ReplayResult;
      try {
        r = await replay(s.name, variant, raw, maxSteps);
      } catch (e) {
        usageError(e, '--schedule', raw);
      }
      if (typeof o.trace === 'string') writeFileSync(o.trace, JSON.stringify(perfettoTrace(s, r.trace, r.outcome, `${s.name} ${variant}`)));
      if (o.json) {
        const { trace: _omit, ...rest } = r;
        ctx.out(`${JSON.stringify(rest, null, 2)}\n`);
      } else ctx.out(formatReplay(r, s) + (typeof o.trace === 'string' ? `trace:    ${o.trace} (open it at ui.perfetto.dev)\n` : ''));
      setCode(r.verdict === 'FORBIDDEN' ? EXIT_FORBIDDEN : 0);
    });

  program
    .command('scenarios')
    .description('list the explorer scenarios, their planted-bug variants and outcome tables')
    .option('--json', 'print [{name, variants, outcomes, ...}] as JSON')
    .action((o: Opts) => {
      ctx.out(
        o.json
          ? `${JSON.stringify(
              allScenarios().map((s) => ({ name: s.name, description: s.description, threads: s.threads, variants: s.variants, outcomes: s.outcomes })),
              null,
              2,
            )}\n`
          : formatScenarios(),
      );
      setCode(0);
    });

  program
    .command('merge')
    .description('combine the --json results of the shards of one search')
    .argument('<files...>', 'result files written by explore --json')
    .option('--json', 'print the merged result as JSON')
    .action((files: string[], o: Opts) => {
      const parts = files.map((f) => {
        let data: unknown;
        try {
          data = JSON.parse(readFileSync(f, 'utf8'));
        } catch (e) {
          throw new ConfigError('file', f, `must be a readable JSON file written by explore --json (${e instanceof Error ? e.message : e})`);
        }
        const r = data as ExploreResult;
        if (typeof r !== 'object' || r === null || typeof r.histogram !== 'object' || !Array.isArray(r.slices) || !r.options)
          throw new ConfigError('file', f, 'is not an explore --json result');
        return r;
      });
      let merged: ExploreResult;
      try {
        merged = mergeResults(parts);
      } catch (e) {
        throw new ConfigError('files', files.join(' '), e instanceof Error ? e.message : String(e));
      }
      ctx.out(o.json ? `${JSON.stringify(merged, null, 2)}\n` : formatExplore(merged));
      setCode(merged.forbidden > 0 ? EXIT_FORBIDDEN : 0);
    });
}

