// Runs scenarios one after the other with a progress bar, keeping every finished report when a
// later run fails, so a command can still print what it has.
import cliProgress from 'cli-progress';
import { ConfigError } from '../core/errors.js';
import type { RunReport } from '../core/types.js';
import { fmtInt } from '../lab/table.js';
import type { ScenarioConfig } from '../lab/scenario.js';
import type { Ctx, Opts, RunScenario } from './context.js';

async function loadRunner(ctx: Ctx): Promise<RunScenario> {
  if (ctx.runScenario) return ctx.runScenario;
  // Loaded on demand: help and validation work (and start fast) without the simulation core.
  const { runScenario } = await import('../lab/orchestrator.js');
  return runScenario;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The runs that finished, and the one that failed (with its error) if any did. */
export interface RunOutcome {
  reports: RunReport[];
  failed?: { cfg: ScenarioConfig; message: string };
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

export async function runAll(configs: ScenarioConfig[], o: Opts, ctx: Ctx): Promise<RunOutcome> {
  const runScenario = await loadRunner(ctx);
  const progress = typeof o.progress === 'boolean' ? o.progress : !o.json && ctx.stderrIsTTY;
  const reports: RunReport[] = [];
  for (const cfg of configs) {
    const name = `${cfg.policy}/${cfg.notify}`;
    const bar = progress ? progressBar(name, cfg, ctx) : undefined;
    const onProgress = bar
      ? (p: { elapsedMs: number; totalMs: number; dmaOps: number }) => {
          bar.setTotal(p.totalMs);
          bar.update(Math.min(p.elapsedMs, p.totalMs), { elapsed: seconds(p.elapsedMs), totalText: seconds(p.totalMs), dmaOps: fmtInt(p.dmaOps) });
        }
      : undefined;
    try {
      reports.push(await runScenario(cfg, { onProgress }));
    } catch (e) {
      if (e instanceof ConfigError) throw e;
      const msg = e instanceof Error ? e.message || e.name : String(e);
      return { reports, failed: { cfg, message: configs.length > 1 ? `${name}: ${msg}` : msg } };
    } finally {
      bar?.stop();
    }
  }
  return { reports };
}
