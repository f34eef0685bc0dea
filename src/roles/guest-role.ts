// A guest vCPU: the workload's driver, through the DMA policy the scenario names. On the virtual
// clock it acts at its own virtual time: when nothing happens now it jumps to its next event, and
// it never passes a host timer's deadline before the host has run that timer.
import type { GuestDmaPolicy } from '../core/guest-dma-policy.js';
import { encodeHistogram, newHistogram } from '../core/latency.js';
import { UnmapLog } from '../core/protection.js';
import { GuestClock, HostClock, TimerBarrier } from '../core/virtual-time.js';
import { CTL, RunState, STAT, STAT_BLOCK, vclockLine } from '../machine/layout.js';
import { hostDoorbell } from '../notify/delivery.js';
import { Doorbell } from '../notify/doorbell.js';
import { policyByName } from '../policies/index.js';
import type { Policy } from '../policies/policy.js';
import { buildGuest, buildHost } from '../policies/wiring.js';
import { workloadByName } from '../workloads/index.js';
import { recordFileOf, recordingPolicy } from '../workloads/trace/recorder.js';
import type { WorkloadGuest } from '../workloads/workload.js';
import { RoleBase, type RoleResult } from './role.js';

export class GuestRole extends RoleBase {
  private clock!: GuestClock;
  private readonly virtual = this.cfg.clock === 'virtual';
  // made once: awaitHostTimers runs before every map, unmap and request
  private readonly barrier = new TimerBarrier(this.m);
  private readonly timerBell = new Doorbell(this.mem, this.m.control, CTL.TIMER_SEQ, CTL.TIMER_PARKED);
  private readonly hostBell = hostDoorbell(this.mem, this.m);

  run(t0: number): RoleResult {
    this.begin(t0);
    const { mem, m, cfg, stats } = this;
    const vcpu = this.init.index;
    this.clock = new GuestClock(m, vcpu, cfg.costTable);
    if (this.virtual) this.clock.onSync = () => this.awaitHostTimers();
    const hist = { map: newHistogram(), mapVirtual: newHistogram(), pinRequest: newHistogram(), invSubmit: newHistogram() };
    const unmapLog = cfg.protection.probe === 'unmapped' ? new UnmapLog(m, vcpu, t0) : undefined;
    const p = policyByName(cfg.policy);
    const built = buildGuest(p, mem, m, cfg, vcpu, stats, { latency: hist, unmapLog, clock: this.clock, inlineHost: this.inlineHost(p) });
    const workload = workloadByName(cfg.workload);
    const record = recordFileOf(cfg);
    const policy = record ? recordingPolicy(built, record, vcpu, () => this.clock.now, workload.dmaDirection ?? 'FROM_DEVICE') : built;
    const driver = workload.guest({
      ...{ mem, m, cfg, vcpu, policy, stats, oracle: this.oracle, unmapLog, identityDma: p.identityDma },
      ...{ clock: this.clock, virtual: this.virtual, mapLatency: hist.map, mapVirtualLatency: hist.mapVirtual },
      quota: this.quota(),
      stopped: () => this.state() !== RunState.Running,
    });
    // Deferred teardown has timers (10 ms flush queue, a few ms optimistic): never nap past them.
    this.loop(driver, policy, Math.max(1, Math.min(20, p.guestTimerMs?.(cfg) ?? 20)));
    stats[STAT.VT_END] = this.clock.now;
    if (driver.quotaDone) {
      policy.drain?.(); // before it leaves: the host's idle-tail timers then see a settled guest
      this.finished();
    }
    this.drain(driver);
    policy.drain?.(); // the driver stops: flush queues and stale mappings reach the host now
    this.clock.leave();
    const histograms = Object.fromEntries(Object.entries(hist).map(([k, h]) => [k, encodeHistogram(h)]));
    return this.result({ histograms });
  }

  /** This vCPU's share of --ops (Infinity without --ops). */
  private quota(): number {
    const { ops, vcpus } = this.cfg;
    if (ops <= 0) return Infinity;
    return Math.floor(ops / vcpus) + (this.init.index < ops % vcpus ? 1 : 0);
  }

  /** bare: a native OS programs its IOMMU itself, so the host's half runs here, inline. */
  private inlineHost(p: Policy) {
    if (this.cfg.notify !== 'bare' || !p.host) return undefined;
    const { mem, m, cfg } = this;
    const clock = new HostClock(m, vclockLine.hypervisor(m.spec.vcpus), cfg.costTable, 'bare');
    return buildHost(p, mem, m, cfg, m.statsBlock(STAT_BLOCK.sidecore), cfg.watchdogMs, clock).policy;
  }

  private loop(driver: WorkloadGuest, policy: GuestDmaPolicy, slice: number): void {
    while (this.state() === RunState.Running) {
      if (this.virtual) this.awaitHostTimers();
      policy.poll?.();
      const posted = driver.post();
      const reaped = driver.reap();
      if (driver.quotaDone && driver.inflight === 0) return; // its share of --ops is done
      if (posted === 0 && reaped === 0) this.idle(driver, policy, slice);
      this.tick();
    }
  }

  /** Nothing to do now: on the virtual clock, jump to the next event; else wait for a completion. */
  private idle(driver: WorkloadGuest, policy: GuestDmaPolicy, slice: number): void {
    const next = driver.nextEventNs();
    if (!this.virtual || Number.isNaN(next)) return driver.idle(slice);
    const at = Math.min(next, (policy.nextTimerMs?.() ?? Infinity) * 1e6, this.barrier.next());
    if (Number.isFinite(at)) this.clock.advanceTo(at);
    else driver.idle(slice);
  }

  /** Host timers are due at or before this vCPU's time: wait until the host has run them all. */
  private awaitHostTimers(): void {
    const { barrier, timerBell: bell } = this;
    for (let due = barrier.next(); this.clock.now >= due && this.state() === RunState.Running; due = barrier.next()) {
      this.hostBell.ring(); // it may be waiting for this vCPU to arrive
      while (barrier.done() < due && this.state() === RunState.Running) {
        const seq = bell.value();
        if (barrier.done() >= due) break;
        bell.awaitChange(seq, 20);
        this.tick();
      }
    }
  }

  /** Its share of --ops is done: say so, and wait for the run to move on. */
  private finished(): void {
    this.stats[STAT.FINISHED] = 1;
    this.clock.leave(); // host timers no longer wait for this vCPU
    while (this.state() === RunState.Running) {
      Atomics.wait(this.m.control, CTL.STATE, RunState.Running, 20);
      this.tick();
    }
  }

  /** Reap what is in flight, so every buffer is verified and unmapped before teardown. */
  private drain(driver: WorkloadGuest): void {
    const deadline = performance.now() + this.cfg.watchdogMs;
    while (driver.inflight > 0 && this.state() === RunState.GuestsStop) {
      if (driver.reap() === 0) {
        const next = driver.nextEventNs(); // on the virtual clock: move on to the next completion
        if (this.virtual && Number.isFinite(next)) this.clock.advanceTo(next);
        else driver.idle(20);
      }
      this.tick();
      if (performance.now() > deadline)
        throw new Error(`guest ${this.init.index}: ${driver.inflight} DMAs still in flight ${this.cfg.watchdogMs} ms after stop (device stuck?)`);
    }
  }
}
