// The explorer commands' human output: the search report, a replayed trace, the scenario list.
import { fmtInt, grid } from '../lab/table.js';
import { verdictOf, type Scenario } from '../core/scenario.js';
import type { ExploreResult } from '../explore/explore.js';
import type { ReplayResult } from '../explore/replay.js';
import { allScenarios, scenarioByName } from '../explore/scenarios.js';
import { formatTrace } from '../explore/trace.js';

export function formatExplore(r: ExploreResult): string {
  const s = scenarioByName(r.scenario);
  const rows = Object.entries(r.histogram)
    .sort((a, b) => b[1] - a[1])
    .map(([outcome, n]) => [r.verdicts[outcome] ?? verdictOf(s, outcome), fmtInt(n), outcome]);
  const o = r.options;
  const how =
    r.strategy === 'pct'
      ? `pct, depth ${o.depth}, seed ${o.seed}`
      : r.strategy === 'dfs'
        ? `dfs, preemption bound ${o.preemptions}` + (r.dfs ? ` (searched up to ${r.dfs.reachedBound})` : '')
        : r.strategy === 'dpor'
          ? `dpor (source sets + sleep sets), preemption bound ${o.preemptions}` + (r.dpor?.sleepBlocked ? `, ${r.dpor.sleepBlocked} redundant (sleep-set blocked)` : '')
        : r.strategy === 'mixed'
          ? `mixed, seed ${o.seed}` + (r.mixed ? ` (${r.mixed.random} random, ${r.mixed.pct} PCT at depths 2-4, ${r.mixed.dfs} DFS with preemption bound ${o.preemptions}${r.mixed.dfsExhausted ? ', DFS space exhausted' : ''})` : '')
          : `random, seed ${o.seed}`;
  const lines = [
    `scenario:   ${r.scenario}${r.variant === 'none' ? '' : ` (planted bug: ${r.variant})`}`,
    `strategy:   ${how}; budget ${fmtInt(o.budget)} schedules; slices ${r.slices.join(', ')}`,
    `schedules:  ${fmtInt(r.schedules)}${o.stopOnForbidden && r.forbidden > 0 ? ' (stopped at the first FORBIDDEN outcome)' : ''} (${fmtInt(r.steps)} steps) in ${r.seconds.toFixed(2)} s: ` +
      `${fmtInt(r.schedules / Math.max(r.seconds, 1e-9))} schedules/s, ${fmtInt(r.steps / Math.max(r.seconds, 1e-9))} steps/s`,
  ];
  if (r.strategy === 'dfs' || r.strategy === 'dpor')
    lines.push(
      `search:     ${
        r.exhausted
          ? 'the bounded space is exhausted: every schedule within the bound was run'
          : o.stopOnForbidden && r.forbidden > 0
            ? 'stopped at the first FORBIDDEN outcome'
            : 'the budget ran out before the bounded space did'
      }` +
        (r.dfs?.repeats ? ` (${fmtInt(r.dfs.repeats)} schedules were run but not counted: re-met from a lower bound, or another slice's)` : ''),
    );
  if (r.interrupted) lines.push('stopped:    interrupted (Ctrl-C / SIGTERM): a partial result');
  if (r.pct)
    lines.push(
      `PCT bound:  a bug of depth ${r.pct.depth} is hit with probability >= 1/(n k^(d-1)) = ${r.pct.perSchedule.toExponential(2)} ` +
        `per schedule (n=${r.pct.threads} threads, k=${r.pct.steps} steps); all ${fmtInt(o.budget)} schedules miss it with ` +
        `probability <= ${r.pct.missAll.toPrecision(3)}`,
    );
  lines.push('', grid(['verdict', 'count', 'outcome'], rows, new Set([1])), '');
  if (r.unreached?.length) lines.push(`NOT REACHED (the scenario says a search must reach these): ${r.unreached.join('; ')}`);
  if (r.collapsed) lines.push('COLLAPSED: every schedule ended in the same outcome (no race was exercised)');
  if (r.firstForbidden) {
    lines.push(`FORBIDDEN outcomes: ${fmtInt(r.forbidden)}. First: ${r.firstForbidden.outcome}`);
    const f = r.firstForbidden;
    lines.push(`  schedule: ${f.schedule}`, `  replay:   ${f.replay}`);
    if (f.original)
      lines.push(
        `  shrunk:   ${f.preemptions} preemption(s), ${f.steps} steps (${f.shrinkRuns} schedules run to shrink it); ` +
          `as found: ${f.original.preemptions} preemption(s), ${f.original.steps} steps: ${f.original.schedule}`,
      );
  } else lines.push('no FORBIDDEN outcome');
  return lines.join('\n') + '\n';
}

export function formatReplay(r: ReplayResult, s: Scenario): string {
  return (
    `scenario: ${r.scenario}${r.variant === 'none' ? '' : ` (planted bug: ${r.variant})`}\n` +
    `threads:  ${s.threads.map((t, i) => `${i} = ${t}`).join(', ')}\n\n` +
    formatTrace(s, r.trace) +
    `\noutcome:  ${r.outcome} (${r.verdict})\nsteps:    ${r.steps}` +
    (r.extended ? ' (the schedule given was shorter: the rest ran without preemptions)' : '') +
    `\nschedule: ${r.schedule}\n` +
    (r.errors ? `errors:   ${r.errors.join('; ')}\n` : '')
  );
}

export function formatScenarios(): string {
  return allScenarios().map(
    (s) =>
      `${s.name}\n  ${s.description}\n  threads:  ${s.threads.join(', ')}\n  variants: ${s.variants.join(', ')}\n` +
      (s.budget ? `  budget:   ${s.budget} schedules (default strategy)\n` : '') +
      Object.entries(s.outcomes)
        .map(([o, v]) => `    ${v.padEnd(11)} ${o}`)
        .join('\n'),
  ).join('\n\n') + '\n';
}
