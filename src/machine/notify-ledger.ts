// The notify ledger: how many notifies were issued on each waited word, so a waiter whose wait
// timed out can tell "the word changed and nobody notified" (a lost wake-up) from "a notify came"
// (src/machine/wake-check.ts). Words are named by their address in the machine's buffer and
// hashed onto NOTIFY_LEDGER_WORDS counters: a collision can only make a notify seem to have come,
// so it may hide a lost wake-up but never invent one. Observed, not protocol: plain Atomics.
import { NOTIFY_LEDGER_WORDS } from './layout.js';

/** The ledger counter of word `i` of `a` (its word address in the buffer, hashed). */
export function ledgerSlot(a: Int32Array, i: number): number {
  return ((a.byteOffset >>> 2) + i) & (NOTIFY_LEDGER_WORDS - 1);
}

/** Count a notify on a[i], then notify. Every notify of a run's roles and main thread goes through here. */
export function countedNotify(ledger: Int32Array, a: Int32Array, i: number, count?: number): number {
  Atomics.add(ledger, ledgerSlot(a, i), 1);
  return Atomics.notify(a, i, count);
}

/** Notifies counted on a[i]'s slot so far. */
export function notifiesOn(ledger: Int32Array, a: Int32Array, i: number): number {
  return Atomics.load(ledger, ledgerSlot(a, i));
}
