// Runs one scenario: builds the machine, starts the role workers, drives the run state through
// Running -> GuestsStop -> Stop, watches heartbeats, tears down, and builds the report. The main
// thread never spins: it sleeps in the event loop while the workers run.
import { CTL, RunState, STAT, STAT_BLOCK, type MachineSpec } from '../machine/layout.js';
import { Machine } from '../machine/machine.js';
import type { RunReport } from '../core/types.js';
import { policyByName, policyModules, runsSidecore } from '../policies/index.js';
import type { SetupResult } from '../roles/role.js';
import { workloadByName, workloadModules } from '../workloads/index.js';
import { FaultBoard } from '../core/faults/board.js';
import { readViolations } from '../core/oracle.js';
import { buildReport, sumStat } from './report.js';
import { RunSession, type RoleHandle } from './run-session.js';
import type { ScenarioConfig } from './scenario.js';
import { watchRun, type Watch, type WatchOptions } from './timeline/observer.js';

export { runsSidecore } from '../policies/index.js';

export interface RunProgress {
  elapsedMs: number;
  totalMs: number;
  dmaOps: number;
}
export interface RunOptions {
  onProgress?: (p: RunProgress) => void;
  /** --series / --timeline: sample the running machine into files. */
  watch?: WatchOptions;
  /** The run has started: its machine and fault board, for a sampler (the soak's time series). */
  onStart?: (live: LiveRun) => void;
  /** Ends the run early but cleanly (guests stop, drain, teardown, report): the soak's Ctrl-C. */
  signal?: AbortSignal;
}
export interface LiveRun {
  machine: Machine;
  board: FaultBoard;
}

const nowAbs = () => performance.timeOrigin + performance.now();

/** Every vCPU's stats word `stat` is set. */
const allGuests = (m: Machine, vcpus: number, stat: number): boolean =>
  Array.from({ length: vcpus }, (_, v) => m.guestStats(v)[stat]).every((x) => x === 1);

export function machineSpecFor(cfg: ScenarioConfig): MachineSpec {
  return {
    guestPages: cfg.guestPages,
    vcpus: cfg.vcpus,
    hostFrames: cfg.host.frames > 0 ? Math.min(cfg.host.frames, cfg.guestPages) : cfg.guestPages,
    dataFrames: Math.min(cfg.host.dataFrames, cfg.guestPages),
    ringEntries: workloadByName(cfg.workload).ringEntries(cfg),
    ...policyByName(cfg.policy).machine?.(cfg),
  };
}

/** Start every role's worker, hand each its view of the machine, and create the VM. */
async function startRoles(s: RunSession, cfg: ScenarioConfig, spec: MachineSpec, board: FaultBoard): Promise<{ hyp: RoleHandle; setup: SetupResult }> {
  const hyp = s.start('hypervisor', 0, STAT_BLOCK.hypervisor, 'hypervisor');
  s.start('device', 0, STAT_BLOCK.device, 'device');
  if (runsSidecore(cfg)) s.start('sidecore', 0, STAT_BLOCK.sidecore, 'sidecore');
  for (let v = 0; v < cfg.vcpus; v++) s.start('guest', v, STAT_BLOCK.guest0 + v, `guest vCPU ${v}`);
  const plugins = [...policyModules(), ...workloadModules()];
  const inits = s.handles.map((h) => h.api.init({ sab: s.machine.sab, spec, cfg, role: h.role, index: h.index, plugins, faultBoard: board.sab }));
  await s.bounded(Promise.all(inits), 30_000, 'starting the role workers');
  const setupMs = 60_000 + cfg.guestPages * 0.01;
  const setup = (await s.bounded(hyp.api.setup(), setupMs, 'VM creation (static pinning)', 'hypervisor'))!;
  return { hyp, setup };
}

function reportProgress(s: RunSession, cfg: ScenarioConfig, t0: number, onProgress: (p: RunProgress) => void): NodeJS.Timeout {
  const tick = () =>
    onProgress({ elapsedMs: Math.min(cfg.durationMs, nowAbs() - t0), totalMs: cfg.durationMs, dmaOps: sumStat(s.machine, cfg.vcpus, 'guest', 'DMA_OPS') });
  return setInterval(tick, 250);
}

export async function runScenario(cfg: ScenarioConfig, opts: RunOptions = {}): Promise<RunReport> {
  const spec = machineSpecFor(cfg);
  const s = new RunSession(Machine.create(spec));
  const control = s.machine.control;
  const intervals: NodeJS.Timeout[] = [];
  const board = new FaultBoard();
  let watch: Watch | undefined;
  try {
    const { hyp, setup } = await startRoles(s, cfg, spec, board);
    const t0 = nowAbs();
    s.setState(RunState.Running);
    s.runAll(t0);
    intervals.push(s.watch(cfg.watchdogMs));
    if (opts.onProgress) intervals.push(reportProgress(s, cfg, t0, opts.onProgress));
    opts.onStart?.({ machine: s.machine, board });
    if (opts.watch?.series || opts.watch?.timeline) watch = watchRun(s.machine, cfg, runsSidecore(cfg), t0, opts.watch);

    // --duration bounds the run; with --ops it ends as soon as every vCPU has done its share
    const ends = [s.sleep(cfg.durationMs), ...(cfg.ops > 0 || workloadByName(cfg.workload).finite?.(cfg) ? [s.until(() => allGuests(s.machine, cfg.vcpus, STAT.FINISHED))] : [])];
    if (opts.signal) ends.push(s.until(() => opts.signal!.aborted));
    await Promise.race(ends);
    s.setState(RunState.GuestsStop);
    const guestResults = await s.guarded(s.results((h) => h.role === 'guest'));
    const seconds = (nowAbs() - t0) / 1000;
    // Idle tail: the lazy unpin worker keeps running, so pages no longer used get unpinned. On the
    // virtual clock the host runs the tail's timers itself (drainMs of virtual time).
    if (cfg.clock === 'virtual') {
      const drained = () => s.machine.statsBlock(STAT_BLOCK.hypervisor)[STAT.DRAINED] === 1;
      await s.bounded(s.until(drained), cfg.watchdogMs + cfg.drainMs, 'the idle tail (host timers after the guests stopped)', 'hypervisor');
    } else await s.sleep(cfg.drainMs);
    watch?.stop();
    watch = undefined;
    const pinnedEnd = Atomics.load(control, CTL.PINNED_NOW);
    const residentEnd = Atomics.load(control, CTL.RESIDENT_NOW);
    s.setState(RunState.Stop);
    s.wakeAll();
    const hostResults = await s.bounded(s.results((h) => h.role !== 'guest'), cfg.watchdogMs, 'stopping the host and device roles');
    const teardown = (await s.bounded(hyp.api.teardown(), cfg.watchdogMs + 10_000, 'VM teardown', 'hypervisor'))!;
    const deviceResult = hostResults.find((r) => r.role === 'device');
    const report = buildReport(cfg, s.machine, { seconds, setup, teardown, pinnedEnd, residentEnd, guestResults, deviceResult, threads: s.handles.length + 1 });
    if (cfg.faults.plan?.length || cfg.faults.failNth || cfg.faults.crash || cfg.faults.hang) report.injectedFaults = board.tally();
    return report;
  } catch (err) {
    throw withViolationsSoFar(s.failure ?? err, control);
  } finally {
    for (const i of intervals) clearInterval(i);
    watch?.stop();
    await s.close();
  }
}

/**
 * A failed run keeps what the oracle saw before it failed: a lost wake-up, say, often turns into a
 * hang the watchdog names, and the hang alone would hide its cause.
 */
function withViolationsSoFar(err: unknown, control: Int32Array): unknown {
  const { first, ...counts } = readViolations(control);
  const seen = Object.entries(counts).filter(([, n]) => n > 0);
  if (!(err instanceof Error) || seen.length === 0) return err;
  err.message += `; violations before it: ${seen.map(([k, n]) => `${k} ${n}`).join(', ')}`;
  if (first) err.message += ` (first: ${first.detail}, ${first.role}, at ${first.atMs} ms)`;
  return err;
}
