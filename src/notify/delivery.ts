// How a guest's request reaches the host, written once for every kind of request:
//   trap     - the write that rings the host is an exit: bump the hypervisor's doorbell, wake it;
//   sidecore - a plain store the sidecore sees by polling; a parked sidecore costs one notify,
//              counted as a wake-up, never as an exit.
import { CTL, STAT } from '../machine/layout.js';
import type { Machine } from '../machine/machine.js';
import type { SharedMem } from '../machine/shared-mem.js';
import type { NotifyPath } from '../core/types.js';
import { Doorbell } from './doorbell.js';

export const hostDoorbell = (mem: SharedMem, m: Machine): Doorbell => new Doorbell(mem, m.control, CTL.HOST_DOORBELL, CTL.HOST_PARKED);
export const sidecoreDoorbell = (mem: SharedMem, m: Machine): Doorbell =>
  new Doorbell(mem, m.control, CTL.SIDECORE_DOORBELL, CTL.SIDECORE_PARKED);
export const deviceDoorbell = (mem: SharedMem, m: Machine): Doorbell =>
  new Doorbell(mem, m.control, CTL.DEVICE_DOORBELL, CTL.DEVICE_PARKED);

export class Delivery {
  private readonly host: Doorbell;
  private readonly sidecore: Doorbell;

  constructor(
    readonly path: NotifyPath,
    mem: SharedMem,
    m: Machine,
    /** The vCPU's stats block: exits and sidecore wake-ups are counted here. */
    private readonly stats: Float64Array,
    /** The planted bug `doorbell-without-bump`: notify without bumping (a lost wake-up). */
    private readonly noBump = false,
  ) {
    this.host = hostDoorbell(mem, m);
    this.sidecore = sidecoreDoorbell(mem, m);
  }

  /** The request is in shared memory: make the host see it. */
  deliver(): void {
    if (this.path === 'trap') {
      this.stats[STAT.EXITS]++;
      if (this.noBump) this.host.wake();
      else this.host.ring();
    } else if (this.sidecore.kick()) this.stats[STAT.SIDECORE_WAKEUPS]++;
  }
}
