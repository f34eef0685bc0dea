// `soak`: every policy x notify x workload combination in turn under a random fault plan from
// --seed; progress on stderr, the summary table (or --json) on stdout, --series CSV, --junit XML
// with one test case per combination. Exit 1 on any violation, lost payload or failed run, with
// the one-line command that reproduces it; Ctrl-C ends the current combination cleanly and keeps
// the partial summary (exit 130).
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import junitDefault, { type Builder } from 'junit-report-builder';
import { ConfigError } from '../core/errors.js';
import { parseDuration, parseSize } from '../core/units.js';
import { formatSoakTable } from '../lab/fault-format.js';
import { formatTrend } from '../lab/rss-trend.js';
import { comboFailed, soak, soakCombos, type ComboSummary, type SoakResult, type SoakSample } from '../lab/soak.js';
import { workloadNames } from '../workloads/index.js';
import { comparisonPairs } from '../policies/index.js';
import { NAME, type Ctx, type Opts, type SetCode } from './context.js';

const MAX_SOAK_MS = 7 * 86_400_000;
// the package's types describe its CommonJS default export, not what ESM's default import yields
const junit = junitDefault as unknown as Builder;

function parseOptions(o: Opts): { durationMs: number; seed: number; guestPages?: number; combos: [string, string, string][] } {
  const durationMs = parseDuration(String(o.duration ?? '10m'), '--duration');
  if (!(durationMs > 0 && durationMs <= MAX_SOAK_MS)) throw new ConfigError('--duration', String(o.duration), 'must be above 0 and at most 7 days');
  const seed = Number(o.seed ?? 1);
  if (!Number.isInteger(seed) || seed < 0 || seed > 2 ** 32 - 1) throw new ConfigError('--seed', String(o.seed), 'must be a whole number from 0 to 4294967295');
  let guestPages: number | undefined;
  if (o.guestMem !== undefined) {
    const bytes = parseSize(String(o.guestMem), '--guest-mem');
    if (bytes % 4096 !== 0 || bytes < 4096 * 1024) throw new ConfigError('--guest-mem', String(o.guestMem), 'must be a multiple of 4 KiB, at least 4MiB');
    guestPages = bytes / 4096;
  }
  return { durationMs, seed, guestPages, combos: parseOnly(o.only, guestPages === undefined ? {} : { guestPages }) };
}

/** --only coiommu/trap,viommu-strict/sidecore[/net]: a subset of the combinations. */
function parseOnly(raw: unknown, base: { guestPages?: number }): [string, string, string][] {
  const all = soakCombos(base);
  if (raw === undefined) return all;
  const allowed = `a comma list of policy/notify[/workload] among ${comparisonPairs().map((p) => p.join('/')).join(', ')} (workloads: ${workloadNames().join(', ')})`;
  const picked = String(raw)
    .split(',')
    .flatMap((item) => {
      const [p, n, w] = item.trim().split('/');
      const hit = all.filter((c) => c[0] === p && c[1] === n && (w === undefined || c[2] === w));
      if (hit.length === 0) throw new ConfigError('--only', item, `must be ${allowed}`);
      return hit;
    });
  return picked;
}

function progress(ctx: Ctx): { sample: (s: SoakSample) => void; start: (c: string, i: number, n: number, plan: string[]) => void; end: () => void } {
  let lastLine = 0;
  return {
    start: (c, i, n, plan) => ctx.err(`${ctx.stderrIsTTY ? '\n' : ''}[${i + 1}/${n}] ${c}  plan: ${plan.join('  ') || '(none applies)'}\n`),
    sample: (s) => {
      const line = `  ${s.t.toFixed(0)}s  ${Math.round(s.opsPerSecond)} DMA/s  RSS ${s.rssMB.toFixed(1)} MB  pinned ${s.pinned}  resident ${s.resident}  faults ${s.faults}  violations ${s.violations}`;
      if (ctx.stderrIsTTY) ctx.err(`\r${line.padEnd(100)}`);
      else if (s.t - lastLine >= 10 || s.violations > 0) {
        lastLine = s.t;
        ctx.err(`${line}\n`);
      }
    },
    end: () => ctx.stderrIsTTY && ctx.err('\n'),
  };
}

function writeSeries(file: string, series: SoakSample[]): void {
  const head = 'seconds,combination,dma_per_s,rss_mb,pinned,resident,faults,violations';
  const rows = series.map((s) => [s.t.toFixed(1), s.combo, Math.round(s.opsPerSecond), s.rssMB.toFixed(1), s.pinned, s.resident, s.faults, s.violations].join(','));
  writeFileSync(file, `${[head, ...rows].join('\n')}\n`);
}

function writeJunit(file: string, r: SoakResult, seed: number): void {
  const b = junit.newBuilder();
  const suite = b.testSuite().name(`${NAME} soak (seed ${seed})`);
  for (const c of r.combos) {
    const t = suite.testCase().className(`${NAME}.soak`).name(c.combo).time(c.seconds);
    t.property('faultPlan', c.plan.join(' ')).property('injected', String(c.injected)).property('rssGrowthPct', c.rssGrowthPct.toFixed(1)).property('rssTrendMBPerMin', formatTrend(c.rssTrend));
    if (comboFailed(c)) t.failure(`${c.error ?? `${c.violations} violations, ${c.lostPayloads} lost payloads`}; reproduce: ${c.reproduce}`);
  }
  b.writeTo(file);
}

function verdict(ctx: Ctx, r: SoakResult, seed: number, durationMs: number): number {
  const bad: ComboSummary[] = r.combos.filter(comboFailed);
  for (const c of bad) ctx.err(`${NAME}: soak: ${c.combo} failed (${c.error ?? `${c.violations} violations; first: ${c.firstViolation}`}); reproduce:\n  ${c.reproduce}\n`);
  if (bad.length > 0) ctx.err(`the whole soak: ${NAME} soak --seed ${seed} --duration ${durationMs}ms\n`);
  if (r.interrupted) ctx.err(`${NAME}: soak interrupted: partial summary of ${r.combos.length} combination(s)\n`);
  return bad.length > 0 ? 1 : r.interrupted ? 130 : 0;
}

export function registerSoak(program: Command, ctx: Ctx, setCode: SetCode): void {
  program
    .command('soak')
    .description('run every policy x notify x workload combination in turn under a random fault plan, checking every invariant as it goes')
    .option('--duration <time>', 'the whole soak, split evenly over the combinations (default 10m)')
    .option('--seed <n>', 'seed of the fault plans (default 1); the same seed draws the same plans')
    .option('--only <list>', 'a subset: comma list of policy/notify[/workload]')
    .option('--guest-mem <size>', 'guest memory of every run (default as run: 1GiB)')
    .option('--junit <file.xml>', 'write JUnit XML, one test case per combination')
    .option('--series <file.csv>', 'write the time series (throughput, RSS, pinned, resident, faults) as CSV')
    .option('--json', 'print the summary and the series as JSON on stdout')
    .action(async (o: Opts) => {
      const opts = parseOptions(o);
      const ctl = new AbortController();
      const onInt = () => ctl.abort();
      process.once('SIGINT', onInt);
      const p = progress(ctx);
      try {
        const base = opts.guestPages !== undefined ? { guestPages: opts.guestPages } : {};
        const r = await soak({ ...opts, base, signal: ctl.signal, onSample: p.sample, onStart: p.start, onCombo: () => p.end() });
        if (typeof o.series === 'string') writeSeries(o.series, r.series);
        if (typeof o.junit === 'string') writeJunit(o.junit, r, opts.seed);
        ctx.out(o.json ? `${JSON.stringify({ seed: opts.seed, durationMs: opts.durationMs, ...r }, null, 2)}\n` : formatSoakTable(r.combos));
        setCode(verdict(ctx, r, opts.seed, opts.durationMs));
      } finally {
        process.removeListener('SIGINT', onInt);
      }
    });
}
