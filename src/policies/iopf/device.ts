// iopf, the device's half: on a translation miss it raises a page request (one entry per faulting
// page, its group index, LAST) and rings the host (trap: the hypervisor thread is interrupted;
// sidecore: the polling sidecore sees it, a parked one is kicked). In stall mode the descriptor
// waits for the group's response (SUCCESS: retry; INVALID / FAILURE: give up); in drop mode it is
// dropped at once and the guest re-posts it, the response collected later.
import { encodeHistogram, newHistogram } from '../../core/latency.js';
import type { NotifyPath } from '../../core/types.js';
import { CTL, RunState, STAT } from '../../machine/layout.js';
import type { Machine } from '../../machine/machine.js';
import type { SharedMem } from '../../machine/shared-mem.js';
import { hostDoorbell, sidecoreDoorbell } from '../../notify/delivery.js';
import type { Doorbell } from '../../notify/doorbell.js';
import type { DeviceContext, DevicePolicy } from '../policy.js';
import type { FaultMode, IopfConfig } from './config.js';
import { PR, PR_FLAG, PRQ_COUNT, PRQ_GROUPS, PageRequestQueue, RESP } from './prq.js';

export class PageRequestTimeoutError extends Error {}

export class IopfDevice implements DevicePolicy {
  readonly q: PageRequestQueue;
  private readonly bell: Doorbell;
  private readonly trap: boolean;
  private nextGroup = 0;
  /** The last page answered SUCCESS (a miss on it right after is a re-fault). */
  private lastSuccess = -1;
  stalledNs = 0;
  /** The group of the last page request raised (drop mode: what a re-post may wait for). */
  lastGroup = -1;
  /** Misses right after a SUCCESS for the same page (a reclaim in between, or a host that answered too early). */
  refaults = 0;
  private readonly stall = newHistogram();
  private readonly entry = new Int32Array(4);

  constructor(
    private readonly mem: SharedMem,
    private readonly m: Machine,
    private readonly mode: FaultMode,
    notify: NotifyPath,
    private readonly stats: Float64Array,
    private readonly timeoutMs: number,
    /** The device's wait for a response may spin this long before it parks. */
    private readonly spinUs = 0,
  ) {
    this.q = new PageRequestQueue(mem, m);
    this.trap = notify !== 'sidecore';
    this.bell = this.trap ? hostDoorbell(mem, m) : sidecoreDoorbell(mem, m);
  }

  enter(dmaPage: number): void {
    this.q.enter(dmaPage);
  }

  leave(dmaPage: number): void {
    this.q.leave(dmaPage);
  }

  /** A miss on dmaPage: raise its page request; stall: wait for the answer (true = retry). */
  fault(dmaPage: number): boolean {
    if (dmaPage === this.lastSuccess) {
      this.refaults++;
      this.q.count(PRQ_COUNT.REFAULTS);
    }
    this.lastSuccess = -1;
    const grp = this.takeGroup();
    this.lastGroup = grp;
    this.raise(dmaPage, grp);
    if (this.mode === 'drop') {
      this.q.count(PRQ_COUNT.DROPPED);
      return false;
    }
    const code = this.await(grp);
    const ns = this.q.costNs(grp);
    this.q.close(grp);
    this.stalledNs += ns;
    this.stall.recordValue(Math.max(1, ns));
    if (code !== RESP.SUCCESS) return false;
    this.lastSuccess = dmaPage;
    return true;
  }

  /** One group of one page (LAST): the entry, then one tail store, then the host is told. */
  private raise(page: number, grp: number): void {
    const { q, entry } = this;
    q.open(grp);
    while (q.ring.space() === 0) this.awaitRoom();
    entry[PR.PAGE] = page;
    entry[PR.GROUP] = grp;
    entry[PR.FLAGS] = PR_FLAG.LAST | PR_FLAG.WRITE;
    q.ring.put(entry);
    q.ring.publish();
    q.count(PRQ_COUNT.RAISED);
    q.count(PRQ_COUNT.GROUPS_RAISED);
    // trap: the page request interrupts the hypervisor thread; sidecore: kick it only if it parked
    if (this.trap) this.bell.ring();
    else this.bell.kick();
  }

  /** A free group index (drop mode: collect answers of earlier groups; wait for one still pending). */
  private takeGroup(): number {
    const grp = this.nextGroup;
    this.nextGroup = (grp + 1) % PRQ_GROUPS;
    if (this.q.status(grp) === RESP.PENDING) this.await(grp);
    this.q.close(grp);
    return grp;
  }

  /** Wait (bounded) until group grp is answered; returns the response code. */
  private await(grp: number): number {
    const bell = this.q.response(grp);
    let deadline = 0;
    for (;;) {
      const s = bell.value();
      if (s !== RESP.PENDING) return s;
      if (this.mem.load(this.m.control, CTL.STATE) >= RunState.Stop) return RESP.FAILURE;
      if (bell.spin(s, this.spinUs)) continue;
      if (deadline === 0) deadline = performance.now() + this.timeoutMs;
      bell.awaitChange(s, 5);
      this.stats[STAT.HEARTBEAT]++; // waiting for the host is not hanging: the watchdog names the host
      if (!this.mem.scheduled && performance.now() > deadline) throw new PageRequestTimeoutError(`page request group ${grp} not answered within ${this.timeoutMs} ms`);
    }
  }

  /** Wait for group grp's answer and free the group; returns the response code. */
  settle(grp: number): number {
    const code = this.await(grp);
    this.q.close(grp);
    return code;
  }

  private awaitRoom(): void {
    const b = this.q.ring.released;
    b.awaitChange(b.value(), 5);
    this.stats[STAT.HEARTBEAT]++;
  }

  histograms(): Record<string, string> {
    return { iopfStall: encodeHistogram(this.stall) };
  }
}

export function iopfDevice(ctx: DeviceContext): IopfDevice {
  const cfg = ctx.cfg.iopf as IopfConfig;
  return new IopfDevice(ctx.mem, ctx.m, cfg.faultMode, ctx.cfg.notify, ctx.stats, ctx.timeoutMs, ctx.cfg.notifyPath.spinUs);
}
