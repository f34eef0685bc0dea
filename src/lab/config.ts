// Scenario configuration: merging and validation of partial scenarios (config files, flags) over
// the defaults. Every rejected value becomes a ConfigError naming the field, the value and what is
// allowed. The settings themselves are declared in scenario.ts and by each policy and workload.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { policyByName, runsSidecore } from '../policies/index.js';
import { checkFaultPlan } from './fault-check.js';
import { defaultScenario, partialScenarioSchema, scenarioSchema, sectionChecks, type ScenarioConfig } from './scenario.js';

export { ConfigError } from '../core/errors.js';
export { allowedFor } from '../core/settings.js';
export { COST_KEYS, DEFAULT_COST_TABLE } from '../core/cost-table.js';
export { defaultScenario, type ScenarioConfig } from './scenario.js';

/** A partial scenario: any part of it, every field optional. */
export type PartialScenario = { [key: string]: unknown };

// ---- naming the culprit ---------------------------------------------------------------------

/** How a JSON path is named in messages, and whether the user gave it (vs. a default). */
export interface FieldLabel {
  field: string;
  given: boolean;
  /** Config file the value came from. */
  source?: string;
  /** The text the user typed (e.g. `25h` for durationMs), shown instead of the parsed number. */
  raw?: string;
}
export type Labeler = (path: string) => FieldLabel;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function valueAt(obj: unknown, path: string | readonly PropertyKey[]): unknown {
  const keys = typeof path === 'string' ? (path === '' ? [] : path.split('.')) : path;
  let cur = obj;
  for (const k of keys) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[String(k)];
  }
  return cur;
}

function display(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function errorAt(path: string, input: unknown, allowed: string, label: Labeler): ConfigError {
  const l = label(path);
  return new ConfigError(l.field, l.raw ?? display(valueAt(input, path)), allowed, { source: l.source, path });
}

/** Keys the full schema allows at a JSON path (for "unknown key" messages). */
function knownKeys(path: readonly PropertyKey[]): string[] {
  let s: z.ZodType = scenarioSchema();
  for (const k of path) {
    while (s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
    if (!(s instanceof z.ZodObject)) return [];
    s = s.shape[String(k)] as z.ZodType;
  }
  while (s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}

function fromIssue(issue: z.core.$ZodIssue, input: unknown, label: Labeler): ConfigError {
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0];
    const where = path.length ? ` in ${path.join('.')}` : '';
    return errorAt([...path, key].join('.'), input, `unknown key${where}; allowed keys are ${knownKeys(path).join(', ')}`, label);
  }
  if (issue.code === 'invalid_type' && issue.expected === 'object') {
    const keys = knownKeys(path);
    if (path.length === 0) return errorAt('', input, 'a scenario must be a JSON object', (p) => ({ ...label(p), field: 'scenario' }));
    return errorAt(path.join('.'), input, `must be an object with keys ${keys.join(', ')}`, label);
  }
  return errorAt(path.join('.'), input, issue.message, label);
}

/** Check a partial scenario (types, ranges, unknown keys) without merging it. */
export function validatePartial(partial: unknown, label?: Labeler): PartialScenario {
  const r = partialScenarioSchema().safeParse(partial);
  if (!r.success) throw fromIssue(r.error.issues[0], partial, label ?? ((p) => ({ field: p, given: true })));
  return r.data as PartialScenario;
}

function mergeInto(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const b = base[k];
    base[k] = isPlainObject(v) && isPlainObject(b) ? mergeInto(b, v) : structuredClone(v);
  }
  return base;
}

/** A deep copy of `base` with the plain-object `over` merged into it (undefined values skipped). */
export function deepMerge<T extends object>(base: T, over: object): T {
  return mergeInto(structuredClone(base) as Record<string, unknown>, over as Record<string, unknown>) as T;
}

/**
 * Deep-merge `partial` over `base` and validate the result: types, ranges, and the rules that
 * involve several fields. `label` names fields in errors (CLI flags vs. JSON paths).
 */
export function resolveScenario(
  partial: PartialScenario,
  base: ScenarioConfig = defaultScenario(),
  label?: Labeler,
): ScenarioConfig {
  const lab: Labeler = label ?? ((p) => ({ field: p, given: valueAt(partial, p) !== undefined }));
  const checked = validatePartial(partial, lab);
  const merged = deepMerge(base, checked);
  const r = scenarioSchema().safeParse(merged);
  if (!r.success) throw fromIssue(r.error.issues[0], merged, lab);
  const cfg = r.data as unknown as ScenarioConfig;
  const name = (p: string) => lab(p).field;
  // Blame the first of the involved fields the user actually set.
  const fail = (paths: string[], allowed: string): never => {
    const culprit = paths.find((p) => lab(p).given) ?? paths[0];
    throw errorAt(culprit, cfg, allowed, lab);
  };
  for (const check of sectionChecks()) check(cfg, fail, name);
  checkFaults(cfg, fail, name);
  checkFaultPlan(cfg, lab('faults.plan'));
  checkNotify(cfg, lab, fail);
  return cfg;
}

/** A policy that sends the host nothing has no notify path of its own: the default becomes its own. */
function checkNotify(cfg: ScenarioConfig, lab: Labeler, fail: (paths: string[], allowed: string) => never): void {
  const p = policyByName(cfg.policy);
  if (p.notifyPaths.includes(cfg.notify)) return;
  if (!lab('notify').given) {
    cfg.notify = p.notifyPaths[0];
    return;
  }
  fail(['notify'], `${cfg.policy} runs on ${p.notifyPaths.join(', ')} only${p.requests === 'none' ? ' (it sends the host no requests)' : ''}`);
}

function checkFaults(cfg: ScenarioConfig, fail: (paths: string[], allowed: string) => never, name: (p: string) => string): void {
  const endMs = cfg.durationMs + cfg.drainMs;
  for (const kind of ['crash', 'hang'] as const) {
    const f = cfg.faults[kind];
    // A fault aimed at a role the run does not start would never fire.
    if (f?.role === 'sidecore' && !runsSidecore(cfg)) {
      fail(
        [`faults.${kind}.role`],
        `${cfg.policy}/${cfg.notify} runs no sidecore thread (only policies that ask the host, on the sidecore path, do), so this fault would never fire`,
      );
    }
    if (f && f.afterMs >= endMs) {
      fail([`faults.${kind}.afterMs`], `the fault must fire before the run ends: ${name('durationMs')} + ${name('drainMs')} = ${endMs} ms`);
    }
  }
}

/** Read a JSON file holding a partial scenario. Errors name the file and the offending field. */
export function loadConfigFile(path: string): PartialScenario {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError('--config', path, code === 'ENOENT' ? 'file not found' : `cannot read it (${code ?? String(e)})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError('--config', path, `not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(json)) {
    throw new ConfigError('--config', path, 'must hold one JSON object, a partial scenario such as {"net": {"queueDepth": 128}}');
  }
  return validatePartial(json, (p) => ({ field: p, given: true, source: path }));
}
