// What sweep and experiment share on the command line: --out, --threads, --shard, --resume,
// --parallel-wall; Ctrl-C and SIGTERM stop the sweep with every finished point kept on disk; the
// table is printed and the files written also after an interruption or a failed point.
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../core/errors.js';
import { runSweep, type SweepRequest } from '../lab/sweep/sweep.js';
import { formatView } from '../lab/sweep/view.js';
import { NAME, type Ctx, type Opts, type SetCode } from './context.js';
import { parseShard } from './explore-options.js';

/** Exit code of a sweep stopped by a signal (as a shell reports SIGINT). */
export const EXIT_INTERRUPTED = 130;

export function addSweepOptions(cmd: Command): Command {
  return cmd
    .option('--out <dir>', 'folder for sweep.json, points/, results.json, results.csv and report.html (required)')
    .option('--threads <n>', `virtual-clock points run this many at a time on a piscina pool (default ${availableParallelism()}, the cores)`)
    .option('--parallel-wall', 'run wall-clock points side by side too (their measured figures then share the cores; the report says so)')
    .option('--shard <i/n>', 'run only every n-th point starting at i (a batch array job runs one shard each; merge combines them)')
    .option('--resume', 'continue the sweep already in --out: run only the points without a report');
}

export interface SweepFlags {
  out: string;
  threads: number;
  wallParallel: boolean;
  shard: { index: number; count: number };
  resume: boolean;
}

export function sweepFlags(o: Opts): SweepFlags {
  if (typeof o.out !== 'string' || o.out.trim() === '') throw new ConfigError('--out', undefined, 'a folder to write the sweep into, e.g. --out sweeps/reuse');
  const raw = String(o.threads ?? availableParallelism());
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < 1 || Number(raw) > 64) throw new ConfigError('--threads', raw, 'must be an integer between 1 and 64');
  return { out: resolve(o.out), threads: Number(raw), wallParallel: o.parallelWall === true, shard: o.shard === undefined ? { index: 0, count: 1 } : parseShard(o.shard), resume: o.resume === true };
}

type Request = Omit<SweepRequest, 'signal' | 'onPoint' | 'runPoint' | keyof SweepFlags>;

/** Runs the sweep with signal handling and progress on stderr; prints the table (or JSON). */
export async function sweepCommand(req: Request, flags: SweepFlags, o: Opts, ctx: Ctx, setCode: SetCode): Promise<void> {
  const stop = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    ctx.err(`${NAME}: ${sig}: stopping; finished points stay in ${flags.out} (--resume continues)\n`);
    stop.abort();
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  const runPoint = ctx.runScenario && ((cfg: Parameters<NonNullable<Ctx['runScenario']>>[0]) => ctx.runScenario!(cfg));
  try {
    const out = await runSweep({
      ...req, ...flags, signal: stop.signal, runPoint,
      onPoint: (p, done, total) => {
        if (o.progress !== false) ctx.err(`${NAME}: point ${p.index} ${p.pair} ${Object.entries(p.vary).map(([k, v]) => `${k}=${v} `).join('')}trial ${p.trial + 1}: ${p.error ? `FAILED: ${p.error}` : 'done'} (${done}/${total})\n`);
      },
    });
    const r = out.results;
    ctx.out(o.json ? `${JSON.stringify(r, null, 1)}\n` : formatView(out.view));
    if (!o.json) ctx.out(`\nwrote ${flags.out}/results.json, results.csv, report.html (${out.ran} point(s) run now${out.resumed ? `, ${out.resumed} from before` : ''})\n`);
    if (r.failed) {
      const busy = /starting the role workers/.test(r.failed.error ?? '') && flags.threads > 1 ? ' (a busy machine starts workers slowly: fewer --threads may help)' : '';
      throw new Error(`point ${r.failed.index} (${r.failed.pair}) failed: ${r.failed.error}${busy}; the other finished points are in ${flags.out} (--resume runs the rest)`);
    }
    if (out.interrupted) {
      ctx.err(`${NAME}: interrupted: ${r.missing.length} point(s) left; run the same command with --resume\n`);
      setCode(EXIT_INTERRUPTED);
      return;
    }
    setCode(0);
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }
}
