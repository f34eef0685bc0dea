// `npm run bench`: the performance budget of DESIGN 5, each figure a ratio against a baseline
// measured in this same run.
//   npm run bench                      table on stdout, progress on stderr
//   npm run bench -- --json            JSON array of {name, value, baseline, ratio, target, unit, pass, ...}
//                                      (npm run -s keeps npm's banner off stdout; pass null = reported, no target)
//   npm run bench -- --only a,b        run only the named benchmarks (see --list)
//   npm run bench -- --list
// Every worker a benchmark starts is terminated before the process ends; the process exits by
// itself (exit code 1 when a benchmark failed to run, 0 otherwise: a missed target is a result).
import { availableParallelism } from 'node:os';
import type { Benchmark } from './lib/context.js';
import { newContext } from './lib/context.js';
import { formatTable, type BenchResult } from './lib/report.js';
import { liveWorkers, terminateAll } from './lib/workers.js';
import { dttMapUnmap } from './suites/dtt.js';
import { explorePool, exploreStep } from './suites/explore.js';
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
  viommuMapTrap,
  viommuMapSidecore,
  viommuTrapVsSidecore,
  ...netPolicies,
  invqVcpus,
];

interface Args {
  json: boolean;
  only?: string[];
  list: boolean;
}

function usage(): string {
  return [
    'usage: npm run bench -- [--json] [--only NAME[,NAME...]] [--list]',
    '',
    'benchmarks:',
    ...BENCHMARKS.map((b) => `  ${b.name.padEnd(24)} ${b.title}`),
  ].join('\n');
}

function parseArgs(argv: string[]): Args {
  const args: Args = { json: false, list: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') args.json = true;
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

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (args.list) {
    console.log(usage());
    return 0;
  }
  const chosen = select(args.only);
  const cores = availableParallelism();
  const t0 = performance.now();
  const log = (m: string) => process.stderr.write(`[bench ${((performance.now() - t0) / 1000).toFixed(1)}s] ${m}\n`);
  const ctx = newContext(cores, log);
  log(`availableParallelism() = ${cores}; at most 2 spinning threads per benchmark`);

  const results: BenchResult[] = [];
  const errors: string[] = [];
  try {
    for (const b of chosen) {
      try {
        results.push(await b.run(ctx));
      } catch (e) {
        errors.push(`${b.name}: ${e instanceof Error ? e.message : String(e)}`);
        log(`${b.name} FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        await terminateAll(); // nothing of a failed benchmark keeps running into the next one
      }
    }
  } finally {
    await terminateAll();
  }
  const seconds = (performance.now() - t0) / 1000;

  if (args.json) {
    console.log(JSON.stringify(results, null, 2));
  } else {
    console.log(`viommu-lab benchmarks: availableParallelism() = ${cores}, node ${process.version}, ${seconds.toFixed(1)} s`);
    console.log('every ratio is against a baseline measured in this run; "spinning" = most threads spinning at once');
    console.log('');
    console.log(formatTable(results));
    const withTarget = results.filter((r) => r.pass !== null);
    const passed = withTarget.filter((r) => r.pass).length;
    console.log('');
    console.log(`${passed}/${withTarget.length} targets met, ${results.length - withTarget.length} figures reported without a target${errors.length ? `, ${errors.length} benchmark(s) failed to run` : ''}`);
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
