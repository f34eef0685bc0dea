// One place per setting: its key, CLI flag, kind, range, default and help. The scenario schema
// (zod), the CLI flags, their --help text and every "what is allowed" message are made from it.
import { z } from 'zod';
import type { BaseScenario, SectionBag } from './types.js';

/** How a setting is typed on the command line (sizes and durations get units). */
export type SettingKind = 'text' | 'int' | 'num' | 'ms' | 'us' | 'guestMem' | 'hostMem';

export interface Setting {
  /** Key inside its section (or at the top of the scenario). */
  key: string;
  /** CLI flag, e.g. `--unpin-interval`; none: only a config file sets it. */
  flag?: string;
  kind: SettingKind;
  /** Allowed values of a text setting. */
  values?: () => readonly string[];
  /** A text setting that also takes free-form values (a file, `zipf:<s>`): the test, and its words. */
  accepts?: { test: (v: string) => boolean; text: string };
  /** The flag alone (no value) means this value, e.g. `--trace-skip-bad` = `on`. */
  bare?: string;
  int?: boolean;
  min?: number;
  max?: number;
  /** Exclusive lower bound. */
  gt?: number;
  unit?: string;
  /** Said after the range: `0 = never`, `a power of two`. */
  note?: string;
  default: number | string;
  help: string;
  hidden?: boolean;
  /** compare sets it itself (policy, notify). */
  runOnly?: boolean;
}

/** Checks across fields: call `fail` with the involved paths (the first one the user set is blamed). */
export type SectionCheck = (
  cfg: BaseScenario & SectionBag,
  fail: (paths: string[], allowed: string) => never,
  name: (path: string) => string,
) => void;

/** A policy's or workload's part of the scenario, under `key`. */
export interface ConfigSection<T = unknown> {
  key: string;
  settings: readonly Setting[];
  check?: SectionCheck;
  /** Only for the type: the section's shape. */
  readonly _type?: T;
}

export function section<T>(key: string, settings: readonly Setting[], check?: SectionCheck): ConfigSection<T> {
  return { key, settings, check };
}

/** The section's defaults, from its settings. */
export function sectionDefaults<T>(s: ConfigSection<T>): T {
  return Object.fromEntries(s.settings.map((x) => [x.key, x.default])) as T;
}

/** What a setting allows, in words (`must be an integer between 1 and 8 (a power of two)`). */
export function allowedText(s: Setting): string {
  if (s.kind === 'text' && s.accepts) return `allowed values are ${[...(s.values?.() ?? []), s.accepts.text].join(', ')}`;
  if (s.kind === 'text') return `allowed values are ${(s.values?.() ?? []).join(', ')}`;
  const u = (n: number) => (s.unit ? `${n} ${s.unit}` : `${n}`);
  const what = s.int || s.kind === 'int' ? 'an integer' : 'a number';
  const lo = s.gt !== undefined ? `> ${u(s.gt)}` : s.min !== undefined ? `>= ${u(s.min)}` : '';
  let text: string;
  if (s.min !== undefined && s.max !== undefined) text = `must be ${what} between ${u(s.min)} and ${u(s.max)}`;
  else if (s.max !== undefined) text = `must be ${what} ${lo} and <= ${u(s.max)}`;
  else text = `must be ${what} ${lo}`;
  return s.note ? `${text} (${s.note})` : text;
}

/** The zod schema of one setting; `path` is its JSON path, for messages. */
export function settingSchema(path: string, s: Setting): z.ZodType {
  const text = allowedText(s);
  ALLOWED.set(path, text);
  if (s.kind === 'text') {
    const values = s.values?.() ?? [];
    return z.string({ error: text }).refine((v) => values.includes(v) || s.accepts?.test(v) === true, { error: text });
  }
  const isInt = s.int || s.kind === 'int' || s.kind === 'guestMem' || s.kind === 'hostMem';
  const ok = (v: number) =>
    (!isInt || Number.isInteger(v)) &&
    (s.min === undefined || v >= s.min) &&
    (s.gt === undefined || v > s.gt) &&
    (s.max === undefined || v <= s.max);
  return z.number({ error: text }).refine(ok, { error: text });
}

/** A section's strict object schema (unknown keys rejected). */
export function sectionSchema(sec: ConfigSection): z.ZodObject {
  return z.strictObject(Object.fromEntries(sec.settings.map((s) => [s.key, settingSchema(`${sec.key}.${s.key}`, s)])));
}

/** What each JSON path allows, in words (filled as schemas are built). */
const ALLOWED = new Map<string, string>();

export function allowedFor(path: string): string {
  return ALLOWED.get(path) ?? 'see viommu-lab run --help';
}

/** Record an allowed-text for a path that has no Setting (cost table, faults). */
export function noteAllowed(path: string, text: string): void {
  ALLOWED.set(path, text);
}
