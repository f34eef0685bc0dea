// The synchronous per-vCPU pin request (coIOMMU): the guest writes page numbers into its notify
// slot, raises REQ, and waits until the host clears it. Only the delivery differs by path:
//   trap     - ringing the host's doorbell is an exit; the vCPU blocks in Atomics.wait at once.
//   sidecore - a plain store; the vCPU spins (bounded) and the polling sidecore picks it up.
import { SLOT, SLOT_MAX_PAGES, STAT } from '../machine/layout.js';
import type { Machine } from '../machine/machine.js';
import type { SharedMem } from '../machine/shared-mem.js';
import type { NotifyPath, Variant } from '../core/types.js';
import { Delivery } from './delivery.js';
import { Doorbell } from './doorbell.js';
import { failHere, serveHook } from '../core/faults/hooks.js';

export class RequestTimeoutError extends Error {}

/** The guest's side of virtual time for a synchronous request (src/core/virtual-time.ts GuestClock). */
export interface RequestClock {
  /** Before acting: let the host's timers due by now run first (no lock may be held). */
  sync(): void;
  request(): void;
  answered(): void;
}

/** vCPU `vcpu`'s answer doorbell: the host clears REQ, the vCPU sleeps on it with GUEST_PARKED raised. */
const answerDoorbell = (mem: SharedMem, m: Machine, vcpu: number): Doorbell =>
  new Doorbell(mem, m.slots, vcpu * SLOT.WORDS + SLOT.REQ, vcpu * SLOT.WORDS + SLOT.GUEST_PARKED);

export interface PinRequester {
  readonly path: NotifyPath;
  /** Ask the host to pin gfns[0..n); returns when the host has answered (pages it failed to pin). */
  request(gfns: ArrayLike<number>, n: number): number;
}

/** Times each pin request round trip (the latency a first touch pays), in ns. */
export class TimedRequester implements PinRequester {
  constructor(
    private readonly inner: PinRequester,
    private readonly hist: { recordValue(ns: number): void },
  ) {}
  get path(): NotifyPath {
    return this.inner.path;
  }
  request(gfns: ArrayLike<number>, n: number): number {
    const t0 = performance.now();
    const r = this.inner.request(gfns, n);
    this.hist.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1e6)));
    return r;
  }
}

export class SlotRequester implements PinRequester {
  private seq = 0;
  private readonly base: number;
  private readonly delivery: Delivery;
  private readonly answer: Doorbell;
  /** Test hook: what raising the slot does in place of an exit / a sidecore poll (runs the host inline). */
  onRaise?: () => void;
  /** The vCPU's virtual clock: the request carries its time, the answer its completion time. */
  clock?: RequestClock;

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
    variant: Variant = 'none',
  ) {
    this.base = vcpu * SLOT.WORDS;
    this.answer = answerDoorbell(mem, m, vcpu);
    // planted bug: a sleeping host that re-checks the doorbell before it sleeps misses this request
    this.delivery = new Delivery(path, mem, m, stats, variant === 'doorbell-without-bump');
  }

  request(gfns: ArrayLike<number>, n: number): number {
    if (n > SLOT_MAX_PAGES) throw new RangeError(`pin request of ${n} pages exceeds the slot (${SLOT_MAX_PAGES})`);
    const { mem, m, base } = this;
    const s = m.slots;
    if (failHere('slot-write')) return n; // the slot is still busy: return without pinning (nothing pinned)
    for (let k = 0; k < n; k++) mem.store(s, base + SLOT.GFNS + k, gfns[k]);
    mem.store(s, base + SLOT.COUNT, n);
    const req = (this.seq = (this.seq % 0x7ffffffe) + 1);
    this.clock?.sync();
    this.clock?.request();
    mem.store(s, base + SLOT.REQ, req);
    if (this.onRaise) this.onRaise();
    else this.delivery.deliver(); // trap: the doorbell write is the exit
    this.awaitAnswer(req);
    this.clock?.answered();
    return mem.load(s, base + SLOT.STATUS);
  }

  private awaitAnswer(req: number): void {
    const { answer } = this;
    if (answer.spin(req, this.spinUs)) return;
    const deadline = performance.now() + this.timeoutMs;
    while (!answer.awaitChange(req, 20)) {
      // Waiting (bounded) is not hanging: keep the heartbeat, so the watchdog names the host
      // that stopped serving, not the vCPU blocked in its request.
      this.stats[STAT.HEARTBEAT]++;
      if (performance.now() > deadline)
        throw new RequestTimeoutError(
          `pin request not answered within ${this.timeoutMs} ms (${this.path === 'trap' ? 'hypervisor' : 'sidecore'} stuck?)`,
        );
    }
  }
}

/** Host side: serve every raised slot once. Returns how many requests were served. */
export function serveSlots(
  mem: SharedMem,
  m: Machine,
  pin: (g: number) => boolean,
  beforeEach?: () => void,
  /** Called before vCPU v is answered (the host stamps the request's virtual completion time). */
  done?: (v: number) => void,
): number {
  let served = 0;
  const s = m.slots;
  for (let v = 0; v < m.spec.vcpus; v++) {
    const base = v * SLOT.WORDS;
    if (mem.load(s, base + SLOT.REQ) === 0) continue;
    beforeEach?.();
    serveHook(); // an injected slow host
    const n = mem.load(s, base + SLOT.COUNT);
    let failed = 0;
    for (let k = 0; k < n; k++) if (!pin(mem.load(s, base + SLOT.GFNS + k))) failed++;
    mem.store(s, base + SLOT.STATUS, failed);
    done?.(v);
    answerDoorbell(mem, m, v).set(0);
    served++;
  }
  return served;
}

/** Any slot raised? (the host re-checks this after raising its parked flag) */
export function anySlotRaised(mem: SharedMem, m: Machine): boolean {
  for (let v = 0; v < m.spec.vcpus; v++) if (mem.load(m.slots, v * SLOT.WORDS + SLOT.REQ) !== 0) return true;
  return false;
}
