// `compare`: several policy/notify pairs on the same base scenario, side by side; with --trials,
// each pair several times, interleaved. A run that fails ends the comparison, but the runs that
// finished are still printed.
import type { Command } from 'commander';
import { ConfigError } from '../core/errors.js';
import { NOTIFY_PATHS, type NotifyPath } from '../core/types.js';
import { defaultScenario, resolveScenario, type Labeler } from '../lab/config.js';
import { formatCompareTable } from '../lab/table.js';
import { writeReportsHtml } from '../lab/html/reports-page.js';
import { comparisonPairs, policyByName, policyNames } from '../policies/index.js';
import { pairOverride } from '../policies/pair-override.js';
import type { Ctx, Opts, SetCode } from './context.js';
import { COMPARE_EXAMPLES, guide } from './help.js';
import { runAll } from './runner.js';
import { addScenarioOptions, parseTrials, scenarioInput } from './scenario-flags.js';

/** compare's per-run duration unless --duration (or --config) says otherwise: 10 runs stay under ~35 s. */
const COMPARE_DURATION_MS = 2000;
/**
 * ... and with --trials: shorter runs, as every run also pays about a second of worker start-up and
 * teardown; `npm start` (10 pairs x 3 trials) takes about a minute on 2 cores.
 */
const COMPARE_TRIALS_DURATION_MS = 500;

const pairsText = () => comparisonPairs().map((p) => p.join('/')).join(',');

export type Pair = [string, NotifyPath, string?];

export function parsePairs(raw: string): Pair[] {
  const allowed =
    `must be a comma list of <policy>/<notify>[/<setting>] with policy one of ${policyNames().join(', ')}` +
    ` and notify one of ${NOTIFY_PATHS.join(', ')} (e.g. static/trap,coiommu/sidecore,viommu-strict/bare/fands)`;
  const items = raw.split(',').map((s) => s.trim());
  if (items.every((s) => s === '')) throw new ConfigError('--policies', raw, allowed);
  return items.map((item) => {
    const [p, n, setting, extra] = item.split('/');
    if (extra !== undefined || !policyNames().includes(p) || !(NOTIFY_PATHS as readonly string[]).includes(n)) {
      throw new ConfigError('--policies', item, allowed);
    }
    const paths = policyByName(p).notifyPaths;
    if (!(paths as readonly string[]).includes(n)) throw new ConfigError('--policies', item, `${p} runs on ${paths.join(', ')} only (it has no ${n} path)`);
    const ps = policyByName(p).pairSetting;
    if (setting !== undefined && !ps?.values.includes(setting))
      throw new ConfigError('--policies', item, ps ? `the third part must be one of ${ps.values.join(', ')} (its ${ps.key})` : `${p} takes no third part`);
    return [p, n as NotifyPath, setting];
  });
}

export function registerCompare(program: Command, ctx: Ctx, setCode: SetCode): void {
  const compare = program
    .command('compare')
    .description(`run ${pairsText().replaceAll(',', ', ')} in turn on the same scenario (${COMPARE_DURATION_MS / 1000} s each unless --duration says otherwise; ${COMPARE_TRIALS_DURATION_MS / 1000} s each with --trials) and print them side by side`);
  addScenarioOptions(compare, 'compare', `${COMPARE_DURATION_MS / 1000}s per run, ${COMPARE_TRIALS_DURATION_MS / 1000}s with --trials`)
    .option('--policies <list>', `comma list of policy/notify pairs (default ${pairsText()})`)
    .option('--html <file>', 'also write the comparison as a self-contained HTML file with plots')
    .addHelpText('after', guide() + COMPARE_EXAMPLES)
    .action(async (o: Opts) => {
      const pairs = typeof o.policies === 'string' ? parsePairs(o.policies) : comparisonPairs();
      const trials = parseTrials(o);
      const input = scenarioInput(o);
      if (input.partial.durationMs === undefined) input.partial.durationMs = o.trials === undefined ? COMPARE_DURATION_MS : COMPARE_TRIALS_DURATION_MS;
      // Validate every scenario before running any.
      const configs = pairs.map(([policy, notify, setting]: Pair) => {
        const raw = `${policy}/${notify}`;
        const label: Labeler = (p) => ((p === 'policy' || p === 'notify') && o.policies ? { field: '--policies', raw, given: true } : input.label(p));
        return resolveScenario({ ...input.partial, policy, notify, ...pairOverride(input.partial, policy, setting) }, defaultScenario(), label);
      });
      const { reports, failed } = await runAll(configs, o, ctx, trials);
      const failedEntry = failed && { error: failed.message, policy: failed.cfg.policy, notify: failed.cfg.notify, ...(trials > 1 && { trialReports: failed.trialReports }) };
      if (o.json) ctx.out(`${JSON.stringify(failedEntry ? [...reports, failedEntry] : reports, null, 2)}\n`);
      else if (reports.length > 0 || !failed) ctx.out(formatCompareTable(reports, failed && { label: `${failed.cfg.policy}/${failed.cfg.notify}`, message: failed.message }));
      if (typeof o.html === 'string' && reports.length > 0) writeReportsHtml(o.html, reports, `compare: ${reports.map((r) => `${r.policy}/${r.notify}`).join(', ')}`);
      if (failed) throw new Error(failed.message);
      setCode(0);
    });
}
