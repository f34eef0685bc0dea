// The command line: `run` one scenario or `compare` several on the same base configuration.
// main() returns the exit code: 0 ok, 1 the run failed, 2 bad usage or configuration.
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import cliProgress from 'cli-progress';
import { Command, CommanderError, Option } from 'commander';
import {
  COST_KEYS,
  ConfigError,
  MAX_GUEST_PAGES,
  PAGE_SIZE,
  allowedFor,
  deepMerge,
  defaultScenario,
  loadConfigFile,
  resolveScenario,
  valueAt,
  type FieldLabel,
  type Labeler,
  type PartialScenario,
} from './run/config.js';
import { EXPLORE_COMMANDS, registerExploreCommands } from './explore/cli.js';
import type { RunOptions } from './run/orchestrator.js';
import { fmtInt, formatCompareTable, formatRunReport } from './run/table.js';
import {
  COMPARISON_PAIRS,
  NOTIFY_PATHS,
  POLICIES,
  PROBE_MODES,
  ROLES,
  WORKLOADS,
  type NotifyPath,
  type Policy,
  type RunReport,
  type ScenarioConfig,
} from './run/types.js';
import { DURATION_SYNTAX, formatBytes, formatDuration, parseDuration, parseSize } from './run/units.js';

export type RunScenario = (cfg: ScenarioConfig, opts?: RunOptions) => Promise<RunReport>;

export interface CliIO {
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  /** Whether stderr is a terminal, for the progress bar default (default: process.stderr.isTTY). */
  stderrIsTTY?: boolean;
  /** Stand-in for the orchestrator (tests). */
  runScenario?: RunScenario;
}

const NAME = 'viommu-lab';
const COMMANDS = ['run', 'compare'] as const;
const ALL_COMMANDS: readonly string[] = [...COMMANDS, ...EXPLORE_COMMANDS];
const DEFAULT_PAIRS = COMPARISON_PAIRS;
/** compare's per-run duration unless --duration (or --config) says otherwise: 10 runs stay under ~35 s. */
const COMPARE_DURATION_MS = 2000;

// ---- scenario flags (shared by run and compare) ---------------------------------------------

type Kind = 'text' | 'int' | 'ms' | 'us' | 'guestMem' | 'hostMem';
interface ScenarioFlag {
  flags: string;
  path: string;
  kind: Kind;
  help: string;
  hidden?: boolean;
  /** compare sets policy/notify itself (see --policies). */
  runOnly?: boolean;
}

const GUEST_MEM_ALLOWED = 'must be a multiple of 4 KiB between 4 KiB and 128 GiB (e.g. 64MiB, 1G, 128GiB)';
const HOST_MEM_ALLOWED = 'must be a multiple of 4 KiB, or 0 for no memory pressure (e.g. 8MiB, 1G)';
const FAULT_ALLOWED = `must be <role>@<time> with role one of ${ROLES.join(', ')} and a time like 300ms or 1.5s`;

const SCENARIO_FLAGS: ScenarioFlag[] = [
  { flags: '--policy <name>', path: 'policy', kind: 'text', help: `memory policy: ${POLICIES.join(' | ')}`, runOnly: true },
  { flags: '--notify <path>', path: 'notify', kind: 'text', help: `how requests reach the host: ${NOTIFY_PATHS.join(' | ')}`, runOnly: true },
  { flags: '--workload <name>', path: 'workload', kind: 'text', help: `what drives the guest: ${WORKLOADS.join(' | ')}` },
  { flags: '--duration <d>', path: 'durationMs', kind: 'ms', help: 'how long the guests run, at most 24h' },
  { flags: '--guest-mem <size>', path: 'guestPages', kind: 'guestMem', help: 'guest memory, a multiple of 4 KiB up to 128GiB' },
  { flags: '--vcpus <n>', path: 'vcpus', kind: 'int', help: 'vCPUs, one guest worker each, 1..8' },
  { flags: '--seed <n>', path: 'seed', kind: 'int', help: 'random seed' },
  { flags: '--queue-depth <n>', path: 'net.queueDepth', kind: 'int', help: 'receive buffers in flight per vCPU, 1..1024' },
  { flags: '--batch <n>', path: 'net.batch', kind: 'int', help: 'descriptors per doorbell, 1..256 and <= queue depth' },
  { flags: '--buffer-pages <n>', path: 'net.bufferPages', kind: 'int', help: 'guest pages per buffer, 1..16' },
  { flags: '--reuse-distance <n>', path: 'net.reuseDistance', kind: 'int', help: 'buffers mapped before a freed one is reused, 0..65536' },
  { flags: '--rotate <d>', path: 'net.rotateMs', kind: 'ms', help: 'move the buffer pool to fresh guest memory this often, 0 = never' },
  { flags: '--unpin-interval <d>', path: 'coiommu.unpinIntervalMs', kind: 'ms', help: 'coiommu lazy unpin scan period, 1ms..10m' },
  { flags: '--unpin-gen-threshold <n>', path: 'coiommu.unpinGenThreshold', kind: 'int', help: 'busy scan rounds before a page moves to the old generation, 1..1000' },
  { flags: '--unpin-limit <n>', path: 'coiommu.unpinLimit', kind: 'int', help: 'most unpins per scan round, 0 = no limit' },
  { flags: '--speculative-pages <n>', path: 'coiommu.speculativePages', kind: 'int', help: 'also pin this many neighbouring pages per pin request, 0..64' },
  { flags: '--queue-entries <n>', path: 'viommu.queueEntries', kind: 'int', help: 'viommu-*: invalidation-queue descriptors, a power of two 4..65536' },
  { flags: '--iotlb-entries <n>', path: 'viommu.iotlbEntries', kind: 'int', help: 'device IOTLB entries (viommu-*, passthrough), 1..65536' },
  { flags: '--iotlb-ways <n>', path: 'viommu.iotlbWays', kind: 'int', help: 'device IOTLB associativity; entries / ways must be a power of two' },
  { flags: '--flush-queue <n>', path: 'viommu.flushQueueEntries', kind: 'int', help: 'viommu-lazy: deferred unmaps per flush, 1..65536; above queue entries - 1 a flush takes several submissions' },
  { flags: '--flush-timeout <d>', path: 'viommu.flushTimeoutMs', kind: 'ms', help: 'viommu-lazy: flush deferred unmaps at least this often' },
  { flags: '--optimistic-timeout <d>', path: 'viommu.optimisticTimeoutMs', kind: 'ms', help: 'viommu-optimistic: how long an unmapped buffer stays mapped' },
  { flags: '--optimistic-quota <n>', path: 'viommu.optimisticQuota', kind: 'int', help: 'viommu-optimistic: most stale mappings per vCPU, 1..65536' },
  { flags: '--probe <mode>', path: 'protection.probe', kind: 'text', help: `protection oracle: ${PROBE_MODES.join(' | ')} (unmapped: the device probes recently unmapped addresses)` },
  { flags: '--host-mem <size>', path: 'host.memoryPages', kind: 'hostMem', help: 'host memory budget the reclaimer keeps resident frames under, 0 = none' },
  { flags: '--data-frames <n>', path: 'host.dataFrames', kind: 'int', help: 'host frames for DMA payloads (only touched pages get one), 1..16777216' },
  { flags: '--exit-delay <d>', path: 'notifyPath.exitDelayUs', kind: 'us', help: 'modeled VM-exit delay busy-waited per trapped request, e.g. 5us' },
  { flags: '--spin <d>', path: 'notifyPath.spinUs', kind: 'us', help: 'how long a waiting role spins before it parks' },
  { flags: '--watchdog <d>', path: 'watchdogMs', kind: 'ms', help: 'a role whose heartbeat stalls this long is declared hung, 100ms..10m' },
  { flags: '--drain <d>', path: 'drainMs', kind: 'ms', help: 'idle time after the guests stop while lazy unpinning continues, 0..1m' },
  { flags: '--variant <name>', path: 'variant', kind: 'text', help: 'planted protocol bug for experiments', hidden: true },
];

const flagName = (f: ScenarioFlag) => f.flags.split(' ')[0];
const FLAG_BY_PATH = new Map(SCENARIO_FLAGS.map((f) => [f.path, flagName(f)]));

/** A flag's default, written the way one would type it (`3s`, `1GiB`). */
function describeDefault(f: ScenarioFlag): string {
  const v = valueAt(defaultScenario(), f.path) as number | string;
  const compact = (s: string) => s.replace(' ', '');
  if (typeof v === 'string' || v === 0) return String(v);
  switch (f.kind) {
    case 'ms':
      return compact(formatDuration(v));
    case 'us':
      return compact(formatDuration(v / 1000));
    case 'guestMem':
    case 'hostMem':
      return compact(formatBytes(v * PAGE_SIZE));
    default:
      return String(v);
  }
}

const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

function addScenarioOptions(cmd: Command, which: (typeof COMMANDS)[number]): Command {
  for (const f of SCENARIO_FLAGS) {
    if (f.runOnly && which !== 'run') continue;
    const def = which === 'compare' && f.path === 'durationMs' ? `${COMPARE_DURATION_MS / 1000}s per run` : describeDefault(f);
    const o = new Option(f.flags, `${f.help} (default ${def})`);
    cmd.addOption(f.hidden ? o.hideHelp() : o);
  }
  return cmd
    .option('--cost <key=value>', `override one modeled cost, repeatable; keys: ${COST_KEYS.join(', ')}`, collect)
    .option('--config <file.json>', 'read a partial scenario from a JSON file; flags override it')
    .option('--inject-crash <role@time>', 'crash a role at that time, e.g. device@300ms (stress tests)')
    .option('--inject-hang <role@time>', 'stall a role at that time, e.g. hypervisor@1s (stress tests)')
    .option('--json', 'print the report as JSON on stdout and nothing else')
    .option('--progress', 'show a progress bar on stderr (default: only when stderr is a terminal)')
    .option('--no-progress', 'never show a progress bar');
}

// ---- turning flags into a scenario ----------------------------------------------------------

type Opts = Record<string, unknown>;

function parseFlagValue(f: ScenarioFlag, raw: string): number | string {
  const flag = flagName(f);
  switch (f.kind) {
    case 'text':
      return raw;
    case 'int':
      if (!/^[+-]?\d+$/.test(raw.trim())) throw new ConfigError(flag, raw, allowedFor(f.path));
      return Number(raw);
    case 'ms':
      return parseDuration(raw, flag);
    case 'us':
      return parseDuration(raw, flag, 'us');
    case 'guestMem':
    case 'hostMem': {
      const allowed = f.kind === 'guestMem' ? GUEST_MEM_ALLOWED : HOST_MEM_ALLOWED;
      let bytes: number;
      try {
        bytes = parseSize(raw, flag);
      } catch {
        throw new ConfigError(flag, raw, allowed);
      }
      const pages = bytes / PAGE_SIZE;
      const ok = Number.isInteger(pages) && (f.kind === 'hostMem' || (pages >= 1 && pages <= MAX_GUEST_PAGES));
      if (!ok) throw new ConfigError(flag, raw, allowed);
      return pages;
    }
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

interface ScenarioInput {
  partial: PartialScenario;
  label: Labeler;
}

/** Flags (and --config) -> a partial scenario, plus where each value came from for error messages. */
function scenarioInput(o: Opts): ScenarioInput {
  const origins = new Map<string, FieldLabel>();
  const flags: Record<string, unknown> = {};
  const given = (path: string, field: string, raw: string, value: unknown) => {
    setAt(flags, path, value);
    origins.set(path, { field, raw, given: true });
  };
  for (const f of SCENARIO_FLAGS) {
    const raw = o[new Option(f.flags).attributeName()];
    if (typeof raw === 'string') given(f.path, flagName(f), raw, parseFlagValue(f, raw));
  }
  for (const raw of (o.cost as string[] | undefined) ?? []) {
    const [key, value] = parseCost(raw);
    given(`costTable.${key}`, '--cost', raw, value);
  }
  for (const kind of ['crash', 'hang'] as const) {
    const flag = `--inject-${kind}`;
    const raw = o[kind === 'crash' ? 'injectCrash' : 'injectHang'];
    if (typeof raw !== 'string') continue;
    const fault = parseFault(flag, raw);
    given(`faults.${kind}`, flag, raw, fault);
    origins.set(`faults.${kind}.role`, { field: flag, raw, given: true });
    origins.set(`faults.${kind}.afterMs`, { field: flag, raw, given: true });
  }

  const file = typeof o.config === 'string' ? o.config : undefined;
  const fromFile = file ? loadConfigFile(file) : {};
  const partial = deepMerge(fromFile, flags) as PartialScenario; // flags override the file
  const label: Labeler = (path) => {
    const o = origins.get(path);
    if (o) return o;
    if (file && valueAt(fromFile, path) !== undefined) return { field: path, given: true, source: file };
    return { field: FLAG_BY_PATH.get(path) ?? path, given: false };
  };
  return { partial, label };
}

function parsePairs(raw: string): [Policy, NotifyPath][] {
  const allowed =
    `must be a comma list of <policy>/<notify> with policy one of ${POLICIES.join(', ')}` +
    ` and notify one of ${NOTIFY_PATHS.join(', ')} (e.g. static/trap,coiommu/sidecore)`;
  const items = raw.split(',').map((s) => s.trim());
  if (items.every((s) => s === '')) throw new ConfigError('--policies', raw, allowed);
  return items.map((item) => {
    const [p, n, extra] = item.split('/');
    if (extra !== undefined || !(POLICIES as readonly string[]).includes(p) || !(NOTIFY_PATHS as readonly string[]).includes(n)) {
      throw new ConfigError('--policies', item, allowed);
    }
    return [p as Policy, n as NotifyPath];
  });
}

// ---- running --------------------------------------------------------------------------------

interface Ctx {
  out: (s: string) => void;
  err: (s: string) => void;
  stderrIsTTY: boolean;
  runScenario?: RunScenario;
}

async function loadRunner(ctx: Ctx): Promise<RunScenario> {
  if (ctx.runScenario) return ctx.runScenario;
  // Loaded on demand: help and validation work (and start fast) without the simulation core.
  const { runScenario } = await import('./run/orchestrator.js');
  return runScenario;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function runAll(configs: ScenarioConfig[], o: Opts, ctx: Ctx): Promise<RunReport[]> {
  const runScenario = await loadRunner(ctx);
  const progress = typeof o.progress === 'boolean' ? o.progress : !o.json && ctx.stderrIsTTY;
  const reports: RunReport[] = [];
  for (const cfg of configs) {
    const name = `${cfg.policy}/${cfg.notify}`;
    let bar: cliProgress.SingleBar | undefined;
    if (progress) {
      bar = new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: `${name.padEnd(16)} [{bar}] {percentage}% | {elapsed} of {totalText} | {dmaOps} DMA ops`,
          // Leave the terminal's cursor and line wrapping alone: Ctrl-C kills us without a stop().
          hideCursor: false,
          linewrap: null,
          clearOnComplete: true,
          noTTYOutput: !ctx.stderrIsTTY,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(cfg.durationMs, 0, { elapsed: seconds(0), totalText: seconds(cfg.durationMs), dmaOps: '0' });
    }
    try {
      reports.push(
        await runScenario(cfg, {
          onProgress: bar
            ? (p) => {
                bar.setTotal(p.totalMs);
                bar.update(Math.min(p.elapsedMs, p.totalMs), {
                  elapsed: seconds(p.elapsedMs),
                  totalText: seconds(p.totalMs),
                  dmaOps: fmtInt(p.dmaOps),
                });
              }
            : undefined,
        }),
      );
    } catch (e) {
      if (e instanceof ConfigError) throw e;
      const msg = e instanceof Error ? e.message || e.name : String(e);
      throw new Error(configs.length > 1 ? `${name}: ${msg}` : msg);
    } finally {
      bar?.stop();
    }
  }
  return reports;
}

// ---- help -----------------------------------------------------------------------------------

const GUIDE = `
Policies:
  static             the host pins all guest memory when the VM is created; DMA
                     needs no exits, but every guest page stays pinned
  passthrough        a vIOMMU in passthrough mode: identity map, all memory pinned
                     at creation (like static); no exits, and no protection
  coiommu            the guest marks pages in a DMA tracking table (DTT); the host
                     pins a page on its first DMA and unpins it lazily when idle
  viommu-strict      emulated VT-d in caching mode: map and unmap each write the
                     guest IO page table and submit an invalidation (descriptor +
                     wait descriptor); the host pins on map, unpins on unmap and
                     flushes the device IOTLB first: 2 submissions per buffer
  viommu-lazy        unmaps wait in a flush queue (--flush-queue 256 entries or
                     --flush-timeout 10ms, whichever first): 1 + 1/batch per buffer.
                     A what-if: Linux forces strict mode in caching-mode guests
  viommu-optimistic  an unmapped buffer stays mapped for --optimistic-timeout (at
                     most --optimistic-quota of them); re-mapping it costs nothing

Notify paths (how a pin request or an invalidation reaches the host):
  trap      the vCPU exits (a VM exit: the doorbell or the invalidation queue's
            tail register) and blocks until the hypervisor thread is done
  sidecore  the vCPU writes shared memory and spins; a polling sidecore thread
            serves it, with no exit

Protection (--probe unmapped, the default): the device also probes addresses
whose unmap has returned. viommu-strict must fault on every one (leaks = 0);
the other policies let some through: the report counts them and the window.

Units:
  sizes      4096, 4k, 4KiB, 512MiB, 1G, 128GiB (binary units; B optional)
  durations  ${DURATION_SYNTAX.replace(/^a duration like /, '')}
  faults     <role>@<time>, role one of ${ROLES.join(', ')}
  --config   a JSON file with any part of the scenario, e.g.
             {"net": {"queueDepth": 128}, "coiommu": {"unpinIntervalMs": 20}};
             flags override it
`;

const RUN_EXAMPLES = `
Examples:
  ${NAME} run --policy coiommu --notify trap --duration 5s --guest-mem 4GiB
  ${NAME} run --policy viommu-strict --notify sidecore --iotlb-entries 128 --iotlb-ways 8
  ${NAME} run --policy viommu-optimistic --optimistic-timeout 5ms --reuse-distance 64 --json
  ${NAME} run --exit-delay 5us --cost exitCycles=1500 --json > report.json
  ${NAME} run --inject-crash device@300ms --watchdog 500ms
`;

const COMPARE_EXAMPLES = `
Examples:
  ${NAME} compare --duration 2s --reuse-distance 4096
  ${NAME} compare --policies coiommu/trap,coiommu/sidecore --exit-delay 5us
  ${NAME} compare --policies viommu-strict/trap,viommu-lazy/trap,viommu-strict/sidecore
  ${NAME} compare --config scenario.json --json > reports.json
`;

// ---- program --------------------------------------------------------------------------------

function buildProgram(ctx: Ctx, setCode: (code: number) => void): Command {
  const program = new Command(NAME)
    .description(
      'A laboratory for the memory-management designs of direct device assignment\n' +
        '(static pinning, coIOMMU, emulated vIOMMU) run on real worker threads over shared memory.',
    )
    .exitOverride()
    .configureOutput({ writeOut: ctx.out, writeErr: ctx.err, outputError: () => {} })
    .addHelpText('after', `\nRun "${NAME} <command> --help" for the options, units and examples.\n`);

  const run = program.command('run').description('run one scenario and print its report');
  addScenarioOptions(run, 'run')
    .addHelpText('after', GUIDE + RUN_EXAMPLES)
    .action(async (o: Opts) => {
      const input = scenarioInput(o);
      const cfg = resolveScenario(input.partial, defaultScenario(), input.label);
      const [report] = await runAll([cfg], o, ctx);
      ctx.out(o.json ? `${JSON.stringify(report, null, 2)}\n` : formatRunReport(report));
      setCode(0);
    });

  const compare = program
    .command('compare')
    .description(
      `run ${DEFAULT_PAIRS.map((p) => p.join('/')).join(', ')} in turn on the same scenario ` +
        `(${COMPARE_DURATION_MS / 1000} s each unless --duration says otherwise) and print them side by side`,
    );
  addScenarioOptions(compare, 'compare')
    .option('--policies <list>', `comma list of policy/notify pairs (default ${DEFAULT_PAIRS.map((p) => p.join('/')).join(',')})`)
    .addHelpText('after', GUIDE + COMPARE_EXAMPLES)
    .action(async (o: Opts) => {
      const pairs = typeof o.policies === 'string' ? parsePairs(o.policies) : DEFAULT_PAIRS;
      const input = scenarioInput(o);
      if (input.partial.durationMs === undefined) input.partial.durationMs = COMPARE_DURATION_MS;
      // Validate every scenario before running any.
      const configs = pairs.map(([policy, notify]) => {
        const raw = `${policy}/${notify}`;
        const label: Labeler = (p) =>
          (p === 'policy' || p === 'notify') && o.policies ? { field: '--policies', raw, given: true } : input.label(p);
        return resolveScenario({ ...input.partial, policy, notify }, defaultScenario(), label);
      });
      const reports = await runAll(configs, o, ctx);
      ctx.out(o.json ? `${JSON.stringify(reports, null, 2)}\n` : formatCompareTable(reports));
      setCode(0);
    });

  registerExploreCommands(program, ctx, setCode);
  return program;
}

/** Runs the command line; returns the process exit code. */
export async function main(argv: string[], io: CliIO = {}): Promise<number> {
  const ctx: Ctx = {
    out: io.stdout ?? ((s) => void process.stdout.write(s)),
    err: io.stderr ?? ((s) => void process.stderr.write(s)),
    stderrIsTTY: io.stderrIsTTY ?? Boolean(process.stderr.isTTY),
    runScenario: io.runScenario,
  };
  let code = 0;
  const program = buildProgram(ctx, (c) => (code = c));
  if (argv.length === 0) {
    ctx.out(program.helpInformation());
    return 0;
  }
  const usage = (message: string) => {
    const cmd = argv.find((a) => ALL_COMMANDS.includes(a));
    ctx.err(`${NAME}: ${message}\nsee: ${NAME}${cmd ? ` ${cmd}` : ''} --help\n`);
    return 2;
  };
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : usage(e.message.replace(/^error: /, ''));
    if (e instanceof ConfigError) return usage(e.message);
    const msg = e instanceof Error ? e.message || e.name : String(e);
    ctx.err(`${NAME}: run failed: ${msg}\n`);
    return 1;
  }
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (isEntryPoint()) process.exitCode = await main(process.argv.slice(2));
