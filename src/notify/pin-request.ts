// The synchronous per-vCPU pin request (coIOMMU): the guest writes page numbers into its notify
// slot, raises REQ, and waits until the host clears it. Only the delivery differs by path:
//   trap     - ringing the host's doorbell is an exit; the vCPU blocks in Atomics.wait at once.
//   sidecore - a plain store; the vCPU spins (bounded) and the polling sidecore picks it up.
import { CTL, SLOT, SLOT_MAX_PAGES, STAT } from '../machine/layout.js';
import type { Machine } from '../machine/machine.js';
import type { SharedMem } from '../machine/shared-mem.js';
import type { NotifyPath, Variant } from '../run/types.js';
import { parkUntilChanged, spinUntilChanged, wakeIfParked } from './park.js';

export class RequestTimeoutError extends Error {}

export interface PinRequester {
  readonly path: NotifyPath;
  /** Ask the host to pin gfns[0..n); returns when the host has answered (pages it failed to pin). */
  request(gfns: ArrayLike<number>, n: number): number;
}

export class SlotRequester implements PinRequester {
  private seq = 0;
  private readonly base: number;

  constructor(
    readonly path: NotifyPath,
    private readonly mem: SharedMem,
    private readonly m: Machine,
    vcpu: number,
    /** How long the vCPU spins before it parks (trap: 0, the vCPU is stopped by the exit). */
    private readonly spinUs: number,
    /** A host that has not answered after this long is declared stuck. */
    private readonly timeoutMs: number,
    /** Guest stats block: exits and sidecore wake-ups are counted here. */
    private readonly stats: Float64Array,
    private readonly variant: Variant = 'none',
  ) {
    this.base = vcpu * SLOT.WORDS;
  }

  request(gfns: ArrayLike<number>, n: number): number {
    if (n > SLOT_MAX_PAGES) throw new RangeError(`pin request of ${n} pages exceeds the slot (${SLOT_MAX_PAGES})`);
    const { mem, m, base } = this;
    const s = m.slots;
    for (let k = 0; k < n; k++) mem.store(s, base + SLOT.GFNS + k, gfns[k]);
    mem.store(s, base + SLOT.COUNT, n);
    const req = (this.seq = (this.seq % 0x7ffffffe) + 1);
    mem.store(s, base + SLOT.REQ, req);
    if (this.path === 'trap') {
      // The doorbell write is the exit: bump it and wake the host thread if it sleeps.
      this.stats[STAT.EXITS]++;
      // planted bug: a sleeping host that re-checks the doorbell before it sleeps misses this request
      if (this.variant !== 'doorbell-without-bump') mem.add(m.control, CTL.HOST_DOORBELL, 1);
      wakeIfParked(mem, m.control, CTL.HOST_DOORBELL, m.control, CTL.HOST_PARKED);
    } else if (mem.load(m.control, CTL.SIDECORE_PARKED) !== 0) {
      this.stats[STAT.SIDECORE_WAKEUPS]++;
      mem.add(m.control, CTL.SIDECORE_DOORBELL, 1);
      mem.notify(m.control, CTL.SIDECORE_DOORBELL);
    }
    this.awaitAnswer(req);
    return mem.load(s, base + SLOT.STATUS);
  }

  private awaitAnswer(req: number): void {
    const { mem, m, base } = this;
    const s = m.slots;
    const at = base + SLOT.REQ;
    if (spinUntilChanged(mem, s, at, req, this.spinUs)) return;
    const deadline = performance.now() + this.timeoutMs;
    while (!parkUntilChanged(mem, s, at, req, s, base + SLOT.GUEST_PARKED, 20)) {
      if (performance.now() > deadline)
        throw new RequestTimeoutError(
          `pin request not answered within ${this.timeoutMs} ms (${this.path === 'trap' ? 'hypervisor' : 'sidecore'} stuck?)`,
        );
    }
  }
}

/** Host side: serve every raised slot once. Returns how many requests were served. */
export function serveSlots(mem: SharedMem, m: Machine, pin: (g: number) => boolean, beforeEach?: () => void): number {
  let served = 0;
  const s = m.slots;
  for (let v = 0; v < m.spec.vcpus; v++) {
    const base = v * SLOT.WORDS;
    if (mem.load(s, base + SLOT.REQ) === 0) continue;
    beforeEach?.();
    const n = mem.load(s, base + SLOT.COUNT);
    let failed = 0;
    for (let k = 0; k < n; k++) if (!pin(mem.load(s, base + SLOT.GFNS + k))) failed++;
    mem.store(s, base + SLOT.STATUS, failed);
    mem.store(s, base + SLOT.REQ, 0);
    wakeIfParked(mem, s, base + SLOT.REQ, s, base + SLOT.GUEST_PARKED);
    served++;
  }
  return served;
}

/** Any slot raised? (the host re-checks this after raising its parked flag) */
export function anySlotRaised(mem: SharedMem, m: Machine): boolean {
  for (let v = 0; v < m.spec.vcpus; v++) if (mem.load(m.slots, v * SLOT.WORDS + SLOT.REQ) !== 0) return true;
  return false;
}
