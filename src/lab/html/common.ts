// Sections every HTML report has: the scenario, the cost table, the machine.
import { cpus, platform, release, totalmem } from 'node:os';
import type { RunReport } from '../../core/types.js';
import { formatBytes } from '../../core/units.js';
import { PAGE_SIZE } from '../../machine/layout.js';
import type { Section } from './page.js';

const str = (v: unknown) => (typeof v === 'object' ? JSON.stringify(v) : String(v));

export function scenarioSection(r: RunReport, heading = 'scenario'): Section {
  const c = r.config;
  const base: [string, string][] = [
    ['workload', c.workload],
    ['guest memory', `${formatBytes(c.guestPages * PAGE_SIZE)} (${c.guestPages} pages)`],
    ['vCPUs', String(c.vcpus)],
    ['clock', c.clock],
    ['ops', c.ops > 0 ? String(c.ops) : 'run for --duration'],
    ['duration bound', `${c.durationMs} ms`],
    ['seed', String(c.seed)],
  ];
  const sections = Object.entries(c).filter(([, v]) => typeof v === 'object' && v !== null && !Array.isArray(v));
  const rest = sections.filter(([k]) => k !== 'costTable').map(([k, v]): [string, string] => [k, str(v)]);
  return { heading, kind: 'pairs', pairs: [...base, ...rest] };
}

export function costSection(r: RunReport): Section {
  const rows = Object.entries(r.modeled.costTable).map(([k, v]) => [k, String(v)]);
  return { heading: 'cost table (the virtual clock charges these)', kind: 'table', header: ['key', 'value'], rows };
}

export function machineSection(reports: readonly RunReport[], extra: [string, string][] = []): Section {
  const m = reports.find((r) => r.machine)?.machine;
  const p = reports[0]?.parallelism;
  return {
    heading: 'machine',
    kind: 'pairs',
    pairs: [
      ['cpu', `${cpus()[0]?.model ?? 'unknown'} (${cpus().length} logical)`],
      ['memory', formatBytes(totalmem())],
      ['os', `${platform()} ${release()}`],
      ['node', process.version],
      ['load average (1 min) at start', m ? `${m.loadAverage1m} on ${m.cores} cores${m.loadAverage1m > m.cores ? ' (overloaded: measured figures are noisy)' : ''}` : 'not recorded'],
      ['threads per run', p ? `${p.threads} (${p.spinners} polling${p.oversubscribed ? ', oversubscribed' : ''})` : '-'],
      ...extra,
    ],
  };
}
