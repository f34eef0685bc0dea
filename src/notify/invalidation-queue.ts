// The VT-d invalidation queue: a ring of 4-word descriptors in guest memory, a tail register the
// guest writes, a head register the host writes, and a wait descriptor per submission whose status
// word the host writes once everything queued before it is done.
//
// Guest submit (Linux qi_submit_sync): take the queue lock, write the descriptors and one wait
// descriptor, write the tail, then wait until the status word flips, and only then drop the lock.
// Only the tail write differs by path:
//   trap     - the tail register is emulated: writing it is an exit. The vCPU blocks (and keeps the
//              queue lock: other vCPUs that want to submit block behind it) until the hypervisor
//              has consumed the queue.
//   sidecore - the tail is plain shared memory that the sidecore polls; the vCPU spins (bounded,
//              then parks) on its status word. A parked sidecore costs one notify, never an exit.
//
// A submission can fail two ways, each seen by the guest (src/policies/viommu/guest.ts undoes a
// map that failed): the queue refuses it before the host sees it (an injected invalidation queue
// error: nothing was queued, SUBMIT.REFUSED), or the host completes the wait descriptor with an
// error status (-seq: a shadow pin failed, SUBMIT.FAILED); what did work stays done either way.
import { DESC_TYPE, INV_DESC, INVQ, LINE_WORDS, STAT, invqHeaderWords } from '../machine/layout.js';
import type { Machine } from '../machine/machine.js';
import type { SharedMem } from '../machine/shared-mem.js';
import type { NotifyPath } from '../core/types.js';
import { PinStateLock } from './lock.js';
import { Delivery } from './delivery.js';
import type { RequestClock } from './pin-request.js';
import { Doorbell } from './doorbell.js';
import { failHere } from '../core/faults/hooks.js';

export class InvalidationTimeoutError extends Error {}

/** How a submission ended: done, refused by the queue (nothing queued), or completed with an error status. */
export const SUBMIT = { OK: 0, REFUSED: 1, FAILED: 2 } as const;
export type SubmitResult = (typeof SUBMIT)[keyof typeof SUBMIT];

export const statusWord = (vcpu: number): number => INVQ.STATUS + vcpu * LINE_WORDS;
const queueEntries = (m: Machine): number => (m.invq.length - invqHeaderWords(m.spec.vcpus)) / INVQ.DESC_WORDS;
const descAt = (m: Machine, slot: number): number => invqHeaderWords(m.spec.vcpus) + slot * INVQ.DESC_WORDS;
/** vCPU `vcpu`'s status doorbell: the host writes the sequence, the vCPU sleeps on it with STATUS_PARKED raised. */
const statusDoorbell = (mem: SharedMem, m: Machine, vcpu: number): Doorbell =>
  new Doorbell(mem, m.invq, statusWord(vcpu), statusWord(vcpu) + INVQ.STATUS_PARKED);

/** Guest side: one per vCPU. All vCPUs share the one queue under its lock. */
export class InvalidationQueue {
  private seq = 0;
  private readonly lock: PinStateLock;
  private readonly entries: number;
  /** This vCPU's wait-descriptor status word, as a doorbell. */
  private readonly status: Doorbell;
  private readonly delivery: Delivery;
  /** Test hook: what a tail write does in place of an exit / a sidecore poll (runs the host inline). */
  onTailWrite?: () => void;
  /** The vCPU's virtual clock: the submission carries its time, the wait descriptor its completion. */
  clock?: RequestClock;
  /** Submit latency (lock + descriptors + wait), in ns, when set. */
  latency?: { recordValue(ns: number): void };

  constructor(
    readonly path: NotifyPath,
    private readonly mem: SharedMem,
    private readonly m: Machine,
    private readonly vcpu: number,
    /** How long the vCPU spins on its status word before it parks (trap: 0, the exit stops it). */
    private readonly spinUs: number,
    /** A host that has not completed the wait descriptor after this long is declared stuck. */
    private readonly timeoutMs: number,
    /** Guest stats block: submissions, exits, wake-ups and lock contention are counted here. */
    private readonly stats: Float64Array,
  ) {
    this.entries = queueEntries(m);
    this.status = statusDoorbell(mem, m, vcpu);
    // Continue from whatever the status word holds (a machine reused by a new driver instance):
    // the next sequence number always differs from it (an error status is the negated sequence).
    this.seq = Math.abs(this.status.value());
    this.lock = new PinStateLock(mem, m.invq, INVQ.LOCK, timeoutMs, 'invalidation queue lock');
    this.delivery = new Delivery(path, mem, m, stats);
  }

  /**
   * Queue one IOTLB invalidation per range (iova, pages pairs in `ranges`, n ranges) and a wait
   * descriptor; return when the host has completed it. Larger batches than the queue holds are
   * split, each part with its own wait descriptor; a part refused stops the rest (the caller retries
   * or undoes), a part completed with an error does not.
   */
  submit(ranges: ArrayLike<number>, n: number): SubmitResult {
    const t0 = this.latency ? performance.now() : 0;
    const per = this.entries - 1;
    let result: SubmitResult = SUBMIT.OK;
    for (let at = 0; at < n || (n === 0 && at === 0); at += per) {
      const r = this.submitPart(ranges, at, Math.min(n - at, per));
      if (r !== SUBMIT.OK) result = r;
      if (r === SUBMIT.REFUSED) break;
    }
    if (this.latency) this.latency.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1e6)));
    return result;
  }

  private submitPart(ranges: ArrayLike<number>, from: number, n: number): SubmitResult {
    if (failHere('queue-submit')) return SUBMIT.REFUSED; // an injected queue error: nothing was queued
    const { mem, m, stats } = this;
    const q = m.invq;
    this.clock?.sync(); // before the lock: a vCPU waiting for a host timer must not hold it
    if (mem.load(q, INVQ.LOCK) !== 0) stats[STAT.QUEUE_LOCK_WAITS]++;
    this.lock.lock();
    try {
      let tail = mem.load(q, INVQ.TAIL);
      this.awaitSpace(tail, n + 1);
      const mask = this.entries - 1;
      for (let k = 0; k < n; k++) {
        const d = descAt(m, tail & mask);
        mem.store(q, d + INV_DESC.TYPE, DESC_TYPE.IOTLB_INV);
        mem.store(q, d + INV_DESC.IOVA, ranges[2 * (from + k)]);
        mem.store(q, d + INV_DESC.PAGES, ranges[2 * (from + k) + 1]);
        mem.store(q, d + INV_DESC.RESERVED, 0);
        tail = (tail + 1) | 0;
      }
      const seq = (this.seq = (this.seq % 0x7ffffffe) + 1);
      const d = descAt(m, tail & mask);
      mem.store(q, d + INV_DESC.TYPE, DESC_TYPE.WAIT);
      mem.store(q, d + INV_DESC.VCPU, this.vcpu);
      mem.store(q, d + INV_DESC.SEQ, seq);
      mem.store(q, d + INV_DESC.RESERVED, 0);
      tail = (tail + 1) | 0;
      const before = this.status.value();
      this.clock?.request(); // before the tail write: a polling sidecore may take it at once
      mem.store(q, INVQ.TAIL, tail); // the tail register write
      stats[STAT.INV_SUBMITS]++;
      if (this.onTailWrite) {
        if (this.path === 'trap') stats[STAT.EXITS]++; // the emulated register write traps
        this.onTailWrite();
      } else this.delivery.deliver(); // trap: the emulated register write is the exit
      const ok = this.awaitStatus(before, seq, this.spinUs);
      this.clock?.answered();
      return ok ? SUBMIT.OK : SUBMIT.FAILED;
    } finally {
      this.lock.unlock();
    }
  }

  /** The ring is full only if the host fell behind by a whole queue: wait for HEAD to move. */
  private awaitSpace(tail: number, need: number): void {
    const { mem, m } = this;
    const deadline = performance.now() + this.timeoutMs;
    for (;;) {
      const head = mem.load(m.invq, INVQ.HEAD);
      if (((tail - head) | 0) + need <= this.entries) return;
      mem.wait(m.invq, INVQ.HEAD, head, 1);
      if (performance.now() > deadline) throw new InvalidationTimeoutError(`invalidation queue full for ${this.timeoutMs} ms (host stuck?)`);
    }
  }

  /** Wait for the status word to say `seq` (done: true) or `-seq` (done with an error: false). */
  private awaitStatus(before: number, seq: number, spinUs: number): boolean {
    const { status } = this;
    const done = () => Math.abs(status.value()) === seq;
    if (done() || (status.spin(before, spinUs) && done())) return status.value() === seq;
    const deadline = performance.now() + this.timeoutMs;
    this.stats[STAT.GUEST_PARKS]++;
    while (!done()) {
      status.awaitChange(before, 20);
      // Waiting (bounded) is not hanging: keep the heartbeat, so the watchdog names the host
      // that stopped serving, not the vCPU blocked in its exit.
      this.stats[STAT.HEARTBEAT]++;
      if (performance.now() > deadline)
        throw new InvalidationTimeoutError(
          `wait descriptor not completed within ${this.timeoutMs} ms (${this.path === 'trap' ? 'hypervisor' : 'sidecore'} stuck?)`,
        );
    }
    return status.value() === seq;
  }
}

/** What the host does with each descriptor. */
export interface InvalidationHandler {
  /** An IOTLB invalidation of [iova, iova + pages). */
  invalidate(iova: number, pages: number): void;
  /**
   * A wait descriptor: everything before it must be done before the status word is written;
   * `complete(false)` writes the error status (something since the last wait failed).
   */
  wait(complete: (ok?: boolean) => void, vcpu: number): void;
}

/** Host side: consume every descriptor queued so far, once. Returns how many were consumed. */
export function consumeInvalidationQueue(mem: SharedMem, m: Machine, h: InvalidationHandler): number {
  const q = m.invq;
  const head = mem.load(q, INVQ.HEAD);
  const tail = mem.load(q, INVQ.TAIL);
  const n = (tail - head) | 0;
  if (n === 0) return 0;
  const mask = queueEntries(m) - 1;
  for (let i = head; i !== tail; i = (i + 1) | 0) {
    const d = descAt(m, i & mask);
    const type = mem.load(q, d + INV_DESC.TYPE);
    if (type === DESC_TYPE.IOTLB_INV) h.invalidate(mem.load(q, d + INV_DESC.IOVA), mem.load(q, d + INV_DESC.PAGES));
    else if (type === DESC_TYPE.WAIT) {
      const v = mem.load(q, d + INV_DESC.VCPU);
      const seq = mem.load(q, d + INV_DESC.SEQ);
      // Everything up to here is read: give the slots back before the vCPU is told it is done,
      // so its next submission never waits for space that is already free.
      mem.store(q, INVQ.HEAD, (i + 1) | 0);
      h.wait((ok = true) => void statusDoorbell(mem, m, v).set(ok ? seq : -seq), v);
    } else throw new Error(`invalidation queue: unknown descriptor type ${type} at ${i & mask}`);
  }
  mem.store(q, INVQ.HEAD, tail);
  return n;
}

/** Anything queued and not yet consumed? (the host re-checks this after raising its parked flag) */
export function invalidationPending(mem: SharedMem, m: Machine): boolean {
  return mem.load(m.invq, INVQ.TAIL) !== mem.load(m.invq, INVQ.HEAD);
}
