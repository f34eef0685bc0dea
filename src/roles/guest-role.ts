// A guest vCPU: the workload's driver, through the DMA policy the scenario names.
import { encodeHistogram, newHistogram } from '../core/latency.js';
import { UnmapLog } from '../core/protection.js';
import { RunState } from '../machine/layout.js';
import { policyByName } from '../policies/index.js';
import { buildGuest } from '../policies/wiring.js';
import { workloadByName } from '../workloads/index.js';
import type { WorkloadGuest } from '../workloads/workload.js';
import { RoleBase, type RoleResult } from './role.js';

export class GuestRole extends RoleBase {
  run(t0: number): RoleResult {
    this.begin(t0);
    const { mem, m, cfg, stats } = this;
    const vcpu = this.init.index;
    const hist = { map: newHistogram(), pinRequest: newHistogram(), invSubmit: newHistogram() };
    const unmapLog = cfg.protection.probe === 'unmapped' ? new UnmapLog(m, vcpu, t0) : undefined;
    const p = policyByName(cfg.policy);
    const policy = buildGuest(p, mem, m, cfg, vcpu, stats, { latency: hist, unmapLog });
    const driver = workloadByName(cfg.workload).guest({
      mem, m, cfg, vcpu, policy, stats, oracle: this.oracle, mapLatency: hist.map, unmapLog, identityDma: p.identityDma,
    });
    // Deferred teardown has timers (10 ms flush queue, a few ms optimistic): never nap past them.
    const slice = Math.max(1, Math.min(20, p.guestTimerMs?.(cfg) ?? 20));
    while (this.state() === RunState.Running) {
      const posted = driver.post();
      const reaped = driver.reap();
      policy.poll?.();
      if (posted === 0 && reaped === 0) driver.idle(slice);
      this.tick();
    }
    this.drain(driver);
    policy.drain?.(); // the driver stops: flush queues and stale mappings reach the host now
    const histograms = Object.fromEntries(Object.entries(hist).map(([k, h]) => [k, encodeHistogram(h)]));
    return this.result({ histograms });
  }

  /** Reap what is in flight, so every buffer is verified and unmapped before teardown. */
  private drain(driver: WorkloadGuest): void {
    const deadline = performance.now() + this.cfg.watchdogMs;
    while (driver.inflight > 0 && this.state() === RunState.GuestsStop) {
      if (driver.reap() === 0) driver.idle(20);
      this.tick();
      if (performance.now() > deadline)
        throw new Error(`guest ${this.init.index}: ${driver.inflight} DMAs still in flight ${this.cfg.watchdogMs} ms after stop (device stuck?)`);
    }
  }
}
