// The sidecore: a host thread that polls the policy's requests (coIOMMU's notify slots, the
// vIOMMU's invalidation queue), so a request costs the guest a store instead of an exit. It spins
// for spinUs after its last request, then parks; a guest that finds it parked pays one notify.
import { STAT, vclockLine } from '../machine/layout.js';
import { HostClock } from '../core/virtual-time.js';
import { sidecoreDoorbell } from '../notify/delivery.js';
import { sidecorePoll } from '../notify/host-service.js';
import { policyByName } from '../policies/index.js';
import { buildHost } from '../policies/wiring.js';
import { RoleBase, type RoleResult } from './role.js';

export class SidecoreRole extends RoleBase {
  run(t0: number): RoleResult {
    this.begin(t0);
    const { mem, m, cfg, stats } = this;
    const clock = new HostClock(m, vclockLine.sidecore(m.spec.vcpus), cfg.costTable, cfg.notify);
    const server = buildHost(policyByName(cfg.policy), mem, m, cfg, stats, cfg.watchdogMs, clock).policy;
    if (!server) throw new Error(`${cfg.policy} sends the host no requests: no sidecore to run`);
    const bell = sidecoreDoorbell(mem, m);
    const spinMs = cfg.notifyPath.spinUs / 1000;
    let lastWork = performance.now();
    while (this.serving()) {
      const step = sidecorePoll(mem, server, bell, lastWork, spinMs);
      stats[STAT.REQUESTS_SERVED] += step.served;
      lastWork = step.lastWork;
      this.tick();
    }
    return this.result();
  }
}
