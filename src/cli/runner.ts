// Runs scenarios with a progress bar: every configuration `trials` times, interleaved in a seeded
// shuffled order (src/lab/trials.ts), keeping every finished report when a later run fails, so a
// command can still print what it has. Each report records the machine's load as its run started.
import cliProgress from 'cli-progress';
import { ConfigError } from '../core/errors.js';
import type { MachineLoad, RunReport } from '../core/types.js';
import { fmtInt, loadWarning } from '../lab/table.js';
import type { RunOptions } from '../lab/orchestrator.js';
import type { ScenarioConfig } from '../lab/scenario.js';
import { aggregateTrials, machineLoad, trialOrder, type TrialSlot } from '../lab/trials.js';
import { NAME, type Ctx, type Opts, type RunScenario } from './context.js';

async function loadRunner(ctx: Ctx): Promise<RunScenario> {
  if (ctx.runScenario) return ctx.runScenario;
  // Loaded on demand: help and validation work (and start fast) without the simulation core.
  const { runScenario } = await import('../lab/orchestrator.js');
  return runScenario;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The configurations that ran, and the one that failed (with its error) if any did. */
export interface RunOutcome {
  /** One report per configuration with finished trials (the failed one aside), in the order given, aggregated over its trials. */
  reports: RunReport[];
  /** The run that failed; `trialReports` holds the trials of its configuration that finished before. */
  failed?: { cfg: ScenarioConfig; message: string; trialReports: RunReport[] };
}

function progressBar(name: string, cfg: ScenarioConfig, ctx: Ctx): cliProgress.SingleBar {
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${name.padEnd(16)} [{bar}] {percentage}% | {elapsed} of {totalText} | {dmaOps} DMA ops`,
      // Leave the terminal's cursor and line wrapping alone: Ctrl-C kills us without a stop().
      hideCursor: false,
      linewrap: null,
      clearOnComplete: true,
      noTTYOutput: !ctx.stderrIsTTY,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(cfg.durationMs, 0, { elapsed: seconds(0), totalText: seconds(cfg.durationMs), dmaOps: '0' });
  return bar;
}

/** `policy/notify`, and `trial k/N` when there are several. */
const slotName = (cfg: ScenarioConfig, slot: TrialSlot, trials: number) =>
  `${cfg.policy}/${cfg.notify}${trials > 1 ? ` trial ${slot.trial + 1}/${trials}` : ''}`;

/** One run, with its progress bar; the report gains the machine's load at the command's start. */
async function runOne(run: RunScenario, cfg: ScenarioConfig, name: string, progress: boolean, ctx: Ctx, machine: MachineLoad, extra: RunOptions): Promise<RunReport> {
  const bar = progress ? progressBar(name, cfg, ctx) : undefined;
  const onProgress = bar
    ? (p: { elapsedMs: number; totalMs: number; dmaOps: number }) => {
        bar.setTotal(p.totalMs);
        bar.update(Math.min(p.elapsedMs, p.totalMs), { elapsed: seconds(p.elapsedMs), totalText: seconds(p.totalMs), dmaOps: fmtInt(p.dmaOps) });
      }
    : undefined;
  try {
    const report = await run(cfg, { ...extra, onProgress });
    // a report that brings its own load figure (the orchestrator's, or a test's stand-in) keeps it
    return { ...report, machine: report.machine ?? machine };
  } finally {
    bar?.stop();
  }
}

/**
 * Every configuration `trials` times, in trialOrder's seeded order (the first configuration's
 * seed). A run that fails ends the whole lot: the configurations with finished trials are still
 * aggregated, the failed one's finished trials come back with the failure.
 */
export async function runAll(configs: ScenarioConfig[], o: Opts, ctx: Ctx, trials = 1, extra: RunOptions = {}): Promise<RunOutcome> {
  const run = await loadRunner(ctx);
  const progress = typeof o.progress === 'boolean' ? o.progress : !o.json && ctx.stderrIsTTY;
  const done: RunReport[][] = configs.map(() => []);
  // Read before the first run: a 1-minute load average read later counts this command's own runs.
  const machine = machineLoad();
  const warnLoad = () => {
    const w = loadWarning(done.flat());
    if (w) ctx.err(`${NAME}: warning: ${w}\n`);
  };
  const aggregate = (skip?: number) => done.filter((d, i) => d.length > 0 && i !== skip).map(aggregateTrials);
  for (const slot of trialOrder(configs.length, trials, configs[0].seed)) {
    const cfg = configs[slot.config];
    const name = slotName(cfg, slot, trials);
    try {
      done[slot.config].push(await runOne(run, cfg, name, progress, ctx, machine, extra));
    } catch (e) {
      if (e instanceof ConfigError) throw e;
      const msg = e instanceof Error ? e.message || e.name : String(e);
      warnLoad();
      const message = configs.length > 1 || trials > 1 ? `${name}: ${msg}` : msg;
      return { reports: aggregate(slot.config), failed: { cfg, message, trialReports: done[slot.config] } };
    }
  }
  warnLoad();
  return { reports: aggregate() };
}
