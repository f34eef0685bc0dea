// The sidecore: a host thread that polls the vCPUs' notify slots (coIOMMU) or the invalidation
// queue's tail (vIOMMU), so a request costs the guest a store instead of an exit. It spins for
// spinUs after its last request, then parks; a guest that finds it parked pays one notify
// (counted as a wake-up, not an exit).
import { CTL, STAT } from '../machine/layout.js';
import { HostMemory } from '../mem/host-memory.js';
import { invalidationPending } from '../notify/invalidation-queue.js';
import { anySlotRaised, serveSlots } from '../notify/pin-request.js';
import { hostLock } from './host-parts.js';
import { CoiommuHost } from '../protocol/coiommu-host.js';
import { ViommuHost } from '../protocol/viommu-host.js';
import { isViommu } from '../run/types.js';
import { RoleBase, type RoleResult } from './role.js';

export class SidecoreRole extends RoleBase {
  run(t0: number): RoleResult {
    this.begin(t0);
    const { mem, m, cfg, stats } = this;
    const host = new HostMemory(mem, m, stats);
    let serve: () => number;
    let pending: () => boolean;
    if (isViommu(cfg.policy)) {
      const viommu = new ViommuHost(mem, m, host, hostLock(this), stats, cfg.variant, cfg.watchdogMs);
      serve = () => (viommu.processQueue() > 0 ? 1 : 0);
      pending = () => invalidationPending(mem, m);
    } else {
      const coiommu = new CoiommuHost(mem, m, host, hostLock(this), cfg.coiommu, stats, cfg.variant);
      const pin = (g: number) => coiommu.pin(g);
      serve = () => serveSlots(mem, m, pin);
      pending = () => anySlotRaised(mem, m);
    }
    const spinMs = cfg.notifyPath.spinUs / 1000;
    const c = m.control;
    let lastWork = performance.now();
    while (this.serving()) {
      const served = serve();
      if (served > 0) {
        stats[STAT.REQUESTS_SERVED] += served;
        lastWork = performance.now();
      } else if (performance.now() - lastWork > spinMs) {
        const seq = mem.load(c, CTL.SIDECORE_DOORBELL);
        mem.store(c, CTL.SIDECORE_PARKED, 1);
        if (!pending()) mem.wait(c, CTL.SIDECORE_DOORBELL, seq, 20);
        mem.store(c, CTL.SIDECORE_PARKED, 0);
        lastWork = performance.now();
      }
      this.tick();
    }
    return this.result();
  }
}
