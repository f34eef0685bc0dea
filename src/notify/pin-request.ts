// The synchronous per-vCPU pin request (coIOMMU): the guest writes its 64-bit notify word into its
// slot, raises REQ (the trigger; the slot is busy while it is raised) and waits until the host clears
// it. The notify word has the shipped driver's two formats:
//   one page   (gfn << 16) | bdf
//   a batch    bit 63 | the guest-physical address of {u16 bdf; u16 pad[3]; u64 nr_pages; u64 pfn[]}
// As 32-bit words: NOTIFY_LO holds bits 0..31, NOTIFY_HI bits 32..63. The host serves a request
// only for a BDF in its topology table. Only the delivery differs by path:
//   trap     - ringing the host's doorbell is an exit; the vCPU blocks in Atomics.wait at once.
//   sidecore - a plain store; the vCPU spins (bounded) and the polling sidecore picks it up.
import { CTL, SLOT, STAT } from '../machine/layout.js';
import type { Machine } from '../machine/machine.js';
import type { SharedMem } from '../machine/shared-mem.js';
import type { NotifyPath, Variant } from '../core/types.js';
import { Delivery } from './delivery.js';
import { Doorbell } from './doorbell.js';
import { failHere, serveHook } from '../core/faults/hooks.js';

/** The slot's 64-bit notify word (the GFNS words are not used by the shipped formats). */
export const NOTIFY_LO = SLOT.GFNS;
export const NOTIFY_HI = SLOT.GFNS + 1;
/** Bit 63 of the notify word: the low bits are the address of a pin_pages_info. */
export const PIN_PAGES_IN_BATCH = 1 << 31; // of NOTIFY_HI
/** The lab's one endpoint behind the coIOMMU: the NIC at 00:01.0. */
export const DEFAULT_BDF = 0x0008;
/** pin_pages_info as 32-bit words: {u16 bdf; u16 pad[3]; u64 nr_pages; u64 pfn[]}. */
export const PIN_INFO = { BDF: 0, PAD: 1, NR_LO: 2, NR_HI: 3, PFN: 4 } as const;
export const pinInfoWords = (pages: number): number => PIN_INFO.PFN + 2 * pages;

/** What request() answers besides the host's status: the request was not made, or not answered. */
export const REQUEST = { BUSY: -1, TIMED_OUT: -2 } as const;

/** Guest memory that holds a batch's pin_pages_info, and its guest-physical address. */
export interface PinInfoBuffer {
  words: Int32Array;
  /** First word of this vCPU's buffer, and how many pfns it holds. */
  base: number;
  maxPages: number;
  gpa: number;
}

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
  /** Ask the host to pin gfns[0..n); returns when the host has answered (pages it failed to pin), or REQUEST.BUSY / TIMED_OUT. */
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

  /** The requesting device's BDF and the buffer batches are written into (absent: single pages only). */
  bdf = DEFAULT_BDF;
  pinInfo?: PinInfoBuffer;

  request(gfns: ArrayLike<number>, n: number): number {
    const { mem, m, base } = this;
    const s = m.slots;
    // a slot still raised (a request that timed out and the host has not served yet), or an
    // injected busy slot: log, fail (the guest returns without pinning)
    if (failHere('slot-write') || mem.load(s, base + SLOT.REQ) !== 0) {
      this.stats[STAT.SLOT_BUSY]++;
      this.explained();
      return REQUEST.BUSY;
    }
    this.writeNotifyWord(gfns, n);
    const req = (this.seq = (this.seq % 0x7ffffffe) + 1);
    this.clock?.sync();
    this.clock?.request();
    mem.store(s, base + SLOT.REQ, req);
    if (this.onRaise) this.onRaise();
    else this.delivery.deliver(); // trap: the doorbell write is the exit
    if (!this.awaitAnswer(req)) {
      this.stats[STAT.PIN_TIMEOUTS]++;
      this.explained();
      return REQUEST.TIMED_OUT;
    }
    this.clock?.answered();
    return mem.load(s, base + SLOT.STATUS);
  }

  /** The map that fails next has a cause (the reliance oracle's count of failures with one). */
  private explained(): void {
    Atomics.add(this.m.control, CTL.HOST_PIN_FAILS, 1);
  }

  /** One page: (gfn << 16) | bdf. More: the batch's pin_pages_info, then bit 63 | its address. */
  private writeNotifyWord(gfns: ArrayLike<number>, n: number): void {
    const { mem, m, base } = this;
    if (n === 1) {
      mem.store(m.slots, base + NOTIFY_HI, gfns[0] >>> 16);
      mem.store(m.slots, base + NOTIFY_LO, ((gfns[0] & 0xffff) << 16) | this.bdf);
      return;
    }
    const b = this.pinInfo;
    if (!b || n > b.maxPages) throw new RangeError(`pin request of ${n} pages exceeds the pin-info buffer (${b?.maxPages ?? 0})`);
    mem.store(b.words, b.base + PIN_INFO.BDF, this.bdf);
    mem.store(b.words, b.base + PIN_INFO.NR_LO, n);
    for (let k = 0; k < n; k++) mem.store(b.words, b.base + PIN_INFO.PFN + 2 * k, gfns[k]);
    mem.store(m.slots, base + NOTIFY_HI, PIN_PAGES_IN_BATCH);
    mem.store(m.slots, base + NOTIFY_LO, b.gpa);
  }

  /** Wait for the host to clear REQ, at most timeoutMs (the shipped driver: 5 s); false if it did not. */
  private awaitAnswer(req: number): boolean {
    const { answer } = this;
    if (answer.spin(req, this.spinUs)) return true;
    const deadline = performance.now() + this.timeoutMs;
    while (!answer.awaitChange(req, 20)) {
      // Waiting (bounded) is not hanging: keep the heartbeat, so the watchdog names the host
      // that stopped serving, not the vCPU blocked in its request.
      this.stats[STAT.HEARTBEAT]++;
      if (performance.now() > deadline) return false;
    }
    return true;
  }
}

/** How the host reads a raised slot: its endpoints (topology table) and where guest memory lies. */
export interface RequestDecoder {
  endpoints: readonly number[];
  /** Guest memory a batch's address points into, and the word of an address (-1: outside it). */
  words: Int32Array;
  wordOfGpa(gpa: number, words: number): number;
}

/**
 * Host side: the pages vCPU v's notify word asks for, into `out`; -1 if the request is refused
 * (a BDF not in the topology table, an address outside guest memory, too many pages).
 */
export function decodeRequest(mem: SharedMem, m: Machine, v: number, d: RequestDecoder, out: Float64Array): number {
  const base = v * SLOT.WORDS;
  const lo = mem.load(m.slots, base + NOTIFY_LO);
  const hi = mem.load(m.slots, base + NOTIFY_HI);
  if ((hi & PIN_PAGES_IN_BATCH) === 0) {
    if (!d.endpoints.includes(lo & 0xffff)) return -1;
    out[0] = hi * 0x10000 + (lo >>> 16);
    return 1;
  }
  const w = d.wordOfGpa(lo >>> 0, PIN_INFO.PFN);
  if (w < 0 || !d.endpoints.includes(mem.load(d.words, w + PIN_INFO.BDF) & 0xffff)) return -1;
  const n = mem.load(d.words, w + PIN_INFO.NR_LO);
  if (n < 1 || n > out.length || mem.load(d.words, w + PIN_INFO.NR_HI) !== 0 || d.wordOfGpa(lo >>> 0, pinInfoWords(n)) < 0) return -1;
  for (let k = 0; k < n; k++) out[k] = mem.load(d.words, w + PIN_INFO.PFN + 2 * k);
  return n;
}

/**
 * Host side: serve every raised slot once (`serve(v)` handles vCPU v's notify word and returns the
 * pages it could not pin); the notify word is cleared, then REQ, as crosvm's pin worker does.
 */
export function serveSlots(
  mem: SharedMem,
  m: Machine,
  serve: (v: number) => number,
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
    mem.store(s, base + SLOT.STATUS, serve(v));
    mem.store(s, base + NOTIFY_LO, 0);
    mem.store(s, base + NOTIFY_HI, 0);
    done?.(v);
    answerDoorbell(mem, m, v).set(0);
    served++;
  }
  return served;
}

/** A slot whose REQ is down was served: its notify word must be clear (the next request starts from 0). */
export function notifyWordLeftBehind(m: Machine): boolean {
  for (let v = 0; v < m.spec.vcpus; v++) {
    const base = v * SLOT.WORDS;
    if (Atomics.load(m.slots, base + SLOT.REQ) !== 0) continue;
    if (Atomics.load(m.slots, base + NOTIFY_LO) !== 0 || Atomics.load(m.slots, base + NOTIFY_HI) !== 0) return true;
  }
  return false;
}

/** Any slot raised? (the host re-checks this after raising its parked flag) */
export function anySlotRaised(mem: SharedMem, m: Machine): boolean {
  for (let v = 0; v < m.spec.vcpus; v++) if (mem.load(m.slots, v * SLOT.WORDS + SLOT.REQ) !== 0) return true;
  return false;
}
