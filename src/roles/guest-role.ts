// A guest vCPU: the driver of the workload, through the DMA policy the scenario names.
import { RunState } from '../machine/layout.js';
import { InvalidationQueue } from '../notify/invalidation-queue.js';
import { SlotRequester, type PinRequester } from '../notify/pin-request.js';
import { CoiommuGuest } from '../protocol/coiommu-guest.js';
import { IovaAllocator } from '../protocol/iova-allocator.js';
import { PassthroughGuest } from '../protocol/passthrough.js';
import type { GuestDmaPolicy } from '../protocol/policy.js';
import { StaticGuest } from '../protocol/static.js';
import { ViommuGuest, type TeardownMode } from '../protocol/viommu-guest.js';
import { encodeHistogram, newHistogram, type Histogram } from '../run/latency.js';
import { UnmapLog } from '../run/protection.js';
import { isViommu } from '../run/types.js';
import { NetGuest } from '../workload/net.js';
import { RoleBase, type RoleResult } from './role.js';

/** Times each pin request round trip (the latency a first touch pays). */
class TimedRequester implements PinRequester {
  constructor(
    private readonly inner: PinRequester,
    private readonly hist: Histogram,
  ) {}
  get path() {
    return this.inner.path;
  }
  request(gfns: ArrayLike<number>, n: number): number {
    const t0 = performance.now();
    const r = this.inner.request(gfns, n);
    this.hist.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1e6)));
    return r;
  }
}

export class GuestRole extends RoleBase {
  run(t0: number): RoleResult {
    this.begin(t0);
    const { mem, m, cfg, stats } = this;
    const vcpu = this.init.index;
    const mapHist = newHistogram();
    const pinHist = newHistogram();
    const submitHist = newHistogram();
    const unmapLog = cfg.protection.probe === 'unmapped' ? new UnmapLog(m, vcpu, t0) : undefined;
    const spin = cfg.notify === 'trap' ? 0 : cfg.notifyPath.spinUs; // an exit stops the vCPU at once
    let policy: GuestDmaPolicy;
    if (cfg.policy === 'static') policy = new StaticGuest();
    else if (cfg.policy === 'passthrough') policy = new PassthroughGuest();
    else if (isViommu(cfg.policy)) {
      const queue = new InvalidationQueue(cfg.notify, mem, m, vcpu, spin, cfg.watchdogMs, stats);
      queue.latency = submitHist;
      const mode = cfg.policy.slice('viommu-'.length) as TeardownMode;
      // An IOVA spilled to the depot may be mapped next by another vCPU: stop probing it as ours.
      const iovas = new IovaAllocator(mem, m, undefined, cfg.watchdogMs, unmapLog && ((iova) => unmapLog.forget(iova)));
      policy = new ViommuGuest(mem, m, queue, iovas, mode, cfg.viommu, stats, unmapLog);
    } else {
      const requester = new SlotRequester(cfg.notify, mem, m, vcpu, spin, cfg.watchdogMs, stats, cfg.variant);
      policy = new CoiommuGuest(mem, m, new TimedRequester(requester, pinHist), stats, cfg.variant);
    }
    const identity = !isViommu(cfg.policy);
    const net = new NetGuest(mem, m, vcpu, cfg.net, policy, stats, this.oracle, mapHist, cfg.notifyPath.spinUs, unmapLog, identity);
    // Deferred teardown has timers (10 ms flush queue, a few ms optimistic): never sleep past them.
    const timer =
      cfg.policy === 'viommu-lazy' ? cfg.viommu.flushTimeoutMs : cfg.policy === 'viommu-optimistic' ? cfg.viommu.optimisticTimeoutMs : 20;
    const slice = Math.max(1, Math.min(20, timer));

    while (this.state() === RunState.Running) {
      const posted = net.post();
      const reaped = net.reap();
      policy.poll?.();
      if (posted === 0 && reaped === 0) net.idle(slice);
      this.tick();
    }
    // Drain what is in flight, so every buffer is verified and unmapped before teardown.
    const deadline = performance.now() + cfg.watchdogMs;
    while (net.inflight > 0 && this.state() === RunState.GuestsStop) {
      if (net.reap() === 0) net.idle(20);
      this.tick();
      if (performance.now() > deadline)
        throw new Error(`guest ${vcpu}: ${net.inflight} DMAs still in flight ${cfg.watchdogMs} ms after stop (device stuck?)`);
    }
    policy.drain?.(); // the driver stops: flush queues and stale mappings reach the host now
    return this.result({
      histograms: { map: encodeHistogram(mapHist), pinRequest: encodeHistogram(pinHist), invSubmit: encodeHistogram(submitHist) },
    });
  }
}
