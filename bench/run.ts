// `npm run bench`: the performance budget of DESIGN 5, each figure a ratio against a baseline
// measured in this same run.
//   npm run bench                      table on stdout, progress on stderr
//   npm run bench -- --json            JSON array of {name, value, baseline, ratio, target, unit, pass, ...}
//                                      (npm run -s keeps npm's banner off stdout; pass null = reported, no target)
//   npm run bench -- --only a,b        run only the named benchmarks (see --list)
//   npm run bench -- --list
//   npm run bench -- --trials N [--seed S]  run each benchmark N times, interleaved in a shuffled order
//                                      seeded by S (default 1; never one benchmark twice in a row);
//                                      value, baseline and ratio are then medians, with a 95% bootstrap
//                                      interval (`ci95`, `trials`, `trialResults` in --json)
// Every worker a benchmark starts is terminated before the process ends; the process exits by
// itself (exit code 1 when a benchmark failed to run, 0 otherwise: a missed target is a result).
import { availableParallelism } from 'node:os';
import { machineLoad, overloaded, trialOrder } from '../src/lab/trials.js';
import type { Benchmark, BenchContext } from './lib/context.js';
import { newContext } from './lib/context.js';
import { aggregateBench, formatTable, type BenchResult } from './lib/report.js';
import { liveWorkers, terminateAll } from './lib/workers.js';
import { dttMapUnmap } from './suites/dtt.js';
import { explorePool, exploreStep } from './suites/explore.js';
import { exploreDpor } from './suites/dpor.js';
import { lineRates } from './suites/line-rate.js';
import { netDma } from './suites/net.js';
import { sidecoreRtt, sidecoreVsComlink, trapRtt } from './suites/pin-requests.js';
import { ringBatch16 } from './suites/ring.js';
import { invqVcpus, netPolicies, viommuMapSidecore, viommuMapTrap, viommuTrapVsSidecore } from './suites/viommu.js';

const BENCHMARKS: Benchmark[] = [
  sidecoreRtt,
  trapRtt,
  sidecoreVsComlink,
  dttMapUnmap,
  ringBatch16,
  netDma,
  exploreStep,
  explorePool,
  exploreDpor,
  viommuMapTrap,
  viommuMapSidecore,
  viommuTrapVsSidecore,
  ...netPolicies,
  invqVcpus,
  ...lineRates,
];

interface Args {
  json: boolean;
  only?: string[];
  list: boolean;
  trials: number;
  seed: number;
}

function usage(): string {
  return [
    'usage: npm run bench -- [--json] [--only NAME[,NAME...]] [--trials N [--seed S]] [--list]',
    '',
    '--trials N runs each benchmark N times (1..100), interleaved in a shuffled order seeded by --seed',
    '(default 1) so that no benchmark runs twice in a row; value, baseline and ratio are then medians',
    'with 95% bootstrap intervals.',
    '',
    'benchmarks:',
    ...BENCHMARKS.map((b) => `  ${b.name.padEnd(24)} ${b.title}`),
  ].join('\n');
}

/** The value of `--name V` or `--name=V` at argv[i] as a whole number in [min, max], and the index of its last word. */
function intArg(argv: string[], i: number, name: string, min: number, max: number): [number, number] {
  const inline = argv[i].startsWith(`${name}=`);
  const v = inline ? argv[i].slice(name.length + 1) : argv[i + 1];
  const n = Number(v);
  if (v === undefined || !/^\d+$/.test(v) || n < min || n > max) throw new Error(`${name} needs a whole number between ${min} and ${max}, not "${v ?? ''}"`);
  return [n, inline ? i : i + 1];
}

function parseArgs(argv: string[]): Args {
  const args: Args = { json: false, list: false, trials: 1, seed: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') args.json = true;
    else if (a === '--trials' || a.startsWith('--trials=')) [args.trials, i] = intArg(argv, i, '--trials', 1, 100);
    else if (a === '--seed' || a.startsWith('--seed=')) [args.seed, i] = intArg(argv, i, '--seed', 0, 2 ** 32 - 1);
    else if (a === '--list') args.list = true;
    else if (a === '--only' || a.startsWith('--only=')) {
      const v = a === '--only' ? argv[++i] : a.slice('--only='.length);
      if (!v) throw new Error('--only needs a benchmark name');
      args.only = [...(args.only ?? []), ...v.split(',').filter(Boolean)];
    } else if (a === '--help' || a === '-h') {
      console.log(usage());
      process.exit(0);
    } else throw new Error(`unknown argument "${a}"\n${usage()}`);
  }
  return args;
}

function select(only: string[] | undefined): Benchmark[] {
  if (!only) return BENCHMARKS;
  return only.map((name) => {
    const exact = BENCHMARKS.find((b) => b.name === name);
    const matches = exact ? [exact] : BENCHMARKS.filter((b) => b.name.startsWith(name));
    if (matches.length !== 1)
      throw new Error(
        `--only ${name}: ${matches.length === 0 ? 'no such benchmark' : `ambiguous (${matches.map((b) => b.name).join(', ')})`}; ` +
          `known: ${BENCHMARKS.map((b) => b.name).join(', ')}`,
      );
    return matches[0];
  });
}

/**
 * Every chosen benchmark `trials` times in trialOrder's seeded order. Trial k of every benchmark
 * shares one context, so measurements that several benchmarks share (ctx.once) are taken once per
 * trial. A benchmark that fails in one trial keeps its other trials.
 */
async function runTrials(chosen: Benchmark[], args: Args, cores: number, log: (m: string) => void) {
  const contexts: BenchContext[] = Array.from({ length: args.trials }, () => newContext(cores, log));
  const done: BenchResult[][] = chosen.map(() => []);
  const errors: string[] = [];
  try {
    for (const slot of trialOrder(chosen.length, args.trials, args.seed)) {
      const b = chosen[slot.config];
      const name = args.trials > 1 ? `${b.name} (trial ${slot.trial + 1}/${args.trials})` : b.name;
      if (args.trials > 1) log(`${name}`);
      try {
        done[slot.config].push(await b.run(contexts[slot.trial]));
      } catch (e) {
        errors.push(`${name}: ${e instanceof Error ? e.message : String(e)}`);
        log(`${name} FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        await terminateAll(); // nothing of a failed benchmark keeps running into the next one
      }
    }
  } finally {
    await terminateAll();
  }
  const results = done.filter((d) => d.length > 0).map((d) => (args.trials > 1 ? aggregateBench(d, args.seed) : d[0]));
  return { results, errors };
}

function printTable(results: BenchResult[], errors: string[], head: string[]): void {
  for (const line of head) console.log(line);
  console.log('');
  console.log(formatTable(results));
  const withTarget = results.filter((r) => r.pass !== null);
  const passed = withTarget.filter((r) => r.pass).length;
  console.log('');
  console.log(`${passed}/${withTarget.length} targets met, ${results.length - withTarget.length} figures reported without a target${errors.length ? `, ${errors.length} benchmark run(s) failed` : ''}`);
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (args.list) {
    console.log(usage());
    return 0;
  }
  const chosen = select(args.only);
  const cores = availableParallelism();
  const load = machineLoad();
  const t0 = performance.now();
  const log = (m: string) => process.stderr.write(`[bench ${((performance.now() - t0) / 1000).toFixed(1)}s] ${m}\n`);
  log(`availableParallelism() = ${cores}; at most 2 spinning threads per benchmark; load average ${load.loadAverage1m}`);
  const loadWarning = overloaded(load)
    ? `WARNING: the 1-minute load average (${load.loadAverage1m}) was above the ${load.cores} cores at the start: other work was competing for the cores, so the figures are noisy`
    : undefined;
  if (loadWarning) process.stderr.write(`${loadWarning}\n`);

  const { results, errors } = await runTrials(chosen, args, cores, log);
  const seconds = (performance.now() - t0) / 1000;
  if (args.json) console.log(JSON.stringify(results, null, 2));
  else {
    const head = [
      `viommu-lab benchmarks: availableParallelism() = ${cores}, node ${process.version}, ${seconds.toFixed(1)} s, load average ${load.loadAverage1m} at the start`,
      'every ratio is against a baseline measured in this run; "spinning" = most threads spinning at once',
    ];
    if (args.trials > 1)
      head.push(`trials: ${args.trials} per benchmark, interleaved in a shuffled order (seed ${args.seed}); value, baseline, ratio = medians, ± half the ratio's 95% bootstrap interval`);
    if (loadWarning) head.push(loadWarning);
    printTable(results, errors, head);
  }
  for (const e of errors) process.stderr.write(`error: ${e}\n`);
  if (liveWorkers() > 0) process.stderr.write(`error: ${liveWorkers()} workers still running\n`);
  return errors.length > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 2;
  },
);
