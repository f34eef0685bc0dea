// The whole scenario: the base settings every run has, plus the sections of every registered
// policy and workload. Defaults, the zod schema and the CLI flags all come from these lists.
import { z } from 'zod';
import { COST_KEYS, DEFAULT_COST_TABLE } from '../core/cost-table.js';
import { CLOCKS } from '../core/virtual-time.js';
import { noteAllowed, section, sectionDefaults, sectionSchema, settingSchema, type ConfigSection, type Setting } from '../core/settings.js';
import { NOTIFY_PATHS, PROBE_MODES, ROLES, type BaseScenario, type CostTable } from '../core/types.js';
import { MAX_GUEST_PAGES, MAX_VCPUS } from '../machine/layout.js';
import type { CoiommuConfig } from '../policies/coiommu/config.js';
import { allPolicies, policyNames, variantNames } from '../policies/index.js';
import type { ViommuConfig } from '../policies/viommu/config.js';
import { allWorkloads, workloadNames } from '../workloads/index.js';
import { faultPlanSchema } from './fault-schema.js';
import type { NetConfig } from '../workloads/net/config.js';

/** A scenario with the built-in sections typed (a plug-in's own section is there too, untyped). */
export type ScenarioConfig = BaseScenario & { net: NetConfig; coiommu: CoiommuConfig; viommu: ViommuConfig };

/** Settings at the top of the scenario. */
export const TOP_SETTINGS: readonly Setting[] = [
  { key: 'policy', flag: '--policy', kind: 'text', values: policyNames, default: 'coiommu', help: 'memory policy', runOnly: true },
  { key: 'notify', flag: '--notify', kind: 'text', values: () => NOTIFY_PATHS, default: 'sidecore', help: 'how requests reach the host', runOnly: true },
  { key: 'workload', flag: '--workload', kind: 'text', values: workloadNames, default: 'net', help: 'what drives the guest' },
  { key: 'durationMs', flag: '--duration', kind: 'ms', gt: 0, max: 86_400_000, unit: 'ms', note: 'at most 24 h', default: 3000, help: 'how long the guests run, at most 24h' },
  { key: 'ops', flag: '--ops', kind: 'int', min: 0, max: 2 ** 40, note: '0 = run for --duration', default: 0, help: 'end the run after this many DMAs (comparable across machines; --duration stays a wall-clock bound)' },
  { key: 'clock', flag: '--clock', kind: 'text', values: () => CLOCKS, default: 'virtual', help: "what the policies' timers run on: the modeled clock (virtual), or this machine's (wall)" },
  { key: 'guestPages', flag: '--guest-mem', kind: 'guestMem', min: 1, max: MAX_GUEST_PAGES, note: '4 KiB pages, up to 128 GiB', default: 262_144, help: 'guest memory, a multiple of 4 KiB up to 128GiB' },
  { key: 'vcpus', flag: '--vcpus', kind: 'int', min: 1, max: MAX_VCPUS, default: 1, help: 'vCPUs, one guest worker each' },
  { key: 'seed', flag: '--seed', kind: 'int', min: 0, max: 2 ** 32 - 1, default: 1, help: 'random seed' },
  { key: 'watchdogMs', flag: '--watchdog', kind: 'ms', min: 100, max: 600_000, unit: 'ms', default: 3000, help: 'a role whose heartbeat stalls this long is declared hung' },
  { key: 'drainMs', flag: '--drain', kind: 'ms', min: 0, max: 60_000, unit: 'ms', default: 200, help: 'idle time after the guests stop while lazy unpinning continues' },
  { key: 'variant', flag: '--variant', kind: 'text', values: variantNames, default: 'none', help: 'planted protocol bug for experiments', hidden: true },
];

/** Sections every run has. */
export const BASE_SECTIONS: readonly ConfigSection[] = [
  section('protection', [
    { key: 'probe', flag: '--probe', kind: 'text', values: () => PROBE_MODES, default: 'unmapped', help: 'protection oracle (unmapped: the device probes recently unmapped addresses)' },
  ]),
  section('host', [
    { key: 'memoryPages', flag: '--host-mem', kind: 'hostMem', min: 0, note: '0 = no memory pressure', default: 2048, help: 'host memory budget the reclaimer keeps resident frames under, 0 = none' },
    // below guest memory, pins fail when every frame is taken: the guest's re-check and map failures happen
    { key: 'frames', flag: '--host-frames', kind: 'hostMem', min: 0, note: '0 = one per guest page', default: 0, help: 'host frames that can back guest pages (below guest memory: pins can fail), 0 = one per guest page' },
    // data frames are capped at guest pages
    { key: 'dataFrames', flag: '--data-frames', kind: 'int', min: 1, max: 1 << 24, default: 1 << 20, help: 'host frames for DMA payloads (only touched pages get one)' },
    // set by --balloon <size>@<time> (src/cli/scenario-flags.ts) or a config file
    { key: 'balloonPages', kind: 'hostMem', min: 0, default: 0, help: 'balloon: pages the host asks back' },
    { key: 'balloonAtMs', kind: 'ms', min: 0, max: 86_400_000, unit: 'ms', default: 0, help: "balloon: when, on the policies' clock" },
  ]),
  section('notifyPath', [
    { key: 'exitDelayUs', flag: '--exit-delay', kind: 'us', min: 0, max: 100_000, unit: 'µs', default: 0, help: 'modeled VM-exit delay busy-waited per trapped request, e.g. 5us' },
    { key: 'spinUs', flag: '--spin', kind: 'us', min: 0, max: 100_000, unit: 'µs', default: 50, help: 'how long a waiting role spins before it parks' },
    // a waker descheduled between its store and its notify is late, not lost: the grace tells them apart
    { key: 'wakeGraceMs', flag: '--wake-grace', kind: 'ms', min: 0, max: 60_000, unit: 'ms', note: '0 = no lost-wake-up check', default: 1000, help: 'a wait that timed out on a changed word is a lost wake-up unless its notify comes within this grace' },
  ]),
];

/** The cost table as a section (set with --cost key=value or in a config file). */
export const COST_SECTION = section<CostTable>(
  'costTable',
  COST_KEYS.map((key): Setting => ({ key, kind: 'num', ...(key === 'cpuGhz' ? { gt: 0 } : { min: 0 }), default: DEFAULT_COST_TABLE[key], help: key })),
);

/** Every section with flags: base, then each registered policy's and workload's (each once). */
export function flagSections(): ConfigSection[] {
  const seen = new Set<string>();
  const out: ConfigSection[] = [];
  for (const s of [...BASE_SECTIONS, ...allPolicies().map((p) => p.config), ...allWorkloads().map((w) => w.config)]) {
    if (!s || seen.has(s.key)) continue;
    seen.add(s.key);
    out.push(s);
  }
  return out;
}

const allSections = (): ConfigSection[] => [...flagSections(), COST_SECTION];

export function defaultScenario(): ScenarioConfig {
  const top = Object.fromEntries(TOP_SETTINGS.map((s) => [s.key, s.default]));
  const sections = Object.fromEntries(allSections().map((s) => [s.key, sectionDefaults(s)]));
  return { ...top, ...sections, faults: {} } as unknown as ScenarioConfig;
}

function faultSchema(kind: 'crash' | 'hang') {
  const roles = `allowed values are ${ROLES.join(', ')}`;
  noteAllowed(`faults.${kind}.role`, roles);
  const after: Setting = { key: 'afterMs', kind: 'ms', min: 0, unit: 'ms', default: 0, help: '' };
  return z.strictObject({ role: z.enum(ROLES, { error: roles }), afterMs: settingSchema(`faults.${kind}.afterMs`, after) });
}

/** The full scenario's schema, from the registries as they stand (a plug-in added later is in it). */
export function scenarioSchema(): z.ZodObject {
  const shape: Record<string, z.ZodType> = {};
  for (const s of TOP_SETTINGS) shape[s.key] = settingSchema(s.key, s);
  for (const s of allSections()) shape[s.key] = sectionSchema(s);
  shape.faults = z.strictObject({
    crash: faultSchema('crash').optional(),
    hang: faultSchema('hang').optional(),
    ...faultPlanSchema(),
  });
  return z.strictObject(shape);
}

/** A partial scenario (config files, CLI flags): every field optional, unknown keys rejected. */
export function partialScenarioSchema(): z.ZodObject {
  const full = scenarioSchema().shape as Record<string, z.ZodType>;
  const shape: Record<string, z.ZodType> = {};
  for (const [k, v] of Object.entries(full)) shape[k] = (v instanceof z.ZodObject && k !== 'faults' ? v.partial() : v).optional();
  return z.strictObject(shape);
}

/** The section checks (cross-field rules) of every section the scenario has. */
export const sectionChecks = () => allSections().flatMap((s) => (s.check ? [s.check] : []));
