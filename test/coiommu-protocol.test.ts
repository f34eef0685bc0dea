// Each step of DESIGN 1.1, run single-threaded against the real protocol code.
import { describe, expect, it } from 'vitest';
import { CTL, STAT } from '../src/machine/layout.js';
import { PIN_INFO_MAX_PAGES as SLOT_MAX_PAGES } from '../src/policies/coiommu/region.js';
import { freeRunning } from '../src/machine/shared-mem.js';
import { readStamp } from '../src/mem/payload.js';
import { ACCESSED, PINNED, maxMapCount } from '../src/policies/coiommu/dtt.js';
import { makeRig, type Rig } from './helpers/inline-host.js';

/** Everything the host keeps about one pinned page agrees: DTT PINNED, IOMMU entry, frame owner and pin. */
function expectPinned(r: Rig, g: number): number {
  const { m } = r;
  expect(r.pinned(g), `page ${g} PINNED`).toBe(true);
  const f = r.iommuFrame(g);
  expect(f, `page ${g} host IOMMU entry`).toBeGreaterThanOrEqual(0);
  expect(m.iommu[g]).toBe(f + 1);
  expect(m.frameOwner[f]).toBe(g + 1);
  expect(m.framePinned[f]).toBe(1);
  expect(m.ept[g]).toBe(f + 1);
  return f;
}

function expectUnpinned(r: Rig, g: number): void {
  expect(r.pinned(g), `page ${g} PINNED`).toBe(false);
  expect(r.m.iommu[g], `page ${g} host IOMMU entry`).toBe(0);
  const f = r.m.ept[g] - 1;
  if (f >= 0) expect(r.m.framePinned[f]).toBe(0);
}

/** Map + unmap: the page is pinned, count 0, ACCESSED still set. */
function touch(r: Rig, g: number, n = 1): void {
  expect(r.guest.map(g, n)).toBe(g);
  r.guest.unmap(g, g, n);
}

describe('guest map (DESIGN 1.1 steps 1-4)', () => {
  it('raises the map count and sets ACCESSED, on every page of the buffer', () => {
    const r = makeRig();
    expect(r.guest.map(5, 3)).toBe(5);
    for (const g of [5, 6, 7]) {
      expect(r.count(g)).toBe(1);
      expect(r.accessed(g)).toBe(true);
    }
    expect(r.entry(4)).toBe(0);
    expect(r.entry(8)).toBe(0);
    expect(r.guest.map(6, 1)).toBe(6);
    expect(r.count(6)).toBe(2);
    expect(r.guestStats[0][STAT.DTT_OPS]).toBe(4);
  });

  it('an unpinned page costs exactly one pin request, and ends PINNED with a host IOMMU entry', () => {
    const r = makeRig();
    expect(r.pinnedNow()).toBe(0);
    expect(r.guest.map(9, 1)).toBe(9);
    expect(r.requester.requests).toEqual([[9]]);
    expect(r.guestStats[0][STAT.PIN_REQUESTS]).toBe(1);
    expect(r.guestStats[0][STAT.PIN_REQUEST_PAGES]).toBe(1);
    expect(r.hostStats[STAT.PINS]).toBe(1);
    const f = expectPinned(r, 9);
    expect(r.m.iommu[9]).toBe(f + 1);
    expect(r.pinnedNow()).toBe(1);
    expect(r.entry(9)).toBe((PINNED | ACCESSED | 1) | 0);
  });

  it('a multi-page buffer asks for all its unpinned pages in one batch', () => {
    const r = makeRig();
    touch(r, 11); // page 11 already pinned
    r.requester.requests.length = 0;
    expect(r.guest.map(10, 4)).toBe(10);
    expect(r.requester.requests).toEqual([[10, 12, 13]]);
    for (const g of [10, 11, 12, 13]) expectPinned(r, g);
    expect(r.pinnedNow()).toBe(4);
    expect(r.guestStats[0][STAT.PIN_REQUESTS]).toBe(2);
    expect(r.guestStats[0][STAT.PIN_REQUEST_PAGES]).toBe(4);
  });

  it('a buffer larger than the pin-info buffer is asked for in buffer-sized batches', () => {
    const r = makeRig({ guestPages: 128 });
    const n = SLOT_MAX_PAGES + 3;
    expect(r.guest.map(0, n)).toBe(0);
    expect(r.requester.requests.map((q) => q.length)).toEqual([SLOT_MAX_PAGES, 3]);
    expect(r.requester.requests.flat()).toEqual(Array.from({ length: n }, (_, i) => i));
    for (let g = 0; g < n; g++) expect(r.count(g)).toBe(1);
    expect(r.pinnedNow()).toBe(n);
  });

  it('a pinned page costs no request', () => {
    const r = makeRig();
    touch(r, 3);
    expect(r.requester.requests.length).toBe(1);
    expect(r.guest.map(3, 1)).toBe(3);
    expect(r.guest.map(3, 1)).toBe(3);
    expect(r.requester.requests.length).toBe(1);
    expect(r.hostStats[STAT.PINS]).toBe(1);
    expect(r.count(3)).toBe(2);
  });

  it('unmap only decrements the count: PINNED (and ACCESSED) stay', () => {
    const r = makeRig();
    expect(r.guest.map(3, 2)).toBe(3);
    expect(r.guest.map(3, 1)).toBe(3);
    r.guest.unmap(3, 3, 2);
    expect(r.entry(3)).toBe((PINNED | ACCESSED | 1) | 0);
    expect(r.entry(4)).toBe((PINNED | ACCESSED) | 0);
    r.guest.unmap(3, 3, 1);
    expect(r.entry(3)).toBe((PINNED | ACCESSED) | 0);
    expectPinned(r, 3);
    expectPinned(r, 4);
    expect(r.pinnedNow()).toBe(2);
    expect(r.hostStats[STAT.UNPINS]).toBe(0);
  });

  it('the map count overflow check fails the map and leaves the count unchanged', () => {
    const r = makeRig({ vcpus: 2 });
    const max = maxMapCount(2);
    expect(max).toBe(0xffff - 2);
    let ok = 0;
    for (let k = 0; k < max; k++) if (r.guest.map(7, 1) === 7) ok++;
    expect(ok).toBe(max);
    expect(r.count(7)).toBe(max);
    const before = r.entry(7);
    expect(r.guest.map(7, 1)).toBe(-1);
    expect(r.entry(7)).toBe(before);
    expect(r.guests[1].map(7, 1)).toBe(-1);
    expect(r.entry(7)).toBe(before);
    // a buffer whose second page overflows: the first page's add is undone too
    expect(r.guest.map(6, 2)).toBe(-1);
    expect(r.count(6)).toBe(0);
    expect(r.count(7)).toBe(max);
    expect(r.requester.requests.length).toBe(1); // page 6 was never asked for
    expectPinned(r, 7);
    r.guest.unmap(7, 7, 1);
    expect(r.count(7)).toBe(max - 1);
    expect(r.guest.map(7, 1)).toBe(7);
  });

  it('a pin the host cannot do (out of frames) fails the map: count 0, ACCESSED clear', () => {
    const r = makeRig({ guestPages: 16, hostFrames: 2 });
    expect(r.guest.map(0, 1)).toBe(0);
    expect(r.guest.map(1, 1)).toBe(1);
    expect(r.guest.map(2, 1)).toBe(-1);
    expect(r.entry(2)).toBe(0);
    expect(r.m.iommu[2]).toBe(0);
    expect(r.m.ept[2]).toBe(0);
    expect(r.guestStats[0][STAT.MAP_FAILURES]).toBe(1);
    expect(r.pinnedNow()).toBe(2);
    // a two-page buffer whose second page cannot be pinned: both undone, the first stays pinned
    r.guest.unmap(1, 1, 1);
    r.host.unpinScan(); // page 1 loses ACCESSED
    expect(r.host.unpinScan()).toBe(1); // page 1 unpinned, its frame still resident
    expect(r.reclaimer(1).run()).toBe(1); // one frame freed
    expect(r.guest.map(3, 2)).toBe(-1);
    expect(r.requester.requests.at(-1)).toEqual([3, 4]);
    expect(r.entry(3)).toBe(PINNED);
    expect(r.entry(4)).toBe(0);
    expect(r.guestStats[0][STAT.MAP_FAILURES]).toBe(2);
    expect(r.checkAccounting()).toBe(true);
    expect(r.violations().accounting).toBe(0);
  });
});

describe('host lazy unpin scan (second-chance clock)', () => {
  it('a busy page keeps PINNED and loses ACCESSED', () => {
    const r = makeRig();
    expect(r.guest.map(4, 1)).toBe(4);
    expect(r.host.unpinScan()).toBe(0);
    expect(r.entry(4)).toBe((PINNED | 1) | 0);
    expect(r.host.unpinScan()).toBe(0);
    expect(r.entry(4)).toBe((PINNED | 1) | 0);
    expectPinned(r, 4);
    expect(r.hostStats[STAT.SCANS]).toBe(2);
    expect(r.hostStats[STAT.UNPINS]).toBe(0);
  });

  it('an idle page with ACCESSED set survives one round and is unpinned on the next', () => {
    const r = makeRig();
    touch(r, 4);
    touch(r, 20);
    expect(r.pinnedNow()).toBe(2);
    expect(r.host.unpinScan()).toBe(0);
    expect(r.entry(4)).toBe(PINNED);
    expectPinned(r, 4);
    expect(r.host.unpinScan()).toBe(2);
    expect(r.entry(4)).toBe(0);
    expectUnpinned(r, 4);
    expectUnpinned(r, 20);
    expect(r.pinnedNow()).toBe(0);
    expect(r.hostStats[STAT.UNPINS]).toBe(2);
    // the frame stays resident (only unpinned): reclaim is a separate step
    expect(r.m.ept[4]).toBeGreaterThan(0);
    expect(Atomics.load(r.m.control, CTL.RESIDENT_NOW)).toBe(2);
    // and the next map asks for a pin again
    expect(r.guest.map(4, 1)).toBe(4);
    expect(r.requester.requests.length).toBe(3);
    expectPinned(r, 4);
  });

  it('a re-map between two scans gives the page its second chance again', () => {
    const r = makeRig();
    touch(r, 4);
    r.host.unpinScan();
    touch(r, 4); // ACCESSED again, no request (still pinned)
    expect(r.requester.requests.length).toBe(1);
    expect(r.host.unpinScan()).toBe(0);
    expect(r.host.unpinScan()).toBe(1);
  });

  it('old generation: a page busy for unpinGenThreshold rounds is scanned only every unpinGenThreshold-th round (crosvm)', () => {
    const T = 3;
    const r = makeRig({ coiommu: { unpinGenThreshold: T } });
    expect(r.guest.map(4, 1)).toBe(4); // stays busy
    const f = r.iommuFrame(4);
    let round = 0;
    for (; round < T; round++) {
      r.host.unpinScan();
      expect(r.m.frameGen[f]).toBe(round + 1);
    }
    r.guest.unmap(4, 4, 1);
    expect(r.entry(4)).toBe(PINNED); // idle, ACCESSED clear: a young page would go in the next scan
    touch(r, 30); // a young page for comparison: idle, ACCESSED set
    const young = r.iommuFrame(30);
    expect(r.m.frameGen[young]).toBe(0);
    for (; (round + 1) % T !== 0; round++) {
      r.host.unpinScan();
      expect(r.pinned(4), `round ${round + 1}`).toBe(true);
    }
    expect(r.pinned(30)).toBe(false); // the young one went after its second chance
    expect(r.m.frameGen[f]).toBe(T); // no longer aged
    expect(round + 1).toBe(2 * T);
    expect(r.host.unpinScan()).toBe(1); // the old generation's round
    expectUnpinned(r, 4);
    // a re-pin starts the page young again
    expect(r.guest.map(4, 1)).toBe(4);
    expect(r.m.frameGen[r.iommuFrame(4)]).toBe(0);
  });

  it('a busy old-generation page still loses ACCESSED on old rounds only', () => {
    const T = 2;
    const r = makeRig({ coiommu: { unpinGenThreshold: T } });
    expect(r.guest.map(4, 1)).toBe(4);
    r.host.unpinScan(); // round 1: busy, gen 1, ACCESSED cleared
    r.host.unpinScan(); // round 2 (old round, but the page is still young): gen 2, old now
    expect(r.m.frameGen[r.iommuFrame(4)]).toBe(T);
    expect(r.guest.map(4, 1)).toBe(4); // ACCESSED again
    r.host.unpinScan(); // round 3: the old generation is not scanned
    expect(r.accessed(4)).toBe(true);
    r.host.unpinScan(); // round 4
    expect(r.accessed(4)).toBe(false);
    expect(r.count(4)).toBe(2);
    expect(r.pinned(4)).toBe(true);
  });

  it('unpinLimit caps unpins per round', () => {
    const r = makeRig({ coiommu: { unpinLimit: 2 } });
    for (const g of [1, 3, 5, 7, 9]) touch(r, g);
    expect(r.host.unpinScan()).toBe(0); // everyone's second chance
    expect(r.host.unpinScan()).toBe(2);
    expect(r.pinnedNow()).toBe(3);
    expect(r.host.unpinScan()).toBe(2);
    expect(r.host.unpinScan()).toBe(1);
    expect(r.host.unpinScan()).toBe(0);
    expect(r.pinnedNow()).toBe(0);
    expect(r.hostStats[STAT.UNPINS]).toBe(5);
  });

  it('speculativePages pins neighbours, which the next idle scan unpins', () => {
    const r = makeRig({ guestPages: 32, coiommu: { speculativePages: 3 } });
    expect(r.guest.map(10, 1)).toBe(10);
    expect(r.requester.requests).toEqual([[10]]);
    for (const g of [10, 11, 12, 13]) expectPinned(r, g);
    expectUnpinned(r, 14);
    expect(r.hostStats[STAT.PINS]).toBe(4);
    expect(r.hostStats[STAT.SPECULATIVE_PINS]).toBe(3);
    for (const g of [11, 12, 13]) expect(r.entry(g)).toBe(PINNED); // count 0, ACCESSED clear
    // a speculatively pinned page is used without a request
    expect(r.guest.map(12, 1)).toBe(12);
    expect(r.requester.requests.length).toBe(1);
    r.guest.unmap(12, 12, 1);
    // the next scan takes the untouched neighbours; the mapped page and the used one stay
    expect(r.host.unpinScan()).toBe(2);
    expectUnpinned(r, 11);
    expectUnpinned(r, 13);
    expectPinned(r, 10);
    expectPinned(r, 12);
    // neighbours already pinned are neither pinned again nor counted: only 11 is new
    expect(r.guest.map(9, 1)).toBe(9);
    for (const g of [9, 10, 11, 12]) expectPinned(r, g);
    expectUnpinned(r, 13);
    expect(r.hostStats[STAT.SPECULATIVE_PINS]).toBe(4);
    expect(r.hostStats[STAT.PINS]).toBe(6);
    // at the end of guest memory the window is cut
    expect(r.guest.map(30, 1)).toBe(30);
    expectPinned(r, 31);
    expect(r.hostStats[STAT.SPECULATIVE_PINS]).toBe(5);
    expect(r.pinnedNow()).toBe(6); // 9..12, 30, 31
    expect(r.checkAccounting()).toBe(true);
  });
});

describe('force-unpin (memory pressure)', () => {
  it('fails on a mapped page and succeeds on an idle one (even with ACCESSED set)', () => {
    const r = makeRig();
    expect(r.guest.map(2, 1)).toBe(2);
    touch(r, 3);
    expect(r.accessed(3)).toBe(true);
    expect(r.host.forceUnpin(2)).toBe(false);
    expectPinned(r, 2);
    expect(r.count(2)).toBe(1);
    expect(r.host.forceUnpin(3)).toBe(true);
    expectUnpinned(r, 3);
    expect(r.entry(3)).toBe(0);
    expect(r.host.forceUnpin(3)).toBe(false); // nothing left to unpin
    expect(r.host.forceUnpin(40)).toBe(false); // never pinned
    expect(r.hostStats[STAT.FORCE_UNPINS]).toBe(1);
    expect(r.pinnedNow()).toBe(1);
  });
});

describe('residency check: data frames', () => {
  it('two frames naming one data frame (a lost bump of the pool) fail the accounting check', () => {
    const r = makeRig();
    expect(r.guest.map(1, 1)).toBe(1);
    expect(r.guest.map(2, 1)).toBe(2);
    r.device.dmaWrite(1, 1, 0x1111);
    r.device.dmaWrite(2, 2, 0x2222);
    expect(r.checkAccounting()).toBe(true);
    const [f1, f2] = [1, 2].map((g) => Atomics.load(r.m.ept, g) - 1);
    Atomics.store(r.m.frameData, f2, Atomics.load(r.m.frameData, f1)); // as if both took the same bump
    expect(r.checkAccounting()).toBe(false);
  });

  it('a host IOMMU entry left behind to a freed frame fails it', () => {
    const r = makeRig();
    expect(r.guest.map(1, 1)).toBe(1);
    r.guest.unmap(1, 1, 1);
    r.host.unpinScan();
    expect(r.host.unpinScan()).toBe(1); // page 1 unpinned: its entry is gone
    const f = Atomics.load(r.m.ept, 1) - 1;
    expect(r.hostMemory.reclaim(f)).toBe(true); // and its frame free
    expect(r.checkAccounting()).toBe(true);
    Atomics.store(r.m.iommu, 1, f + 1); // as if the unpin's entry clear were lost: a DMA hole
    expect(r.checkAccounting()).toBe(false);
  });

  it('a data frame beyond the pool\'s bump pointer fails it too', () => {
    const r = makeRig();
    expect(r.guest.map(1, 1)).toBe(1);
    r.device.dmaWrite(1, 1, 0x1111);
    expect(r.checkAccounting()).toBe(true);
    Atomics.sub(r.m.control, CTL.DATA_NEXT, 1);
    expect(r.checkAccounting()).toBe(false);
  });
});

describe('reclaimer', () => {
  it('takes back unpinned frames; contents go to swap and come back on re-pin', () => {
    const r = makeRig();
    expect(r.guest.map(1, 1)).toBe(1); // stays mapped
    expect(r.guest.map(2, 1)).toBe(2);
    r.device.dmaWrite(2, 2, 0xbeef);
    r.device.dmaWrite(1, 1, 0x1111);
    expect(readStamp(freeRunning, r.m, 2)).toBe(0xbeef);
    r.guest.unmap(2, 2, 1);
    r.host.unpinScan();
    expect(r.host.unpinScan()).toBe(1);
    expect(Atomics.load(r.m.control, CTL.RESIDENT_NOW)).toBe(2);
    // no pressure: nothing happens
    expect(r.reclaimer(0).run()).toBe(0);
    expect(r.reclaimer(2).run()).toBe(0);
    expect(r.reclaimer(1).run()).toBe(1);
    expect(r.hostStats[STAT.RECLAIMED]).toBe(1);
    expect(r.m.ept[2]).toBe(0);
    expect(r.m.swap[2]).toBeGreaterThan(0);
    expect(Atomics.load(r.m.control, CTL.RESIDENT_NOW)).toBe(1);
    expect(readStamp(freeRunning, r.m, 2)).toBe(0xbeef); // from swap
    // mapped pages cannot be force-unpinned, so they stay, however tight the budget
    expect(r.guest.map(3, 1)).toBe(3);
    expect(Atomics.load(r.m.control, CTL.RESIDENT_NOW)).toBe(2);
    expect(r.reclaimer(1).run()).toBe(0);
    expect(r.hostStats[STAT.FORCE_UNPINS]).toBe(0);
    expectPinned(r, 1);
    expectPinned(r, 3);
    expect(readStamp(freeRunning, r.m, 1)).toBe(0x1111);
    // re-pin restores the contents
    expect(r.hostStats[STAT.RESTORED]).toBe(0);
    expect(r.guest.map(2, 1)).toBe(2);
    expectPinned(r, 2);
    expect(r.m.swap[2]).toBe(0);
    expect(r.hostStats[STAT.RESTORED]).toBe(1);
    expect(readStamp(freeRunning, r.m, 2)).toBe(0xbeef);
    r.device.dmaWrite(2, 2, 0xcafe);
    expect(readStamp(freeRunning, r.m, 2)).toBe(0xcafe);
    expect(r.violations().dmaToUnpinned).toBe(0);
    expect(r.checkAccounting()).toBe(true);
  });

  it('under pressure force-unpins idle pinned pages, never mapped ones', () => {
    const r = makeRig();
    for (const g of [0, 1, 2, 3]) {
      expect(r.guest.map(g, 1)).toBe(g);
      r.device.dmaWrite(g, g, 100 + g);
    }
    r.guest.unmap(1, 1, 1);
    r.guest.unmap(3, 3, 1);
    expect(r.reclaimer(1).run()).toBe(2); // pages 1 and 3 (idle, ACCESSED set) forced out
    expect(r.hostStats[STAT.FORCE_UNPINS]).toBe(2);
    expect(r.m.ept[1]).toBe(0);
    expect(r.m.ept[3]).toBe(0);
    expectPinned(r, 0);
    expectPinned(r, 2);
    for (const g of [0, 1, 2, 3]) expect(readStamp(freeRunning, r.m, g)).toBe(100 + g);
    expect(r.pinnedNow()).toBe(2);
    expect(r.checkAccounting()).toBe(true);
    expect(r.violations().accounting).toBe(0);
  });

  it('a reclaimed page that was never written comes back as a zero page, not a RESTORED one', () => {
    const r = makeRig();
    touch(r, 5);
    expect(r.host.forceUnpin(5)).toBe(true);
    expect(r.reclaimer(0).run()).toBe(0);
    touch(r, 6);
    expect(r.reclaimer(1).run()).toBe(1);
    expect(r.m.ept[5]).toBe(0);
    expect(r.m.swap[5]).toBe(0);
    expect(r.guest.map(5, 1)).toBe(5);
    expect(r.hostStats[STAT.RESTORED]).toBe(0);
    expect(readStamp(freeRunning, r.m, 5)).toBe(0);
  });
});

describe('accounting (oracle item 4)', () => {
  function busy(): Rig {
    const r = makeRig();
    touch(r, 1, 3);
    expect(r.guest.map(8, 2)).toBe(8);
    r.host.unpinScan();
    r.host.unpinScan(); // pages 1..3 unpinned, 8..9 stay
    return r;
  }

  it('passes on a consistent state', () => {
    const r = busy();
    expect(r.pinnedNow()).toBe(2);
    expect(r.checkAccounting()).toBe(true);
    expect(r.violations()).toEqual({ dmaToUnpinned: 0, lostPayloads: 0, accounting: 0, unpinnedWhileMapped: 0, lostWakeups: 0, mapFailures: 0, undrainedUnpins: 0 });
  });

  it('reports exactly one accounting violation when a PINNED bit is cleared behind the protocol', () => {
    const r = busy();
    Atomics.and(r.m.dtt, 9, ~PINNED);
    expect(r.checkAccounting()).toBe(false);
    const v = r.violations();
    expect(v.accounting).toBe(1);
    expect(v.first?.kind).toBe('accounting');
    expect(v.first?.gfn).toBe(9);
    expect(v.first?.frame).toBe(r.iommuFrame(9));
    expect(v.first?.role).toBe('hypervisor');
  });

  it('reports a PINNED bit set on a resident but unpinned page', () => {
    const r = busy();
    Atomics.or(r.m.dtt, 2, PINNED);
    expect(r.checkAccounting()).toBe(false);
    expect(r.violations().accounting).toBe(1);
  });

  it('reports a pinned-frame count that disagrees with the frames', () => {
    const r = busy();
    Atomics.add(r.m.control, CTL.PINNED_NOW, 1);
    expect(r.checkAccounting()).toBe(false);
    expect(r.violations().accounting).toBe(1);
    expect(r.violations().first?.gfn).toBe(-1);
  });

  it('reports a host IOMMU entry that was removed behind the protocol', () => {
    const r = busy();
    Atomics.store(r.m.iommu, 8, 0);
    expect(r.checkAccounting()).toBe(false);
    expect(r.violations().accounting).toBe(1);
    // and a DMA to that page is caught as an IOMMU fault
    r.device.dmaWrite(8, 8, 1);
    expect(r.violations().dmaToUnpinned).toBe(1);
    expect(r.deviceStats[STAT.IOMMU_FAULTS]).toBe(1);
  });
});
