// The oracle can fail: each planted bug of DESIGN 1.1, driven into its bad interleaving by running
// one protocol step of another role at an exact shared-memory operation, is caught by the device's
// DMA-safety check; the real protocol under the same interleaving is not.
import { describe, expect, it } from 'vitest';
import { CTL, STAT } from '../src/machine/layout.js';
import { ACCESSED, PINNED } from '../src/policies/coiommu/dtt.js';
import { DETAIL, VIOLATION_DETAILS } from '../src/core/oracle.js';
import type { Variant } from '../src/core/types.js';
import { at, makeInterposedRig, type Access } from './helpers/inline-host.js';

const G = 5;
const STAMP = 0x5eed;

/** Page G pinned, idle and ACCESSED clear: its entry is exactly PINNED, the only state an unpin takes. */
function pinnedIdle(variant: Variant, o: { vcpus?: number } = {}) {
  const { rig, ip } = makeInterposedRig({ variant, guestPages: 64, vcpus: o.vcpus ?? 1 });
  expect(rig.guest.map(G, 1)).toBe(G);
  rig.guest.unmap(G, G, 1);
  expect(rig.host.unpinScan()).toBe(0); // second chance: ACCESSED cleared
  expect(rig.entry(G)).toBe(PINNED);
  expect(rig.requester.requests.length).toBe(1);
  return { rig, ip };
}

/** The k-th operation (0-based) role `role` does on the DTT word of page G. */
function nthDttOp(rig: { m: { dtt: Int32Array } }, role: string, k: number) {
  let seen = 0;
  return (a: Access) => a.role === role && a.array === rig.m.dtt && a.index === G && seen++ === k;
}

describe("planted bug 'pinned-check-before-add': the guest tests PINNED before it raises the count", () => {
  function scanAfterFirstGuestLoad(variant: Variant) {
    const { rig, ip } = pinnedIdle(variant);
    let unpinned = -1;
    const hook = ip.once('after', at('guest', 'load', rig.m.dtt, G), () => {
      unpinned = rig.host.unpinScan();
    });
    const res = rig.guest.map(G, 1);
    rig.device.dmaWrite(G, G, STAMP);
    return { rig, res, unpinned, fired: hook.fired() };
  }

  it('an unpin scan between the PINNED test and the add: the map succeeds and the DMA is a violation', () => {
    const { rig, res, unpinned, fired } = scanAfterFirstGuestLoad('pinned-check-before-add');
    expect(fired).toBe(1);
    expect(unpinned).toBe(1); // the scan took the page: count 0, ACCESSED clear
    expect(res).toBe(G); // ... yet the map claims success
    expect(rig.requester.requests.length).toBe(1); // and asked for no pin
    expect(rig.entry(G)).toBe(ACCESSED | 1); // mapped, not pinned
    expect(rig.m.iommu[G]).toBe(0);
    const v = rig.violations();
    expect(v.dmaToUnpinned).toBe(1);
    expect(v.first).toMatchObject({ kind: 'dmaToUnpinned', role: 'device', gfn: G, detail: VIOLATION_DETAILS[0] });
  });

  it("the same interleaving with the real protocol ('none'): the count is already raised, no violation", () => {
    const { rig, res, unpinned, fired } = scanAfterFirstGuestLoad('none');
    expect(fired).toBe(1);
    expect(unpinned).toBe(0); // the exchange needs count 0: it fails
    expect(res).toBe(G);
    expect(rig.entry(G)).toBe((PINNED | 1) | 0); // pinned, mapped; the scan cleared ACCESSED
    expect(rig.m.iommu[G]).toBeGreaterThan(0);
    expect(rig.violations().dmaToUnpinned).toBe(0);
  });

  // Every place the scan can fall among the guest's operations on the page's DTT word (0 = before
  // the first, 3 = after the map returned). Only "between the buggy test and the add" is unsafe.
  it.each<[Variant, number[], number[]]>([
    ['pinned-check-before-add', [0, 1, 0, 0], [2, 1, 1, 1]],
    ['none', [0, 0, 0, 0], [2, 1, 1, 1]],
  ])('%s: violations for the scan at each position are %o (pin requests %o)', (variant, violations, requests) => {
    const got: number[] = [];
    const reqs: number[] = [];
    for (let k = 0; k <= 3; k++) {
      const { rig, ip } = pinnedIdle(variant);
      if (k < 3) ip.once('before', nthDttOp(rig, 'guest', k), () => rig.host.unpinScan());
      expect(rig.guest.map(G, 1)).toBe(G);
      if (k === 3) rig.host.unpinScan();
      rig.device.dmaWrite(G, G, STAMP);
      got.push(rig.violations().dmaToUnpinned);
      reqs.push(rig.requester.requests.length);
    }
    expect(got).toEqual(violations);
    expect(reqs).toEqual(requests);
  });

  it('without the interleaving the planted bug does not show', () => {
    const { rig } = pinnedIdle('pinned-check-before-add');
    expect(rig.guest.map(G, 1)).toBe(G);
    rig.host.unpinScan();
    rig.device.dmaWrite(G, G, STAMP);
    rig.guest.unmap(G, G, 1);
    expect(rig.host.unpinScan()).toBe(1); // ACCESSED was cleared by the scan while it was mapped
    expect(rig.guest.map(G, 1)).toBe(G);
    expect(rig.requester.requests.length).toBe(2);
    rig.device.dmaWrite(G, G, STAMP);
    expect(rig.violations().dmaToUnpinned).toBe(0);
  });
});

describe("planted bug 'unpin-load-store': the unpin scan loads, then stores 0", () => {
  it("a guest map between the scan's load and store is wiped out, and its DMA is a violation", () => {
    const { rig, ip } = pinnedIdle('unpin-load-store');
    let mapped = -2;
    const hook = ip.once('after', at('host', 'load', rig.m.dtt, G), (a) => {
      expect(a.result).toBe(PINNED); // the scan decided: idle
      mapped = rig.guest.map(G, 1); // the guest's add lands now; it sees PINNED, no request
      expect(rig.entry(G)).toBe((PINNED | ACCESSED | 1) | 0);
    });
    expect(rig.host.unpinScan()).toBe(1);
    expect(hook.fired()).toBe(1);
    expect(mapped).toBe(G);
    expect(rig.requester.requests.length).toBe(1);
    expect(rig.entry(G)).toBe(0); // the guest's map count is gone
    expect(rig.m.iommu[G]).toBe(0);
    rig.device.dmaWrite(G, G, STAMP);
    expect(rig.violations().dmaToUnpinned).toBe(1);
    expect(rig.violations().first).toMatchObject({ kind: 'dmaToUnpinned', gfn: G });
    // and the guest's unmap finds its count already zero: logged and left alone (the shipped
    // driver's check), so the word does not underflow into PINNED without a mapping
    rig.guest.unmap(G, G, 1);
    expect(rig.entry(G)).toBe(0);
    expect(rig.guestStats[0][STAT.MAP_COUNT_UNDERFLOW]).toBe(1);
  });

  it('the real protocol: the add lands before the exchange, which then fails; no violation', () => {
    const { rig, ip } = pinnedIdle('none');
    let mapped = -2;
    const hook = ip.once('before', at('host', 'compareExchange', rig.m.dtt, G), () => {
      mapped = rig.guest.map(G, 1);
    });
    expect(rig.host.unpinScan()).toBe(0);
    expect(hook.fired()).toBe(1);
    expect(mapped).toBe(G);
    expect(rig.requester.requests.length).toBe(1);
    expect(rig.entry(G)).toBe((PINNED | 1) | 0); // count kept; ACCESSED cleared for the second chance
    expect(rig.m.iommu[G]).toBeGreaterThan(0);
    rig.device.dmaWrite(G, G, STAMP);
    expect(rig.violations().dmaToUnpinned).toBe(0);
    expect(rig.checkAccounting()).toBe(true);
    expect(rig.violations().accounting).toBe(0);
  });
});

describe("planted bug 'pinned-before-map': the host sets PINNED before the host IOMMU entry exists", () => {
  // vCPU 0 asks for the pin; vCPU 1 maps the same page at a chosen host operation and DMAs at once.
  function secondMapDuringPin(variant: Variant, match: (rig: ReturnType<typeof makeInterposedRig>['rig']) => (a: Access) => boolean) {
    const { rig, ip } = makeInterposedRig({ variant, guestPages: 64, vcpus: 2 });
    let mapped = -2;
    const hook = ip.once('after', match(rig), () => {
      mapped = rig.guests[1].map(G, 1);
      rig.device.dmaWrite(G, G, STAMP);
    });
    expect(rig.guests[0].map(G, 1)).toBe(G);
    expect(hook.fired()).toBe(1);
    expect(mapped).toBe(G);
    expect(rig.requesters[0].requests).toEqual([[G]]);
    expect(rig.requesters[1].requests).toEqual([]); // vCPU 1 saw PINNED: no request
    return rig;
  }
  const afterPinnedSet = (rig: { m: { dtt: Int32Array } }) =>
    at('host', 'or', rig.m.dtt, G, (a) => a.args[0] === PINNED);

  it('a map that sees PINNED before the IOMMU entry exists: the DMA faults (a violation)', () => {
    const rig = secondMapDuringPin('pinned-before-map', afterPinnedSet);
    const v = rig.violations();
    expect(v.dmaToUnpinned).toBe(1);
    expect(v.first).toMatchObject({ kind: 'dmaToUnpinned', gfn: G, frame: -1, detail: VIOLATION_DETAILS[0] });
    // the pin completes afterwards: the next DMA is fine
    expect(rig.m.iommu[G]).toBeGreaterThan(0);
    rig.device.dmaWrite(G, G, STAMP + 1);
    expect(rig.violations().dmaToUnpinned).toBe(1);
  });

  it("the real protocol ('none'): PINNED is set only after the mapping, so the same step is safe", () => {
    const rig = secondMapDuringPin('none', afterPinnedSet);
    expect(rig.violations().dmaToUnpinned).toBe(0);
    expect(rig.count(G)).toBe(2);
  });

  it('the window closes once the host IOMMU entry is written', () => {
    const rig = secondMapDuringPin('pinned-before-map', (r) => at('host', 'store', r.m.iommu, G));
    expect(rig.violations().dmaToUnpinned).toBe(0);
  });
});

describe("planted bug 'no-pin-lock': pin and unpin without the pin-state lock", () => {
  // The guest maps right after the scan's exchange took the page, before the host unmapped it.
  function mapAfterExchange(variant: Variant) {
    const { rig, ip } = pinnedIdle(variant);
    let lockHeld = -1;
    let mapped = -2;
    const hook = ip.once(
      'after',
      at('host', 'compareExchange', rig.m.dtt, G, (a) => a.result === PINNED),
      () => {
        lockHeld = Atomics.load(rig.m.control, CTL.PIN_LOCK);
        // A real guest's pin request would now wait for the lock. Single-threaded it cannot wait,
        // so the guest runs only where nothing stops it.
        if (lockHeld === 0) mapped = rig.guest.map(G, 1);
      },
    );
    const unpins = rig.host.unpinScan();
    expect(hook.fired()).toBe(1);
    return { rig, lockHeld, mapped, unpins };
  }

  it("without the lock, the guest's pin lands inside the unpin: PINNED without a mapping, DMA violation", () => {
    const { rig, lockHeld, mapped, unpins } = mapAfterExchange('no-pin-lock');
    expect(lockHeld).toBe(0);
    expect(mapped).toBe(G);
    expect(rig.requester.requests).toEqual([[G], [G]]); // it did ask for the pin
    expect(unpins).toBe(1); // ... and the scan then unmapped the page anyway
    expect(rig.entry(G)).toBe((PINNED | ACCESSED | 1) | 0);
    expect(rig.m.iommu[G]).toBe(0);
    rig.device.dmaWrite(G, G, STAMP);
    expect(rig.violations().dmaToUnpinned).toBe(1);
    expect(rig.checkAccounting()).toBe(false);
  });

  it('with the lock, the unpin holds it across the host unmap, so a pin request must wait for it', () => {
    const { rig, lockHeld, unpins } = mapAfterExchange('none');
    expect(lockHeld).not.toBe(0);
    expect(unpins).toBe(1);
    // the guest's request, served after the lock is released, re-pins the page
    expect(rig.guest.map(G, 1)).toBe(G);
    expect(rig.requester.requests.length).toBe(2);
    rig.device.dmaWrite(G, G, STAMP);
    expect(rig.violations().dmaToUnpinned).toBe(0);
    expect(rig.checkAccounting()).toBe(true);
  });
});

describe("planted bug 'unmap-off-by-one': the map-count ledger is checked every unpin round", () => {
  const exceeded = VIOLATION_DETAILS[DETAIL.mapCountsExceed];

  it('a count left behind by an unmap is an accounting violation at the next round, not at teardown', () => {
    const { rig } = makeInterposedRig({ variant: 'unmap-off-by-one', guestPages: 64, vcpus: 1 });
    expect(rig.guest.map(G, 1)).toBe(G);
    rig.guest.unmap(G, G, 1); // drops one page too few: G's count stays 1
    expect(rig.violations().accounting).toBe(0);
    rig.host.unpinScan();
    const v = rig.violations();
    expect(v.accounting).toBe(1);
    expect(v.first).toMatchObject({ kind: 'accounting', role: 'hypervisor', detail: exceeded });
  });

  it("the real protocol ('none'): a map in flight and a finished one leave the ledger balanced", () => {
    const { rig } = makeInterposedRig({ variant: 'none', guestPages: 64, vcpus: 1 });
    expect(rig.guest.map(G, 1)).toBe(G);
    expect(rig.guest.map(G + 1, 2)).toBe(G + 1);
    rig.guest.unmap(G, G, 1);
    rig.host.unpinScan(); // G + 1 and G + 2 are mapped: counts 2 = maps in flight 2
    rig.guest.unmap(G + 1, G + 1, 2);
    rig.host.unpinScan();
    expect(rig.violations().accounting).toBe(0);
  });
});
