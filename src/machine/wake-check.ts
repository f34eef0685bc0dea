// The free-running executor with a lost-wake-up check. Every wait in the protocols has a timeout
// slice, so a lost wake-up (a word changed, its sleeper never notified) would only slow a free run
// down; here it is caught. A wait that timed out although its word had changed, with no notify
// counted on the word since the wait began (notify-ledger.ts), is a suspect. It is not yet a lost
// wake-up: the waker may have been descheduled between its store and its notify. The check keeps
// the waiter inside wait() (its parked flag still raised, so a doorbell waker that changed the word
// will still see it parked and notify) for up to `graceMs`, napping 1 ms at a time; a notify within
// the grace is a late wake (counted), none is a lost wake-up (reported).
import { freeRunning, type SharedMem, type WaitResult } from './shared-mem.js';
import { countedNotify, notifiesOn } from './notify-ledger.js';

export interface WakeCheckSink {
  /** A notify came after the wait timed out, within the grace. */
  late(): void;
  /** No notify came within the grace: a lost wake-up. */
  lost(): void;
}

const NAP_MS = 1;

/** Atomics with counted notifies and checked waits (load, store and the RMWs stay Atomics' own). */
export function wakeChecking(ledger: Int32Array, graceMs: number, sink: WakeCheckSink): SharedMem {
  const nap = new Int32Array(new SharedArrayBuffer(4));
  const notify = (a: Int32Array, i: number, count?: number): number => countedNotify(ledger, a, i, count);
  const wait = (a: Int32Array, i: number, value: number, timeoutMs?: number): WaitResult => {
    const before = notifiesOn(ledger, a, i);
    const r = Atomics.wait(a, i, value, timeoutMs);
    if (r === 'timed-out' && Atomics.load(a, i) !== value && notifiesOn(ledger, a, i) === before) {
      if (notifiedWithin(graceMs, () => notifiesOn(ledger, a, i) !== before, nap)) sink.late();
      else sink.lost();
    }
    return r;
  };
  return Object.assign(Object.create(freeRunning) as object, { wait, notify }) as SharedMem;
}

/** Nap until `notified()` or `graceMs` passes. True if notified. */
function notifiedWithin(graceMs: number, notified: () => boolean, nap: Int32Array): boolean {
  const until = performance.now() + graceMs;
  while (performance.now() < until) {
    if (notified()) return true;
    Atomics.wait(nap, 0, 0, NAP_MS);
  }
  return notified();
}
