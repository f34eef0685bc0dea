// `coverage`: run every scenario's real protocol under the default strategy at its stated budget,
// recording the protocol site (file:line) of each shared-memory operation, and print how many of
// the protocol's sites some scenario reached. --json prints {sites, reached, percent, unreached[]}.
import type { Command } from 'commander';
import type { Coverage } from '../explore/coverage.js';
import { fmtInt } from '../lab/table.js';
import type { Opts, SetCode } from './context.js';
import type { ExploreCtx } from './explore-options.js';

export function formatCoverage(c: Coverage, per?: Record<string, number>): string {
  const lines = [`protocol sites: ${fmtInt(c.sites)}, reached ${fmtInt(c.reached)} (${c.percent}%)`];
  if (per) for (const [name, n] of Object.entries(per)) lines.push(`  ${name}: ${fmtInt(n)} sites`);
  const ex = Object.entries(c.exceptions);
  if (ex.length) lines.push(`documented exceptions (${ex.length}):`, ...ex.map(([s, why]) => `  ${s}: ${why}`));
  lines.push(c.unreached.length ? `unreached (${c.unreached.length}):` : 'every other protocol site was reached', ...c.unreached.map((s) => `  ${s}`));
  return lines.join('\n') + '\n';
}

export function registerCoverage(program: Command, ctx: ExploreCtx, setCode: SetCode): void {
  program
    .command('coverage')
    .description("run every scenario's real protocol and print which shared-memory operation sites of the protocol code it reached")
    .option('--json', 'print {sites, reached, percent, unreached[], exceptions{}} as JSON')
    .action(async (o: Opts) => {
      const { coverageRun } = await import('../explore/coverage-run.js');
      const { allScenarios } = await import('../explore/scenarios.js');
      const c = await coverageRun(allScenarios(), (name, n) => ctx.err(`${name}: ${n} sites\n`));
      const { perScenario, ...figure } = c;
      ctx.out(o.json ? `${JSON.stringify(figure, null, 2)}\n` : formatCoverage(figure, perScenario));
      setCode(0);
    });
}
