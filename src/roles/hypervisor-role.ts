// The hypervisor: creates the VM (policies that pin at creation pin everything here), serves
// trapped requests (trap path), runs the policy's periodic work and the reclaimer on a timer,
// checks the accounting invariant as it goes, and tears the VM down at the end.
import { DETAIL } from '../core/oracle.js';
import { RING, SLOT, STAT, vclockLine } from '../machine/layout.js';
import { HostClock, TimerBarrier } from '../core/virtual-time.js';
import { RollingAccounting, checkAccounting } from '../mem/accounting.js';
import { hostDoorbell } from '../notify/delivery.js';
import { TrapService } from '../notify/host-service.js';
import { policyByName } from '../policies/index.js';
import { pinAllGuestMemory } from '../policies/pin-all.js';
import type { Leftover, Policy } from '../policies/policy.js';
import { buildHost, type HostParts } from '../policies/wiring.js';
import { balloon, spuriousWake } from './fault-actions.js';
import { RoleBase, type RoleInit, type RoleResult, type SetupResult, type TeardownResult } from './role.js';

/** The host's timer period when the policy names none (the reclaimer runs on it). */
const HOST_TIMER_MS = 50;
/** Check one slice of the accounting every this many timer rounds. */
const ACCOUNTING_EVERY = 10;

export class HypervisorRole extends RoleBase {
  private readonly policy: Policy;
  private readonly parts: HostParts;

  private readonly clock: HostClock;
  private readonly barrier: TimerBarrier;
  private readonly virtual = this.cfg.clock === 'virtual';
  private rounds = 0;
  private rolling?: RollingAccounting;

  constructor(init: RoleInit) {
    super(init);
    this.policy = policyByName(this.cfg.policy);
    this.clock = new HostClock(this.m, vclockLine.hypervisor(this.m.spec.vcpus), this.cfg.costTable, this.cfg.notify);
    this.parts = buildHost(this.policy, this.mem, this.m, this.cfg, this.stats, this.cfg.watchdogMs, this.clock);
    this.barrier = new TimerBarrier(this.m);
    const f = this.faults;
    f?.on('balloon', (s) => balloon(this.mem, this.m, this.parts, this.stats, s, f.board));
    f?.on('spurious-wake', (s) => spuriousWake(this.m, s, f.board));
  }

  /** The host's timer period (ms). */
  private get interval(): number {
    return this.policy.hostTimerMs?.(this.cfg) ?? HOST_TIMER_MS;
  }

  setup(): SetupResult {
    // the first host timer's deadline on the virtual clock; on the wall's, vCPUs never wait
    if (this.virtual) this.barrier.ran(this.interval * 1e6);
    else this.barrier.open();
    if (!this.policy.pinsAtCreation) return { staticPinnedPages: 0, staticPinMs: 0 };
    const t0 = performance.now();
    const pinned = pinAllGuestMemory(this.parts.host, this.parts.lock, this.m.spec.guestPages);
    this.stats[STAT.PINS] += pinned;
    return { staticPinnedPages: pinned, staticPinMs: performance.now() - t0 };
  }

  run(t0: number): RoleResult {
    this.begin(t0);
    const { cfg, stats } = this;
    const { policy } = this.parts;
    this.rolling = new RollingAccounting(this.mem, this.m, this.parts.host, this.parts.lock, this.oracle, policy);
    const trapped = cfg.notify === 'trap' ? policy : undefined;
    // a host timer every vCPU has reached is work too: never sleep past it (and no ring is lost)
    const timerDue = () => this.virtual && this.timerRunnable();
    const trap = new TrapService(trapped, hostDoorbell(this.mem, this.m), cfg.notifyPath.exitDelayUs, timerDue);
    let nextScan = performance.now() + this.interval;
    while (this.serving()) {
      const served = trap.serve();
      stats[STAT.REQUESTS_SERVED] += served;
      let ranTimer = false;
      if (this.virtual) ranTimer = this.virtualTimers();
      else if (performance.now() >= nextScan) {
        this.runTimers(this.elapsedMs());
        nextScan = Math.max(nextScan + this.interval, performance.now() + 1);
      }
      // Sleep until a trapped request (or a vCPU at a timer's deadline) rings, or the next scan is due.
      if (served === 0 && !ranTimer) trap.sleep(this.virtual ? 20 : Math.max(0, Math.min(20, nextScan - performance.now())));
      this.tick();
    }
    return this.result();
  }

  /** The policy's periodic work, the balloon and the reclaimer, and a slice of the accounting check. */
  private runTimers(nowMs: number): void {
    this.parts.policy?.periodic?.();
    this.parts.balloon.tick(nowMs);
    this.parts.reclaimer.run();
    if (++this.rounds % ACCOUNTING_EVERY === 0) this.rolling?.step();
  }

  /**
   * On the virtual clock a host timer runs once every vCPU has reached its deadline. When all have
   * left, the timers of the idle tail run up to the last vCPU's end + drainMs, and then it is drained.
   */
  private virtualTimers(): boolean {
    if (!this.timerRunnable()) return false;
    const due = this.barrier.next();
    if (this.barrier.allArrived(Infinity) && due > this.drainEnd()) {
      this.stats[STAT.DRAINED] = 1;
      this.barrier.open();
      return false;
    }
    this.runTimers(due / 1e6);
    this.clock.timer(due);
    this.barrier.ran(due + this.interval * 1e6);
    return true;
  }

  /** The next host timer's deadline is set and every vCPU has reached it. */
  private timerRunnable(): boolean {
    const due = this.barrier.next();
    return Number.isFinite(due) && this.barrier.allArrived(due);
  }

  /** The virtual time the idle tail ends: the last vCPU's end + drainMs. */
  private drainEnd(): number {
    let end = 0;
    for (let v = 0; v < this.m.spec.vcpus; v++) end = Math.max(end, this.m.guestStats(v)[STAT.VT_END]);
    return end + this.cfg.drainMs * 1e6;
  }

  private checkAccounting(): boolean {
    return checkAccounting(this.mem, this.m, this.parts.host, this.parts.lock, this.oracle, this.parts.policy, () => this.stats[STAT.HEARTBEAT]++);
  }

  /** Destroy the VM: unpin everything, and report whatever was left mapped, queued or raised. */
  teardown(): TeardownResult {
    const leftovers: string[] = [];
    const leftover: Leftover = (what, g = -1, f = -1) => {
      if (leftovers.length < 20) leftovers.push(what);
      this.oracle.report('accounting', g, f, DETAIL.teardownLeftovers);
    };
    this.checkAccounting();
    this.parts.policy?.checkTeardown?.(leftover);
    this.checkQueues(leftover);
    const unpinned = this.unpinAll(leftover);
    return { unpinned, leftovers };
  }

  /** Every notify slot lowered, every ring empty. */
  private checkQueues(leftover: Leftover): void {
    const { mem, m } = this;
    for (let v = 0; v < m.spec.vcpus; v++) {
      if (mem.load(m.slots, v * SLOT.WORDS + SLOT.REQ) !== 0) leftover(`vCPU ${v}: pin request still raised`);
      for (const [name, ring] of [['descriptor', m.descRing(v)], ['completion', m.compRing(v)]] as const)
        if (mem.load(ring, RING.TAIL) !== mem.load(ring, RING.HEAD)) leftover(`vCPU ${v}: ${name} ring not empty`);
    }
  }

  /** Unpin every pinned frame (the policy clears its state for each page first). */
  private unpinAll(leftover: Leftover): number {
    const { mem, m } = this;
    const { host, lock, policy } = this.parts;
    let unpinned = 0;
    host.reliance = undefined; // destroying the VM takes everything back; what was left mapped is a leftover
    lock.lock();
    try {
      const high = host.frameHigh();
      for (let f = 0; f < high; f++) {
        const owner = mem.load(m.frameOwner, f);
        if (owner === 0 || mem.load(m.framePinned, f) === 0) continue;
        policy?.releasePage?.(owner - 1, f, leftover);
        if (host.unpin(owner - 1)) unpinned++;
        if ((f & 0xffff) === 0) this.stats[STAT.HEARTBEAT]++; // a big guest takes a while
      }
      policy?.clearTables?.(leftover);
      if (host.pinnedNow() !== 0) leftover(`${host.pinnedNow()} pages still counted pinned`);
    } finally {
      lock.unlock();
    }
    return unpinned;
  }
}
