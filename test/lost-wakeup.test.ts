// The lost-wake-up check of free runs (src/machine/wake-check.ts): a wait that timed out on a
// changed word with no notify is a lost wake-up, a late notify within the grace is not, and the
// planted bug unlock-no-wake (the pin-state lock freed without waking its waiter) is caught in a
// free run while the real lock, in the same run, is clean.
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { countedNotify } from '../src/machine/notify-ledger.js';
import { wakeChecking } from '../src/machine/wake-check.js';
import { NOTIFY_LEDGER_WORDS } from '../src/machine/layout.js';
import { runScenario } from '../src/lab/orchestrator.js';
import { smallScenario } from './helpers/scenario.js';

// The waker: waits for GO, naps `delayMs`, changes the word, then (after `notifyAfterMs`, if >= 0)
// notifies it through the ledger the way countedNotify does. Plain JS: no build needed.
const WAKER = `
const { workerData: { words, ledger, slot, delayMs, notifyAfterMs } } = require('node:worker_threads');
const nap = new Int32Array(new SharedArrayBuffer(4));
Atomics.wait(words, 1, 0);
Atomics.wait(nap, 0, 0, delayMs);
Atomics.store(words, 0, 1);
if (notifyAfterMs >= 0) {
  if (notifyAfterMs > 0) Atomics.wait(nap, 0, 0, notifyAfterMs);
  Atomics.add(ledger, slot, 1);
  Atomics.notify(words, 0);
}
`;

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

/** One wait of the main thread on word 0 (timeout `timeoutMs`) against a waker thread. */
async function waitAgainst(waker: { delayMs: number; notifyAfterMs: number }, timeoutMs: number, graceMs: number) {
  const words = new Int32Array(new SharedArrayBuffer(64));
  const ledger = new Int32Array(new SharedArrayBuffer(NOTIFY_LEDGER_WORDS * 4));
  const seen = { late: 0, lost: 0 };
  const mem = wakeChecking(ledger, graceMs, { late: () => seen.late++, lost: () => seen.lost++ });
  const probe = new Int32Array(words.buffer, 0, 1);
  countedNotify(ledger, probe, 0); // learn the word's slot: the only counter this bumps
  const slot = ledger.findIndex((n) => n === 1);
  ledger.fill(0);
  const w = new Worker(WAKER, { eval: true, workerData: { words, ledger, slot, ...waker } });
  workers.push(w);
  await new Promise((r) => w.once('online', r));
  Atomics.store(words, 1, 1);
  Atomics.notify(words, 1);
  const result = mem.wait(words, 0, 0, timeoutMs);
  return { result, ...seen };
}

describe('lost-wake-up check', () => {
  it('reports a word changed during the wait that nobody notified', async () => {
    const r = await waitAgainst({ delayMs: 30, notifyAfterMs: -1 }, 400, 200);
    expect(r).toEqual({ result: 'timed-out', late: 0, lost: 1 });
  });

  it('says nothing when the waker notifies (the wait is woken)', async () => {
    const r = await waitAgainst({ delayMs: 30, notifyAfterMs: 0 }, 5000, 200);
    expect(r).toEqual({ result: 'ok', late: 0, lost: 0 });
  });

  it('counts a notify that comes after the timeout, within the grace, as late, not lost', async () => {
    const r = await waitAgainst({ delayMs: 10, notifyAfterMs: 400 }, 100, 5000);
    expect(r).toEqual({ result: 'timed-out', late: 1, lost: 0 });
  });

  it('says nothing when the word never changed before the timeout', async () => {
    const r = await waitAgainst({ delayMs: 600, notifyAfterMs: -1 }, 50, 200);
    expect(r).toEqual({ result: 'timed-out', late: 0, lost: 0 });
  });
});

describe('lost-wake-up check in a free run', () => {
  // Two vCPUs pinning through the sidecore while the hypervisor's 1 ms unpin scan and its
  // reclaimer take the same pin-state lock: the lock is contended, so its waiters park.
  const contended = (variant: 'none' | 'unlock-no-wake') =>
    smallScenario({
      policy: 'coiommu', notify: 'sidecore', vcpus: 2, clock: 'wall', durationMs: 1500, guestPages: 1024, variant,
      coiommu: { unpinIntervalMs: 1 }, host: { frames: 256, memoryPages: 192 }, notifyPath: { wakeGraceMs: 200 },
    });

  it('catches unlock-no-wake (the pin-state lock freed without waking its waiter)', async () => {
    const r = await runScenario(contended('unlock-no-wake'));
    expect(r.violations.lostWakeups).toBeGreaterThan(0);
    expect(r.violations.first).toMatchObject({ kind: 'lostWakeups', detail: expect.stringContaining('lost wake-up') });
  });

  it('the real lock in the same run is clean', async () => {
    const r = await runScenario(contended('none'));
    expect(r.violations).toEqual({ dmaToUnpinned: 0, lostPayloads: 0, accounting: 0, unpinnedWhileMapped: 0, lostWakeups: 0, mapFailures: 0, undrainedUnpins: 0 });
    expect(r.wakeCheck).toMatchObject({ graceMs: 200 });
    expect(r.host.reclaimed).toBeGreaterThan(0);
  });
});
