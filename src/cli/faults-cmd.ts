// `faults list`: the fault kinds (what --fault takes) and the sweep scenarios.
// `faults sweep --scenario NAME`: the fail-nth sweep; exit 1 if any run was not clean.
import type { Command } from 'commander';
import { ConfigError } from '../core/errors.js';
import { grid } from '../core/grid.js';
import { FAILURE_POINTS, FAULT_KINDS, KIND_INFO, type FailurePoint } from '../core/faults/kinds.js';
import { FAULT_SYNTAX } from '../core/faults/plan.js';
import { SWEEP_SCENARIOS, sweep } from '../lab/fault-sweep.js';
import { NAME, type Ctx, type Opts, type SetCode } from './context.js';

function list(ctx: Ctx): void {
  const rows = FAULT_KINDS.map((k) => {
    const i = KIND_INFO[k];
    const param = i.param === 'none' ? '-' : `${i.param}${i.defaultParam !== undefined ? ` (${i.defaultParam}${i.param === 'pages' ? '' : 'ms'})` : ''}`;
    return [k, i.targets.map((t) => (t === 'guest' ? 'vcpuN|guest' : t)).join('|'), param, i.help];
  });
  ctx.out(`--fault ${FAULT_SYNTAX}\n\n${grid(['kind', 'targets', 'parameter', 'what happens'], rows)}\n\n`);
  ctx.out(`sweep scenarios (${NAME} faults sweep --scenario NAME):\n`);
  ctx.out(`${grid(['scenario', 'what it runs'], Object.entries(SWEEP_SCENARIOS).map(([n, s]) => [n, s.help]))}\n`);
}

function parsePoints(raw: unknown): FailurePoint[] | undefined {
  if (raw === undefined) return undefined;
  return String(raw)
    .split(',')
    .map((p) => {
      if (!(FAILURE_POINTS as readonly string[]).includes(p.trim())) throw new ConfigError('--points', p, `allowed points are ${FAILURE_POINTS.join(', ')}`);
      return p.trim() as FailurePoint;
    });
}

export function registerFaults(program: Command, ctx: Ctx, setCode: SetCode): void {
  const faults = program.command('faults').description('fault injection: list the kinds, sweep every failure point (fail-nth)');
  faults
    .command('list')
    .description('the fault kinds --fault takes, and the sweep scenarios')
    .action(() => {
      list(ctx);
      setCode(0);
    });
  faults
    .command('sweep')
    .description('run a short deterministic scenario once counting its failure points, then fail the 1st, 2nd, ... Nth of each in turn')
    .requiredOption('--scenario <name>', `one of ${Object.keys(SWEEP_SCENARIOS).join(', ')}`)
    .option('--points <list>', `only these points (${FAILURE_POINTS.join(', ')})`)
    .option('--json', 'print the result as JSON')
    .action(async (o: Opts) => {
      const name = String(o.scenario);
      if (!SWEEP_SCENARIOS[name]) throw new ConfigError('--scenario', name, `allowed scenarios are ${Object.keys(SWEEP_SCENARIOS).join(', ')}`);
      const points = parsePoints(o.points);
      const r = await sweep(name, (run, done, total) => ctx.err(`[${done}/${total}] fail ${run.point} #${run.n}: ${run.ok ? `ok (${run.mapFailures} map failures, ${run.resubmitted} resubmitted)` : `FAILED: ${run.problem}`}\n`), points);
      const bad = r.runs.filter((x) => !x.ok);
      if (o.json) ctx.out(`${JSON.stringify(r, null, 2)}\n`);
      else {
        const counted = Object.entries(r.counts).map(([p, n]) => `${p} ${n}`).join(' · ');
        ctx.out(`sweep ${name}: failure points reached in the clean run: ${counted}\n`);
        ctx.out(`${r.runs.length} runs, each failing one point once: ${r.runs.length - bad.length} clean, ${bad.length} not\n`);
        for (const b of bad) ctx.out(`  ${b.point} #${b.n}: ${b.problem}\n`);
      }
      setCode(bad.length > 0 ? 1 : 0);
    });
}
