// A role that fails because it waited for another (a pin request not answered, a lock not
// released) is not the culprit: the run's error names the role whose heartbeat stalled.
import type { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { RunError } from '../src/core/errors.js';
import { RunSession, type RoleHandle } from '../src/lab/run-session.js';
import { STAT, STAT_BLOCK } from '../src/machine/layout.js';
import { Machine } from '../src/machine/machine.js';

/** A stand-in role: its run settles as `run` says; no worker behind it. */
function fake(s: RunSession, label: string, role: RoleHandle['role'], statBlock: number, run: () => Promise<never>): RoleHandle {
  const h = { label, role, index: 0, statBlock, finished: false, worker: { terminate: async () => 0 } as unknown as Worker, api: { run } } as unknown as RoleHandle;
  s.handles.push(h);
  return h;
}

describe('blame', () => {
  it.each([
    [true, 'sidecore'],
    [false, 'guest vCPU 0'],
  ])('a vCPU that gives up waiting while the sidecore is stalled (%s): the error names %s', async (sidecoreStalls, who) => {
    const s = new RunSession(Machine.create({ guestPages: 16, vcpus: 1, hostFrames: 16, dataFrames: 16, ringEntries: 4 }));
    const beat = (b: number) => s.machine.statsBlock(b)[STAT.HEARTBEAT]++;
    const beating = setInterval(() => {
      beat(STAT_BLOCK.guest0); // waiting is not hanging: the vCPU keeps beating
      if (!sidecoreStalls) beat(STAT_BLOCK.sidecore);
    }, 10);
    fake(s, 'guest vCPU 0', 'guest', STAT_BLOCK.guest0, () => new Promise((_, reject) => setTimeout(() => reject(new Error('pin request not answered within 1000 ms')), 700)));
    fake(s, 'sidecore', 'sidecore', STAT_BLOCK.sidecore, () => new Promise(() => {}));
    const watchdog = s.watch(1000); // the vCPU's own timeout fires before the watchdog would
    s.runAll(0);
    await s.until(() => s.failure !== undefined).catch(() => {});
    clearInterval(beating);
    clearInterval(watchdog);
    expect(s.failure).toBeInstanceOf(RunError);
    expect(s.failure!.role).toBe(who);
    expect(s.failure!.message.startsWith(who)).toBe(true);
    if (sidecoreStalls) expect(s.failure!.message).toMatch(/^sidecore is hung \(no progress for \d+ ms\); guest vCPU 0 waited for it: guest vCPU 0 failed: pin request not answered/);
    await s.close();
  });
});
