// `sweep`: one or two settings varied over values, over a list of policy/notify pairs, each
// configuration --trials times; every point is a whole run. Writes results.json, results.csv and
// report.html into --out; shards and resumes (src/cli/sweep-run.ts).
import { Option, type Command } from 'commander';
import { ConfigError } from '../core/errors.js';
import { defaultScenario, resolveScenario, type Labeler } from '../lab/config.js';
import { planPoints, type Vary } from '../lab/sweep/plan.js';
import type { ScenarioConfig } from '../lab/scenario.js';
import { comparisonPairs } from '../policies/index.js';
import { pairOverride } from '../policies/pair-override.js';
import { parsePairs } from './compare.js';
import type { Ctx, Opts, SetCode } from './context.js';
import { addScenarioOptions, parseTrials, scenarioFlags, scenarioInput } from './scenario-flags.js';
import { addSweepOptions, sweepCommand, sweepFlags } from './sweep-run.js';

const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

/** Flags a sweep may vary (every scenario flag but the pair's, which --policies lists). */
function varyKeys(): string[] {
  return scenarioFlags().map((f) => f.setting.flag!.slice(2)).filter((k) => k !== 'policy' && k !== 'notify');
}

export function parseVary(raw: string[] | undefined, o: Opts): Vary[] {
  const list = raw ?? [];
  if (list.length > 2) throw new ConfigError('--vary', list.join(' '), 'at most two settings can be varied at once');
  return list.map((item) => {
    const m = /^\s*([a-z][a-z0-9-]*)\s*=\s*(.+)$/.exec(item);
    if (!m) throw new ConfigError('--vary', item, 'must be KEY=v1,v2,... with KEY a scenario flag without its dashes, e.g. reuse-distance=16,64,256');
    const [, key, values] = m;
    if (!varyKeys().includes(key)) throw new ConfigError('--vary', item, `unknown setting "${key}"; allowed: ${varyKeys().join(', ')} (pairs go in --policies)`);
    if (o[new Option(`--${key} <x>`).attributeName()] !== undefined) throw new ConfigError('--vary', item, `--${key} is also given as a flag: give it in one place`);
    const vs = values.split(',').map((s) => s.trim());
    if (vs.some((v) => v === '') || new Set(vs).size !== vs.length) throw new ConfigError('--vary', item, 'values must be a comma list of distinct, non-empty values');
    return { key, values: vs };
  });
}

/** The scenario of one point: the flags, the varied values as if typed as flags, the pair, seed + trial. */
export function pointConfig(o: Opts, pair: string, vary: Record<string, string>, trial: number): ScenarioConfig {
  const withVary: Opts = { ...o };
  for (const [k, v] of Object.entries(vary)) withVary[new Option(`--${k} <x>`).attributeName()] = v;
  const input = scenarioInput(withVary);
  const [policy, notify, setting] = pair.split('/');
  const base = resolveScenario({ ...input.partial, policy, notify, ...pairOverride(input.partial, policy, setting) }, defaultScenario(), policyLabel(input.label, pair));
  return trial === 0 ? base : { ...base, seed: (base.seed + trial) % 2 ** 32 };
}

const policyLabel = (label: Labeler, raw: string): Labeler => (p) => (p === 'policy' || p === 'notify' ? { field: '--policies', raw, given: true } : label(p));

export function registerSweep(program: Command, ctx: Ctx, setCode: SetCode): void {
  const cmd = program.command('sweep').description('run a grid of whole runs (pairs x varied settings x trials) and write results.json, results.csv and report.html');
  addSweepOptions(addScenarioOptions(cmd, 'compare', 'as run'))
    .option('--vary <key=v1,v2,...>', 'vary one scenario setting over values (repeat once for a second), e.g. --vary reuse-distance=16,64,256 --vary vcpus=1,2', collect)
    .option('--policies <list>', 'comma list of policy/notify pairs (default: compare\'s pairs)')
    .addHelpText('after', SWEEP_EXAMPLES)
    .action(async (o: Opts) => {
      const flags = sweepFlags(o);
      const pairs = (typeof o.policies === 'string' ? parsePairs(o.policies) : comparisonPairs()).map((p) => p.filter((x) => x !== undefined).join('/')); // policy/notify[/setting]
      const vary = parseVary(o.vary as string[] | undefined, o);
      const trials = parseTrials(o);
      const points = planPoints({ pairs, vary, trials, configFor: (pair, v, t) => pointConfig(o, pair, v, t) });
      const title = `sweep: ${pairs.join(', ')}${vary.map((v) => ` x ${v.key}`).join('')}`;
      await sweepCommand({ title, command: `viommu-lab ${(ctx.argv ?? []).join(' ')}`, points, vary, pairs, trials }, flags, o, ctx, setCode);
    });
}

const SWEEP_EXAMPLES = `
Examples:
  viommu-lab sweep --policies coiommu/trap,viommu-strict/sidecore --vary reuse-distance=16,64,256 --ops 20000 --out sw
  viommu-lab sweep --vary vcpus=1,2,4 --vary reuse-distance=64,1024 --trials 3 --ops 20000 --out sw2
  viommu-lab sweep ... --shard 0/4 --out part0     (then: viommu-lab merge part0 part1 part2 part3 --out all)
  viommu-lab sweep ... --out sw --resume            (continue an interrupted sweep)

Points on the virtual clock (the default) run --threads at a time; wall-clock points one at a time.
Trial k runs with --seed + k. results.csv has one row per point (columns in the README).
`;
