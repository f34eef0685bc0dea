// What every role worker shares: its view of the machine, its stats block, the oracle, the run
// state it obeys, its heartbeat (for the main thread's watchdog) and fault injection.
import { CTL, RunState, STAT, STAT_BLOCK, type MachineSpec } from '../machine/layout.js';
import { Machine } from '../machine/machine.js';
import { freeRunning, type SharedMem } from '../machine/shared-mem.js';
import { wakeChecking } from '../machine/wake-check.js';
import { DETAIL } from '../core/oracle.js';
import { Oracle, publishRunStart } from '../core/oracle.js';
import type { BaseScenario, RoleName, SectionBag } from '../core/types.js';
import { FaultBoard } from '../core/faults/board.js';
import { installFaultHooks } from '../core/faults/hooks.js';
import { FaultInjector } from './fault-injector.js';

export interface RoleInit {
  sab: SharedArrayBuffer;
  spec: MachineSpec;
  cfg: BaseScenario & SectionBag;
  role: RoleName;
  /** vCPU index for guests, 0 otherwise. */
  index: number;
  /** Modules that register policies or workloads from outside src/: imported before the role is made. */
  plugins?: string[];
  /** The fault board's buffer (src/core/faults/board.ts), shared by every role of the run. */
  faultBoard?: SharedArrayBuffer;
}

export interface RoleResult {
  role: RoleName;
  index: number;
  /** Encoded hdr histograms (guests). */
  histograms?: Record<string, string>;
}

/** VM creation (the hypervisor): what pinning at creation did. */
export interface SetupResult {
  staticPinnedPages: number;
  staticPinMs: number;
}

/** VM destruction (the hypervisor): pages unpinned, and what was left mapped, queued or raised. */
export interface TeardownResult {
  unpinned: number;
  leftovers: string[];
}

export interface Role {
  setup?(): SetupResult;
  /** t0: run start on the shared clock (performance.timeOrigin + performance.now()). */
  run(t0: number): RoleResult;
  teardown?(): TeardownResult;
}

export { InjectedCrashError } from './fault-injector.js';

export abstract class RoleBase implements Role {
  readonly m: Machine;
  /** Atomics, with every timed-out wait checked for a lost wake-up (unless --wake-grace 0). */
  readonly mem: SharedMem;
  readonly cfg: BaseScenario & SectionBag;
  readonly stats: Float64Array;
  oracle: Oracle;
  private t0 = performance.timeOrigin + performance.now();
  private ticks = 0;
  /** This role's fault injector, when the plan aims anything at it (or a fail-nth sweep runs). */
  readonly faults?: FaultInjector;

  constructor(readonly init: RoleInit) {
    this.m = new Machine(init.sab, init.spec);
    this.cfg = init.cfg;
    this.mem = this.checkedMem(init.cfg.notifyPath.wakeGraceMs);
    const block =
      init.role === 'guest' ? STAT_BLOCK.guest0 + init.index : STAT_BLOCK[init.role as Exclude<RoleName, 'guest'>];
    this.stats = this.m.statsBlock(block);
    this.oracle = new Oracle(this.m.control, init.role, this.t0);
    const label = init.role === 'guest' ? `guest vCPU ${init.index}` : init.role;
    const injector = new FaultInjector(new FaultBoard(init.faultBoard), init.cfg, init.role, init.index, label, () => this.elapsedMs());
    if (injector.active) this.faults = injector;
  }

  private checkedMem(graceMs: number): SharedMem {
    if (!(graceMs > 0)) return freeRunning;
    return wakeChecking(this.m.notifyLedger, graceMs, {
      late: () => this.stats[STAT.LATE_WAKES]++,
      lost: () => this.oracle.report('lostWakeups', -1, -1, DETAIL.lostWakeup),
    });
  }

  /** The run starts: fault times and violation times count from here. */
  begin(t0: number): void {
    this.t0 = t0;
    this.oracle = new Oracle(this.m.control, this.init.role, t0);
    publishRunStart(this.m.control, t0);
    installFaultHooks(this.faults); // failure points in this worker answer to this role's plan
  }

  abstract run(t0: number): RoleResult;

  state(): number {
    return Atomics.load(this.m.control, CTL.STATE);
  }

  /** Host, device and sidecore serve until Stop; guests post work only while Running. */
  serving(): boolean {
    const s = this.state();
    return s !== RunState.Stop && s !== RunState.Abort;
  }

  elapsedMs(): number {
    return performance.timeOrigin + performance.now() - this.t0;
  }

  /** Called from every loop: the heartbeat the watchdog reads, and injected faults. */
  tick(): void {
    this.stats[STAT.HEARTBEAT]++;
    if (this.faults && (++this.ticks & 15) === 0) this.faults.tick();
  }

  result(extra: Partial<RoleResult> = {}): RoleResult {
    return { role: this.init.role, index: this.init.index, ...extra };
  }
}
