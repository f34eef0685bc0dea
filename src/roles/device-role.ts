// The device: serves the descriptor rings, spinning briefly when idle and then parking.
import { NetDevice } from '../workload/net-device.js';
import { RoleBase, type RoleResult } from './role.js';

export class DeviceRole extends RoleBase {
  run(t0: number): RoleResult {
    this.begin(t0);
    const device = new NetDevice(this.mem, this.m, this.stats, this.oracle);
    const spinMs = this.cfg.notifyPath.spinUs / 1000;
    let lastWork = performance.now();
    while (this.serving()) {
      if (device.poll() > 0) lastWork = performance.now();
      else if (performance.now() - lastWork > spinMs) {
        device.park(20);
        lastWork = performance.now();
      }
      this.tick();
    }
    return this.result();
  }
}
