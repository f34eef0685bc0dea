// Scenario configuration: defaults, the (partial) schema, merging and validation.
// Every rejected value becomes a ConfigError naming the field, the value and what is allowed.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import {
  NOTIFY_PATHS,
  POLICIES,
  PROBE_MODES,
  hasHostRequests,
  ROLES,
  VARIANTS,
  WORKLOADS,
  type CostTable,
  type ScenarioConfig,
} from './types.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
  /** CLI flag (`--policy`) or JSON path (`coiommu.unpinIntervalMs`). */
  readonly field: string;
  /** The value as the user wrote it; undefined when it is missing. */
  readonly value: string | undefined;
  /** What is allowed, e.g. `allowed values are static, coiommu`. */
  readonly allowed: string;
  /** Config file the value came from, if any. */
  readonly source?: string;
  /** JSON path in the scenario, when the field names one. */
  readonly path?: string;

  constructor(field: string, value: string | undefined, allowed: string, opts: { source?: string; path?: string } = {}) {
    const where = opts.source ? ` in config file ${opts.source}` : '';
    super(value === undefined ? `missing ${field}${where}: ${allowed}` : `invalid ${field} "${value}"${where}: ${allowed}`);
    this.field = field;
    this.value = value;
    this.allowed = allowed;
    this.source = opts.source;
    this.path = opts.path;
  }
}

export const DEFAULT_COST_TABLE: CostTable = Object.freeze({
  // Nominal clock of the machines in the vIOMMU paper (ATC'11); used to turn ns into cycles.
  cpuGhz: 2.4,
  // A handful of atomic RMW instructions on one cache line per page (coIOMMU, ATC'20 DTT design).
  dttUpdateCycles: 60,
  // Bare-metal IOMMU (un)map of one page (vIOMMU, ATC'11: 6,909 cycles).
  iommuMapCycles: 6909,
  // Direct cost of one VM exit + entry on recent Intel parts (~2,000 cycles; ELI / vIOMMU papers).
  exitCycles: 2000,
  // Trap-and-emulate per (un)map minus the bare-metal work and the exit's direct cost:
  // 34,969 - 6,909 - 2,000 (vIOMMU, ATC'11). A trapped request costs exitCycles + this.
  trapRequestCycles: 26060,
  // Sidecore-emulated per (un)map minus the bare-metal work: 9,225 - 6,909 (vIOMMU, ATC'11).
  sidecoreRequestCycles: 2316,
  // Host pin (fault in + get_user_pages-style accounting) without the IOMMU map; an estimate
  // in line with the coIOMMU paper's per-page pin overhead, not a measured figure.
  pinPageCycles: 3000,
  // One IOTLB miss costs ~197 ns per memory read of the page walk (F&S, SOSP'24).
  iotlbMissReadNs: 197,
  // One I/O page fault, end to end (~200 µs; SCIMITAR-style fault-driven pinning).
  ioPageFaultNs: 200_000,
});

export const COST_KEYS = Object.keys(DEFAULT_COST_TABLE) as (keyof CostTable)[];

export function defaultScenario(): ScenarioConfig {
  return {
    policy: 'coiommu',
    notify: 'sidecore',
    workload: 'net',
    guestPages: 262_144, // 1 GiB
    vcpus: 1,
    durationMs: 3000,
    seed: 1,
    net: { queueDepth: 64, batch: 16, bufferPages: 1, reuseDistance: 256, rotateMs: 500 },
    coiommu: { unpinIntervalMs: 50, unpinGenThreshold: 10, unpinLimit: 0, speculativePages: 0 },
    viommu: {
      queueEntries: 256, // VT-d drivers allocate one 4 KiB page of 16-byte descriptors
      iotlbEntries: 64,
      iotlbWays: 4,
      // Linux's IOVA flush queue holds 256 entries (or 10 ms) and ends with one domain-wide flush;
      // here each entry is its own range descriptor, so 255 of them plus the wait descriptor fill
      // the 256-entry invalidation queue exactly: one submission (one exit) per full batch.
      flushQueueEntries: 255,
      flushTimeoutMs: 10,
      optimisticTimeoutMs: 2, // "a few ms" (vIOMMU, ATC'11 optimistic teardown)
      optimisticQuota: 512, // room for the default net pool (reuse distance 256 + queue depth 64)
    },
    protection: { probe: 'unmapped' },
    host: { memoryPages: 2048, dataFrames: 1 << 20 }, // data frames are capped at guest pages
    notifyPath: { exitDelayUs: 0, spinUs: 50 },
    watchdogMs: 3000,
    drainMs: 200,
    costTable: { ...DEFAULT_COST_TABLE },
    faults: {},
    variant: 'none',
  };
}

export const MAX_GUEST_PAGES = 32 * 1024 * 1024; // 128 GiB of 4 KiB pages
export const PAGE_SIZE = 4096;

// ---- schema ---------------------------------------------------------------------------------

/** What each JSON path allows, in words (the CLI reuses it for values it cannot even parse). */
const ALLOWED = new Map<string, string>();

interface Range {
  int?: boolean;
  min?: number;
  max?: number;
  /** Exclusive lower bound. */
  gt?: number;
  unit?: string;
  note?: string;
}

function num(path: string, r: Range) {
  const u = (n: number) => (r.unit ? `${n} ${r.unit}` : `${n}`);
  const what = r.int ? 'an integer' : 'a number';
  const lo = r.gt !== undefined ? `> ${u(r.gt)}` : r.min !== undefined ? `>= ${u(r.min)}` : '';
  let text: string;
  if (r.min !== undefined && r.max !== undefined) text = `must be ${what} between ${u(r.min)} and ${u(r.max)}`;
  else if (r.max !== undefined) text = `must be ${what} ${lo} and <= ${u(r.max)}`;
  else text = `must be ${what} ${lo}`;
  if (r.note) text += ` (${r.note})`;
  ALLOWED.set(path, text);
  const ok = (v: number) =>
    (!r.int || Number.isInteger(v)) &&
    (r.min === undefined || v >= r.min) &&
    (r.gt === undefined || v > r.gt) &&
    (r.max === undefined || v <= r.max);
  return z.number({ error: text }).refine(ok, { error: text });
}

function oneOf<const T extends readonly [string, ...string[]]>(path: string, values: T) {
  const text = `allowed values are ${values.join(', ')}`;
  ALLOWED.set(path, text);
  return z.enum(values, { error: text });
}

const isPow2 = (n: number) => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
const cost = (key: keyof CostTable) => num(`costTable.${key}`, { min: 0 });
const fault = (kind: 'crash' | 'hang') =>
  z.strictObject({
    role: oneOf(`faults.${kind}.role`, ROLES),
    afterMs: num(`faults.${kind}.afterMs`, { min: 0, unit: 'ms' }),
  });

const net = z.strictObject({
  queueDepth: num('net.queueDepth', { int: true, min: 1, max: 1024 }),
  batch: num('net.batch', { int: true, min: 1, max: 256, note: 'and at most the queue depth' }),
  bufferPages: num('net.bufferPages', { int: true, min: 1, max: 16 }),
  reuseDistance: num('net.reuseDistance', { int: true, min: 0, max: 65_536 }),
  rotateMs: num('net.rotateMs', { min: 0, unit: 'ms', note: '0 = never' }),
});
const coiommu = z.strictObject({
  unpinIntervalMs: num('coiommu.unpinIntervalMs', { min: 1, max: 600_000, unit: 'ms' }),
  unpinGenThreshold: num('coiommu.unpinGenThreshold', { int: true, min: 1, max: 1000 }),
  unpinLimit: num('coiommu.unpinLimit', { int: true, min: 0, note: '0 = no limit' }),
  speculativePages: num('coiommu.speculativePages', { int: true, min: 0, max: 64 }),
});
const viommu = z.strictObject({
  queueEntries: num('viommu.queueEntries', { int: true, min: 4, max: 65_536, note: 'a power of two' }).refine(isPow2, {
    error: 'must be a power of two between 4 and 65536',
  }),
  iotlbEntries: num('viommu.iotlbEntries', { int: true, min: 1, max: 65_536, note: 'entries / ways must be a power of two' }),
  iotlbWays: num('viommu.iotlbWays', { int: true, min: 1, max: 64, note: 'and at most the IOTLB entries' }),
  flushQueueEntries: num('viommu.flushQueueEntries', { int: true, min: 1, max: 65_536 }),
  flushTimeoutMs: num('viommu.flushTimeoutMs', { gt: 0, max: 60_000, unit: 'ms' }),
  optimisticTimeoutMs: num('viommu.optimisticTimeoutMs', { gt: 0, max: 60_000, unit: 'ms' }),
  optimisticQuota: num('viommu.optimisticQuota', { int: true, min: 1, max: 65_536 }),
});
const protection = z.strictObject({ probe: oneOf('protection.probe', PROBE_MODES) });
const host = z.strictObject({
  memoryPages: num('host.memoryPages', { int: true, min: 0, note: '0 = no memory pressure' }),
  dataFrames: num('host.dataFrames', { int: true, min: 1, max: 1 << 24 }),
});
const notifyPath = z.strictObject({
  exitDelayUs: num('notifyPath.exitDelayUs', { min: 0, max: 100_000, unit: 'µs' }),
  spinUs: num('notifyPath.spinUs', { min: 0, max: 100_000, unit: 'µs' }),
});
const costTable = z.strictObject({
  cpuGhz: num('costTable.cpuGhz', { gt: 0 }),
  dttUpdateCycles: cost('dttUpdateCycles'),
  iommuMapCycles: cost('iommuMapCycles'),
  exitCycles: cost('exitCycles'),
  trapRequestCycles: cost('trapRequestCycles'),
  sidecoreRequestCycles: cost('sidecoreRequestCycles'),
  pinPageCycles: cost('pinPageCycles'),
  iotlbMissReadNs: cost('iotlbMissReadNs'),
  ioPageFaultNs: cost('ioPageFaultNs'),
});
const faults = z.strictObject({ crash: fault('crash').optional(), hang: fault('hang').optional() });

export const ScenarioSchema = z.strictObject({
  policy: oneOf('policy', POLICIES),
  notify: oneOf('notify', NOTIFY_PATHS),
  workload: oneOf('workload', WORKLOADS),
  guestPages: num('guestPages', { int: true, min: 1, max: MAX_GUEST_PAGES, note: '4 KiB pages, up to 128 GiB' }),
  vcpus: num('vcpus', { int: true, min: 1, max: 8 }),
  durationMs: num('durationMs', { gt: 0, max: 86_400_000, unit: 'ms', note: 'at most 24 h' }),
  seed: num('seed', { int: true, min: 0, max: 2 ** 32 - 1 }),
  net,
  coiommu,
  viommu,
  protection,
  host,
  notifyPath,
  watchdogMs: num('watchdogMs', { min: 100, max: 600_000, unit: 'ms' }),
  drainMs: num('drainMs', { min: 0, max: 60_000, unit: 'ms' }),
  costTable,
  faults,
  variant: oneOf('variant', VARIANTS),
});

const S = ScenarioSchema.shape;
/** A partial scenario (config files, CLI flags): every field optional, unknown keys rejected. */
export const PartialScenarioSchema = z.strictObject({
  policy: S.policy.optional(),
  notify: S.notify.optional(),
  workload: S.workload.optional(),
  guestPages: S.guestPages.optional(),
  vcpus: S.vcpus.optional(),
  durationMs: S.durationMs.optional(),
  seed: S.seed.optional(),
  net: net.partial().optional(),
  coiommu: coiommu.partial().optional(),
  viommu: viommu.partial().optional(),
  protection: protection.partial().optional(),
  host: host.partial().optional(),
  notifyPath: notifyPath.partial().optional(),
  watchdogMs: S.watchdogMs.optional(),
  drainMs: S.drainMs.optional(),
  costTable: costTable.partial().optional(),
  faults: faults.optional(),
  variant: S.variant.optional(),
});
export type PartialScenario = z.infer<typeof PartialScenarioSchema>;

// Compile-time check that the schema and the contract in types.ts agree, both ways.
const _toConfig = (x: z.output<typeof ScenarioSchema>): ScenarioConfig => x;
const _fromConfig = (x: ScenarioConfig): z.input<typeof ScenarioSchema> => x;
void _toConfig;
void _fromConfig;

/** Allowed values of a JSON path, in words (`must be an integer between 1 and 8`). */
export function allowedFor(path: string): string {
  return ALLOWED.get(path) ?? 'see viommu-lab run --help';
}

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
  let s: z.ZodType = ScenarioSchema;
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
  const r = PartialScenarioSchema.safeParse(partial);
  if (!r.success) throw fromIssue(r.error.issues[0], partial, label ?? ((p) => ({ field: p, given: true })));
  return r.data;
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
  const r = ScenarioSchema.safeParse(merged);
  if (!r.success) throw fromIssue(r.error.issues[0], merged, lab);
  const cfg: ScenarioConfig = r.data;

  const name = (p: string) => lab(p).field;
  // Blame the first of the involved fields the user actually set.
  const fail = (paths: string[], allowed: string): never => {
    const culprit = paths.find((p) => lab(p).given) ?? paths[0];
    throw errorAt(culprit, cfg, allowed, lab);
  };

  const { net: n } = cfg;
  if (n.batch > n.queueDepth) {
    const why = 'a doorbell cannot post more descriptors than the ring holds';
    if (lab('net.queueDepth').given && !lab('net.batch').given) {
      fail(['net.queueDepth'], `must be at least ${name('net.batch')} (${n.batch}): ${why}`);
    }
    fail(['net.batch'], `must be at most ${name('net.queueDepth')} (${n.queueDepth}): ${why}`);
  }

  const poolPages = cfg.vcpus * (n.reuseDistance + n.queueDepth) * n.bufferPages;
  if (poolPages > cfg.guestPages) {
    const shrink = ['vcpus', 'net.reuseDistance', 'net.queueDepth', 'net.bufferPages'];
    fail(
      ['guestPages', ...shrink],
      `the buffer pools need ${name('vcpus')} × (${name('net.reuseDistance')} + ${name('net.queueDepth')}) × ${name('net.bufferPages')}` +
        ` = ${cfg.vcpus} × (${n.reuseDistance} + ${n.queueDepth}) × ${n.bufferPages} = ${poolPages} guest pages,` +
        ` but ${name('guestPages')} gives only ${cfg.guestPages} pages; raise ${name('guestPages')}` +
        ` or lower ${shrink.map(name).slice(0, -1).join(', ')} or ${name(shrink[shrink.length - 1])}`,
    );
  }

  const v = cfg.viommu;
  if (v.iotlbWays > v.iotlbEntries || v.iotlbEntries % v.iotlbWays !== 0 || !isPow2(v.iotlbEntries / v.iotlbWays)) {
    fail(
      ['viommu.iotlbWays', 'viommu.iotlbEntries'],
      `the IOTLB has ${name('viommu.iotlbEntries')} / ${name('viommu.iotlbWays')} sets, which must be a whole power of two` +
        ` (got ${v.iotlbEntries} / ${v.iotlbWays}); e.g. 64 entries with 1, 2, 4, 8, 16, 32 or 64 ways`,
    );
  }

  const endMs = cfg.durationMs + cfg.drainMs;
  for (const kind of ['crash', 'hang'] as const) {
    const f = cfg.faults[kind];
    // Only coiommu/sidecore runs a sidecore thread; a fault aimed at a missing role would never fire.
    if (f?.role === 'sidecore' && !(hasHostRequests(cfg.policy) && cfg.notify === 'sidecore')) {
      fail(
        [`faults.${kind}.role`],
        `${cfg.policy}/${cfg.notify} runs no sidecore thread (only coiommu and viommu-* with sidecore do), so this fault would never fire`,
      );
    }
    if (f && f.afterMs >= endMs) {
      fail(
        [`faults.${kind}.afterMs`],
        `the fault must fire before the run ends: ${name('durationMs')} + ${name('drainMs')} = ${endMs} ms`,
      );
    }
  }
  return cfg;
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
