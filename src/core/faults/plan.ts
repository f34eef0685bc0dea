// A fault plan: `--fault KIND[:FIELD...]@WHEN`, repeatable. FIELDs are a target (vcpu2, device,
// sidecore, hypervisor, guest, host) and/or the kind's parameter (a duration, a delay
// distribution, a page count). WHEN is a time (`2s`), a rate (`every 100ms`) or a probability per
// opportunity (`p=0.01`: each failure point reached, or each millisecond for the others).
import { ConfigError } from '../errors.js';
import { parseDuration } from '../units.js';
import { FAULT_KINDS, KIND_INFO, TARGET_SYNTAX, type FaultKind, type TargetRole } from './kinds.js';

export type FaultWhen = { at: number } | { every: number } | { p: number };

/** A delay distribution (ms): fixed, exponential with a mean, or uniform between two bounds. */
export type Distribution = { fixed: number } | { exp: number } | { uniform: [number, number] };

export interface FaultSpec {
  kind: FaultKind;
  target: TargetRole;
  /** vCPU index for `vcpuN`; -1 = any. */
  index: number;
  when: FaultWhen;
  /** ms (durations), pages (balloon); the distribution's mean otherwise. */
  param: number;
  delay?: Distribution;
  raw: string;
}

export const FAULT_FIELD = '--fault';
export const WHEN_SYNTAX = 'a time (2s), a rate (every 100ms) or a probability (p=0.01)';
export const FAULT_SYNTAX = `KIND[:TARGET][:PARAM]@WHEN; kinds: ${FAULT_KINDS.join(', ')}; WHEN: ${WHEN_SYNTAX}`;

const bad = (raw: string, allowed: string): never => {
  throw new ConfigError(FAULT_FIELD, raw, allowed);
};

function parseWhen(raw: string, text: string): FaultWhen {
  const t = text.trim();
  const every = /^every\s+(.+)$/i.exec(t);
  if (every) {
    const ms = safeDuration(raw, every[1], 'the rate after "every"');
    if (ms <= 0) bad(raw, 'the rate after "every" must be above 0');
    return { every: ms };
  }
  const p = /^p\s*=\s*(.+)$/i.exec(t);
  if (p) {
    const v = Number(p[1]);
    if (!(v > 0 && v <= 1)) bad(raw, `the probability after "p=" must be in (0, 1], got "${p[1]}"`);
    return { p: v };
  }
  return { at: safeDuration(raw, t, 'WHEN') };
}

function safeDuration(raw: string, text: string, what: string): number {
  try {
    return parseDuration(text);
  } catch {
    return bad(raw, `${what} "${text}" must be a duration like 2s, 100ms, 250us; WHEN is ${WHEN_SYNTAX}`);
  }
}

function parseDistribution(raw: string, text: string): Distribution {
  const m = /^(exp|uniform)\((.+)\)$/i.exec(text.trim());
  if (!m) return { fixed: safeDuration(raw, text, 'the delay') };
  const args = m[2].split(',').map((a) => safeDuration(raw, a, 'the delay'));
  if (m[1].toLowerCase() === 'exp' && args.length === 1) return { exp: args[0] };
  if (m[1].toLowerCase() === 'uniform' && args.length === 2 && args[0] <= args[1]) return { uniform: [args[0], args[1]] };
  return bad(raw, 'the delay must be D, exp(MEAN) or uniform(LO,HI) with LO <= HI, e.g. exp(1ms)');
}

const meanOf = (d: Distribution): number => ('fixed' in d ? d.fixed : 'exp' in d ? d.exp : (d.uniform[0] + d.uniform[1]) / 2);

function parseTarget(field: string): { target: TargetRole; index: number } | undefined {
  const v = /^vcpu(\d+)$/i.exec(field);
  if (v) return { target: 'guest', index: Number(v[1]) };
  const names: readonly string[] = ['guest', 'hypervisor', 'sidecore', 'device', 'host'];
  return names.includes(field.toLowerCase()) ? { target: field.toLowerCase() as TargetRole, index: -1 } : undefined;
}

/** One `--fault` value. Errors name the flag, the value and what is allowed (exit 2). */
export function parseFault(raw: string): FaultSpec {
  const at = raw.lastIndexOf('@');
  if (at < 0) bad(raw, `missing "@WHEN": the syntax is ${FAULT_SYNTAX}`);
  const [kindText, ...fields] = raw.slice(0, at).split(':');
  const kind = kindText.trim().toLowerCase() as FaultKind;
  if (!FAULT_KINDS.includes(kind)) bad(raw, `unknown fault kind "${kindText}": allowed kinds are ${FAULT_KINDS.join(', ')}`);
  const info = KIND_INFO[kind];
  const spec: FaultSpec = { kind, target: info.targets[0], index: -1, when: parseWhen(raw, raw.slice(at + 1)), param: info.defaultParam ?? 0, raw };
  let paramSeen = false;
  for (const f of fields.map((x) => x.trim())) {
    const t = parseTarget(f);
    if (t) {
      if (!info.targets.includes(t.target)) bad(raw, `${kind} cannot target "${f}": allowed targets are ${info.targets.join(', ')}${info.targets.includes('guest') ? ' (or vcpuN)' : ''}`);
      Object.assign(spec, t);
    } else if (info.param !== 'none' && !paramSeen) {
      paramSeen = true;
      setParam(spec, raw, f);
    } else bad(raw, info.param === 'none' ? `"${f}" is not a target (${TARGET_SYNTAX}), and ${kind} takes no parameter` : `"${f}" is not a target (${TARGET_SYNTAX}) and the parameter was given already`);
  }
  return spec;
}

function setParam(spec: FaultSpec, raw: string, f: string): void {
  const kind = spec.kind;
  if (KIND_INFO[kind].param === 'pages') {
    const n = Number(f);
    if (!Number.isInteger(n) || n < 1 || n > 1 << 24) bad(raw, `${kind}'s parameter is a page count from 1 to ${1 << 24}, got "${f}"`);
    spec.param = n;
  } else if (KIND_INFO[kind].param === 'distribution') {
    spec.delay = parseDistribution(raw, f);
    spec.param = meanOf(spec.delay);
  } else spec.param = safeDuration(raw, f, `${kind}'s duration`);
}

/** Every `--fault` of a plan; duplicates are allowed (several per run). */
export function parseFaultPlan(raws: readonly string[]): FaultSpec[] {
  return raws.map(parseFault);
}

/** A delay (ms) drawn from `d` with the uniform source `rnd`. */
export function drawDelay(d: Distribution, rnd: () => number): number {
  if ('fixed' in d) return d.fixed;
  if ('exp' in d) return -d.exp * Math.log(1 - rnd());
  return d.uniform[0] + rnd() * (d.uniform[1] - d.uniform[0]);
}

/** A spec written back as `--fault` takes it (the soak's reproduce line). */
export function formatFault(s: FaultSpec): string {
  return s.raw;
}
