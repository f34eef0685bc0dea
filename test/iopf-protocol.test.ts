// iopf units over real shared memory (one thread, free-running Atomics): the page request queue,
// the host's fault handler (minor, major, INVALID, a second fault on a mapped page), the reclaim
// with shootdown (skips a page under DMA), teardown accounting, and the DMA engine's fault path.
import { describe, expect, it } from 'vitest';
import { CTL, STAT } from '../src/machine/layout.js';
import { freeRunning } from '../src/machine/shared-mem.js';
import { readStamp } from '../src/mem/payload.js';
import { PR, PRQ_GROUPS, RESP, readPrqCounts } from '../src/policies/iopf/prq.js';

import { PAGES, rig } from './helpers/iopf-rig.js';

describe('page request queue and fault handler', () => {
  it('a miss raises one request (page, group, LAST); the host pins and maps, then answers SUCCESS', () => {
    const { m, iopf, dev, dma, host, hostStats } = rig();
    expect(dma.write(3, 3, 7)).toBe(false); // drop mode: the descriptor is dropped
    expect(iopf.pending()).toBe(true);
    const ring = iopf.q.ring;
    expect(ring.peek(0, PR.PAGE)).toBe(3);
    expect(ring.peek(0, PR.GROUP)).toBe(dev.lastGroup);
    expect(iopf.q.status(dev.lastGroup)).toBe(RESP.PENDING);
    expect(iopf.serve()).toBe(1);
    expect(iopf.q.status(dev.lastGroup)).toBe(RESP.SUCCESS);
    expect(host.pinnedFrame(3)).toBeGreaterThanOrEqual(0);
    expect(hostStats[STAT.PINS]).toBe(1);
    expect(dev.settle(dev.lastGroup)).toBe(RESP.SUCCESS);
    expect(dma.write(3, 3, 7)).toBe(true); // re-posted: goes through
    expect(readStamp(freeRunning, m, 3)).toBe(7);
    expect(readPrqCounts(m)).toMatchObject({ RAISED: 1, ANSWERED: 1, MINOR: 1, MAJOR: 0, DROPPED: 1 });
    expect(Atomics.load(m.control, CTL.VIOL_DMA)).toBe(0);
  });

  it('two faults on one page: both answered SUCCESS, one pin', () => {
    const { m, iopf, dev, dma, hostStats } = rig();
    dma.write(5, 5, 1);
    const g1 = dev.lastGroup;
    dma.write(5, 5, 1);
    const g2 = dev.lastGroup;
    expect(g1).not.toBe(g2);
    expect(iopf.serve()).toBe(2);
    expect([iopf.q.status(g1), iopf.q.status(g2)]).toEqual([RESP.SUCCESS, RESP.SUCCESS]);
    expect(hostStats[STAT.PINS]).toBe(1);
    expect(readPrqCounts(m).ANSWERED).toBe(2);
  });

  it('a page outside the guest is answered INVALID and mapped nowhere', () => {
    const { iopf, dev } = rig();
    expect(dev.fault(PAGES + 3)).toBe(false); // a request for an address past the guest's memory
    iopf.serve();
    expect(dev.settle(dev.lastGroup)).toBe(RESP.INVALID);
    expect(readPrqCounts(iopf.q.m).INVALID).toBe(1);
  });

  it('a reclaimed page faults back in from swap (major) with its contents', () => {
    const { m, iopf, dev, dma, reclaim, host, accountingOk } = rig();
    dma.write(2, 2, 1);
    iopf.serve();
    dev.settle(dev.lastGroup);
    expect(dma.write(2, 2, 42)).toBe(true);
    expect(reclaim(2)).toBe(true);
    expect(host.residentFrame(2)).toBe(-1);
    expect(readStamp(freeRunning, m, 2)).toBe(42); // in swap
    expect(dma.write(2, 2, 43)).toBe(false); // the shootdown dropped the IOTLB entry: a miss, a fault
    iopf.serve();
    dev.settle(dev.lastGroup);
    expect(readPrqCounts(m)).toMatchObject({ MAJOR: 1, SHOOTDOWNS: 1 });
    expect(readStamp(freeRunning, m, 2)).toBe(42); // restored before the device writes again
    expect(dma.write(2, 2, 43)).toBe(true);
    expect(accountingOk()).toBe(true);
  });

  it('reclaim skips a page under an in-flight DMA (and leaves it mapped); the shootdown is counted only when done', () => {
    const { m, iopf, dev, dma, host, accountingOk } = rig();
    dma.write(4, 4, 1);
    iopf.serve();
    dev.settle(dev.lastGroup);
    dev.enter(4); // the device is in the middle of a DMA on page 4
    expect(iopf.forceUnpin(4)).toBe(false);
    expect(host.pinnedFrame(4)).toBeGreaterThanOrEqual(0);
    expect(readPrqCounts(m)).toMatchObject({ SKIPPED_BUSY: 1, SHOOTDOWNS: 0 });
    dev.leave(4);
    expect(iopf.forceUnpin(4)).toBe(true);
    expect(host.pinnedFrame(4)).toBe(-1);
    expect(accountingOk()).toBe(true);
  });

  it('teardown reports a request raised and never answered', () => {
    const { iopf, dma } = rig();
    dma.write(1, 1, 1);
    const left: string[] = [];
    iopf.checkTeardown((what) => left.push(what));
    expect(left.join('; ')).toMatch(/still queued.*unanswered.*raised 1 != answered 0/);
    iopf.serve();
    const after: string[] = [];
    iopf.checkTeardown((what) => after.push(what));
    expect(after).toEqual([]);
  });

  it('at the --host-mem budget a fault first takes back the page faulted in longest ago, with its shootdown', () => {
    const { m, iopf, dev, dma, host, accountingOk } = rig('none', 4);
    const touch = (g: number, stamp: number) => {
      if (!dma.write(g, g, stamp)) {
        iopf.serve();
        dev.settle(dev.lastGroup);
        expect(dma.write(g, g, stamp)).toBe(true);
      }
    };
    for (let g = 0; g < 6; g++) touch(g, 100 + g);
    expect(Atomics.load(m.control, CTL.RESIDENT_NOW)).toBe(4);
    expect([0, 1, 2, 3, 4, 5].map((g) => host.residentFrame(g) >= 0)).toEqual([false, false, true, true, true, true]);
    expect(readPrqCounts(m).SHOOTDOWNS).toBe(2);
    touch(0, 200); // back from swap (major), evicting page 2
    expect(readPrqCounts(m).MAJOR).toBe(1);
    expect(host.residentFrame(2)).toBe(-1);
    expect(readStamp(freeRunning, m, 2)).toBe(102);
    expect(accountingOk()).toBe(true);
  });

  it('group indices wrap: more faults than groups are all answered', () => {
    const { m, iopf, dma } = rig();
    for (let k = 0; k < PRQ_GROUPS * 2; k++) {
      dma.write(k % PAGES, k % PAGES, 1);
      iopf.serve();
    }
    const c = readPrqCounts(m);
    expect(c.RAISED).toBe(PAGES);
    expect(c.ANSWERED).toBe(PAGES);
  });
});

describe('--balloon on the command line', () => {
  it('a bad size@time is a usage error naming the flag, the value and what is allowed', async () => {
    const { main } = await import('../src/cli/main.js');
    let err = '';
    const code = await main(['run', '--policy', 'iopf', '--balloon', '3MiB'], { stdout: () => {}, stderr: (s) => void (err += s), stderrIsTTY: false });
    expect(code).toBe(2);
    expect(err).toContain('--balloon "3MiB"');
    expect(err).toContain('<size>@<time>');
  });
});
