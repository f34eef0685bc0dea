// The scenario flags of run and compare, made from the settings (one place per setting): each
// flag's help, default and allowed values come from its Setting; values are parsed with units.
import { Option, type Command } from 'commander';
import { COST_KEYS } from '../core/cost-table.js';
import { ConfigError } from '../core/errors.js';
import { allowedFor, type Setting } from '../core/settings.js';
import { ROLES } from '../core/types.js';
import { formatBytes, formatDuration, parseDuration, parseSize } from '../core/units.js';
import { deepMerge, loadConfigFile, valueAt, type FieldLabel, type Labeler, type PartialScenario } from '../lab/config.js';
import { TOP_SETTINGS, defaultScenario, flagSections } from '../lab/scenario.js';
import { MAX_GUEST_PAGES, PAGE_SIZE } from '../machine/layout.js';
import type { Opts } from './context.js';

/** A flag and the JSON path of the setting it sets. */
interface ScenarioFlag {
  setting: Setting;
  path: string;
}

const GUEST_MEM_ALLOWED = 'must be a multiple of 4 KiB between 4 KiB and 128 GiB (e.g. 64MiB, 1G, 128GiB)';
const HOST_MEM_ALLOWED = 'must be a multiple of 4 KiB, or 0 for no memory pressure (e.g. 8MiB, 1G)';
const FAULT_ALLOWED = `must be <role>@<time> with role one of ${ROLES.join(', ')} and a time like 300ms or 1.5s`;
const PLACEHOLDER: Record<Setting['kind'], string> = { text: '<name>', int: '<n>', num: '<x>', ms: '<d>', us: '<d>', guestMem: '<size>', hostMem: '<size>' };

/** Every scenario flag, top settings first, then each section's. */
export function scenarioFlags(): ScenarioFlag[] {
  const flags: ScenarioFlag[] = TOP_SETTINGS.map((setting) => ({ setting, path: setting.key }));
  for (const sec of flagSections()) for (const setting of sec.settings) flags.push({ setting, path: `${sec.key}.${setting.key}` });
  return flags.filter((f) => f.setting.flag);
}

const flagOf = (f: ScenarioFlag) => f.setting.flag!;

/** A value written the way one would type it (`3s`, `1GiB`). */
function typed(s: Setting, v: number | string): string {
  const compact = (x: string) => x.replace(' ', '');
  if (typeof v === 'string' || v === 0) return String(v);
  if (s.kind === 'ms') return compact(formatDuration(v));
  if (s.kind === 'us') return compact(formatDuration(v / 1000));
  if (s.kind === 'guestMem' || s.kind === 'hostMem') return compact(formatBytes(v * PAGE_SIZE));
  return String(v);
}

/** The help line: what it does, what it allows, its default. */
function helpOf(f: ScenarioFlag, defaultText?: string): string {
  const s = f.setting;
  const def = defaultText ?? typed(s, valueAt(defaultScenario(), f.path) as number | string);
  let range = '';
  if (s.kind === 'text') range = `: ${[...(s.values?.() ?? []).filter((v) => v !== ''), ...(s.accepts ? [s.accepts.text] : [])].join(' | ')}`;
  else if (s.min !== undefined && s.max !== undefined && s.kind !== 'guestMem') range = `, ${typed(s, s.min)}..${typed(s, s.max)}`;
  const note = s.note && s.kind !== 'guestMem' && s.kind !== 'hostMem' ? ` (${s.note})` : '';
  return `${s.help}${range}${note} (default ${def === '' ? 'none' : def})`;
}

const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

export function addScenarioOptions(cmd: Command, which: 'run' | 'compare', compareDuration: string): Command {
  for (const f of scenarioFlags()) {
    if (f.setting.runOnly && which !== 'run') continue;
    const def = which === 'compare' && f.path === 'durationMs' ? compareDuration : undefined;
    const arg = f.setting.bare !== undefined ? `[${PLACEHOLDER[f.setting.kind].slice(1, -1)}]` : PLACEHOLDER[f.setting.kind];
    const o = new Option(`${flagOf(f)} ${arg}`, helpOf(f, def));
    cmd.addOption(f.setting.hidden ? o.hideHelp() : o);
  }
  return cmd
    .option('--cost <key=value>', `override one modeled cost, repeatable; keys: ${COST_KEYS.join(', ')}`, collect)
    .option('--config <file.json>', 'read a partial scenario from a JSON file; flags override it')
    .option('--inject-crash <role@time>', 'crash a role at that time, e.g. device@300ms (stress tests)')
    .option('--balloon <size@time>', 'the guest balloon asks the host to take back that much memory at that time, e.g. 4MiB@20ms (every policy: each pinned page is force-unpinned if the policy lets go; refusals are reported)')
    .option('--inject-hang <role@time>', 'stall a role at that time, e.g. hypervisor@1s (stress tests)')
    .option('--trials <n>', `run ${which === 'run' ? 'the scenario' : 'every configuration'} n times, interleaved in a shuffled order seeded by --seed; figures are medians with 95% bootstrap intervals (default 1, at most ${MAX_TRIALS})`)
    .option('--json', 'print the report as JSON on stdout and nothing else')
    .option('--progress', 'show a progress bar on stderr (default: only when stderr is a terminal)')
    .option('--no-progress', 'never show a progress bar');
}

export const MAX_TRIALS = 100;

/** --trials: how many times each configuration runs (default 1). */
export function parseTrials(o: Opts): number {
  const raw = o.trials;
  if (raw === undefined) return 1;
  const text = String(raw).trim();
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > MAX_TRIALS) throw new ConfigError('--trials', String(raw), `must be an integer between 1 and ${MAX_TRIALS}`);
  return n;
}

function parseMemory(f: ScenarioFlag, raw: string): number {
  const guest = f.setting.kind === 'guestMem';
  const allowed = guest ? GUEST_MEM_ALLOWED : HOST_MEM_ALLOWED;
  let bytes: number;
  try {
    bytes = parseSize(raw, flagOf(f));
  } catch {
    throw new ConfigError(flagOf(f), raw, allowed);
  }
  const pages = bytes / PAGE_SIZE;
  if (!Number.isInteger(pages) || (guest && (pages < 1 || pages > MAX_GUEST_PAGES))) throw new ConfigError(flagOf(f), raw, allowed);
  return pages;
}

function parseFlagValue(f: ScenarioFlag, raw: string): number | string {
  const flag = flagOf(f);
  switch (f.setting.kind) {
    case 'text':
      return raw;
    case 'int':
      if (!/^[+-]?\d+$/.test(raw.trim())) throw new ConfigError(flag, raw, allowedFor(f.path));
      return Number(raw);
    case 'num':
      if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(raw.trim())) throw new ConfigError(flag, raw, allowedFor(f.path));
      return Number(raw);
    case 'ms':
      return parseDuration(raw, flag);
    case 'us':
      return parseDuration(raw, flag, 'us');
    case 'guestMem':
    case 'hostMem':
      return parseMemory(f, raw);
  }
}

function setAt(obj: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let cur = obj;
  for (const k of keys.slice(0, -1)) cur = (cur[k] ??= {}) as Record<string, unknown>;
  cur[keys[keys.length - 1]] = value;
}

function parseCost(raw: string): [string, number] {
  const m = /^\s*([A-Za-z]\w*)\s*=\s*(.*?)\s*$/.exec(raw);
  if (!m) throw new ConfigError('--cost', raw, `must be key=value with key one of ${COST_KEYS.join(', ')}`);
  if (!(COST_KEYS as string[]).includes(m[1])) {
    throw new ConfigError('--cost', raw, `unknown cost key "${m[1]}"; allowed keys are ${COST_KEYS.join(', ')}`);
  }
  const text = m[2].replace(/_/g, '');
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text)) {
    throw new ConfigError('--cost', raw, `the value must be a number (${allowedFor(`costTable.${m[1]}`)})`);
  }
  return [m[1], Number(text)];
}

function parseFault(flag: string, raw: string): { role: string; afterMs: number } {
  const m = /^\s*([a-z]+)\s*@\s*(.+)$/i.exec(raw);
  if (!m || !(ROLES as readonly string[]).includes(m[1].toLowerCase())) throw new ConfigError(flag, raw, FAULT_ALLOWED);
  let afterMs: number;
  try {
    afterMs = parseDuration(m[2], flag);
  } catch {
    throw new ConfigError(flag, raw, FAULT_ALLOWED);
  }
  return { role: m[1].toLowerCase(), afterMs };
}

export interface ScenarioInput {
  partial: PartialScenario;
  label: Labeler;
}

const BALLOON_ALLOWED = 'must be <size>@<time>, a multiple of 4 KiB and a time, e.g. 4MiB@20ms';

function parseBalloon(raw: string): { pages: number; atMs: number } {
  const m = /^\s*([^@]+?)\s*@\s*(.+?)\s*$/.exec(raw);
  if (!m) throw new ConfigError('--balloon', raw, BALLOON_ALLOWED);
  let bytes: number;
  let atMs: number;
  try {
    bytes = parseSize(m[1]);
    atMs = parseDuration(m[2], '--balloon');
  } catch {
    throw new ConfigError('--balloon', raw, BALLOON_ALLOWED);
  }
  const pages = bytes / PAGE_SIZE;
  if (!Number.isInteger(pages) || pages < 1 || atMs < 0) throw new ConfigError('--balloon', raw, BALLOON_ALLOWED);
  return { pages, atMs };
}

/** --cost and --inject-* into the flags object, with where each came from. */
function extraFlags(o: Opts, given: (path: string, field: string, raw: string, value: unknown) => void, origins: Map<string, FieldLabel>): void {
  for (const raw of (o.cost as string[] | undefined) ?? []) {
    const [key, value] = parseCost(raw);
    given(`costTable.${key}`, '--cost', raw, value);
  }
  if (typeof o.balloon === 'string') {
    const b = parseBalloon(o.balloon);
    given('host.balloonPages', '--balloon', o.balloon, b.pages);
    given('host.balloonAtMs', '--balloon', o.balloon, b.atMs);
  }
  for (const kind of ['crash', 'hang'] as const) {
    const flag = `--inject-${kind}`;
    const raw = o[kind === 'crash' ? 'injectCrash' : 'injectHang'];
    if (typeof raw !== 'string') continue;
    given(`faults.${kind}`, flag, raw, parseFault(flag, raw));
    origins.set(`faults.${kind}.role`, { field: flag, raw, given: true });
    origins.set(`faults.${kind}.afterMs`, { field: flag, raw, given: true });
  }
}

/** Flags (and --config) -> a partial scenario, plus where each value came from for error messages. */
export function scenarioInput(o: Opts): ScenarioInput {
  const all = scenarioFlags();
  const origins = new Map<string, FieldLabel>();
  const flags: Record<string, unknown> = {};
  const given = (path: string, field: string, raw: string, value: unknown) => {
    setAt(flags, path, value);
    origins.set(path, { field, raw, given: true });
  };
  for (const f of all) {
    let raw = o[new Option(flagOf(f)).attributeName()];
    if (raw === true && f.setting.bare !== undefined) raw = f.setting.bare; // the flag alone
    if (typeof raw === 'string') given(f.path, flagOf(f), raw, parseFlagValue(f, raw));
  }
  extraFlags(o, given, origins);
  const file = typeof o.config === 'string' ? o.config : undefined;
  const fromFile = file ? loadConfigFile(file) : {};
  const partial = deepMerge(fromFile, flags) as PartialScenario; // flags override the file
  const byPath = new Map(all.map((f) => [f.path, flagOf(f)]));
  const label: Labeler = (path) => {
    const from = origins.get(path);
    if (from) return from;
    if (file && valueAt(fromFile, path) !== undefined) return { field: path, given: true, source: file };
    return { field: byPath.get(path) ?? path, given: false };
  };
  return { partial, label };
}
