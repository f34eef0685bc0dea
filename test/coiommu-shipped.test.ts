// coIOMMU as shipped, unit by unit over the real guest and host halves (pin requests served inline):
// the multi-level table's walk and allocation, both request formats, the failure paths, the unpin
// policy and its generations, the shrinker and PARK_UNPIN.
import { describe, expect, it } from 'vitest';
import { SLOT, STAT } from '../src/machine/layout.js';
import { freeRunning } from '../src/machine/shared-mem.js';
import { NOTIFY_HI, NOTIFY_LO, PIN_INFO, PIN_PAGES_IN_BATCH, SlotRequester } from '../src/notify/pin-request.js';
import { ACCESSED, PINNED } from '../src/policies/coiommu/dtt.js';
import { auditTree } from '../src/policies/coiommu/dtt-audit.js';
import { DTT_PRESENT, LEAF_ENTRIES, dttLevels, frameOfEntry, levelIndex } from '../src/policies/coiommu/dtt-levels.js';
import { readRegisters } from '../src/policies/coiommu/dtt-table.js';
import { CoiommuGuest } from '../src/policies/coiommu/guest.js';
import { guestTable } from '../src/policies/coiommu/guest-table.js';
import { CO, coiommuRegion, wordOfFrame } from '../src/policies/coiommu/region.js';
import { DttShrinker } from '../src/policies/coiommu/shrinker.js';
import { scenarioConfig } from '../src/policies/scenario-kit.js';
import { main } from '../src/cli/main.js';
import { Interposer, makeRig, type Rig, type RigOptions } from './helpers/inline-host.js';

const multilevel = (o: RigOptions = {}): Rig => makeRig({ guestPages: 4096, ...o, coiommu: { dtt: 'multilevel', ...o.coiommu } });
const region = (r: Rig) => coiommuRegion(r.m.spec.guestPages, r.m.spec.vcpus);
const rootEntry = (r: Rig, i: number): [number, number] => {
  const base = wordOfFrame(readRegisters(freeRunning, r.m).rootFrame) + 2 * i;
  return [r.m.coiommu[base], r.m.coiommu[base + 1]];
};
const touch = (r: Rig, g: number, n = 1) => {
  expect(r.guest.map(g, n)).toBe(g);
  r.guest.unmap(g, g, n);
};
const shrinkerOf = (r: Rig, variant = 'none') => {
  const t = guestTable(freeRunning, r.m, scenarioConfig(variant, { coiommu: r.cfg }), 0);
  return new DttShrinker(freeRunning, r.m, t.lock!, t.pool!, (park) => r.host.parkUnpin(park), r.guestStats[0], variant);
};

describe('multi-level DTT geometry', () => {
  it('leaf index is 10 bits, upper indices 9 bits each', () => {
    const g = 0b101_000000011_0000000101;
    expect(levelIndex(g, 1)).toBe(5);
    expect(levelIndex(g, 2)).toBe(3);
    expect(levelIndex(g, 3)).toBe(5);
    expect(levelIndex(2 ** 25 - 1, 3)).toBe(63);
  });
  it('levels from the guest size, at least 2', () => {
    expect([1, 1024, 4096, 2 ** 19, 2 ** 19 + 1, 2 ** 25].map(dttLevels)).toEqual([2, 2, 2, 2, 3, 3]);
  });
});

describe('walk and on-demand allocation', () => {
  it('a map installs the leaf under a present upper entry (frame at bit 12), the host walks to it', () => {
    const r = multilevel();
    expect(readRegisters(freeRunning, r.m).levels).toBe(2);
    expect(r.pinned(5)).toBe(false);
    touch(r, 5);
    const [lo, hi] = rootEntry(r, 0);
    expect(lo & DTT_PRESENT).toBe(1);
    expect(hi).toBe(0);
    expect(r.m.coiommu[wordOfFrame(frameOfEntry(lo)) + 5]).toBe(PINNED | ACCESSED);
    expect(r.m.coiommu[CO.PAGES]).toBe(1);
    touch(r, 6); // same leaf: nothing allocated
    expect(r.m.coiommu[CO.PAGES]).toBe(1);
    touch(r, LEAF_ENTRIES + 6); // the next leaf, under root entry 1
    expect(rootEntry(r, 1)[0] & DTT_PRESENT).toBe(1);
    expect(r.m.coiommu[CO.PAGES]).toBe(2);
    expect(r.host.pin(3 * LEAF_ENTRIES)).toBe(false); // no leaf: the host has nothing to pin ("DTT absent")
    expect(auditTree(r.m, region(r))).toMatchObject({ leaves: 2, uppers: 0, problems: [] });
  });

  it('two vCPUs install the same leaf: the compare-and-swap loser gives its page back', () => {
    const ip = new Interposer();
    const r = multilevel({ vcpus: 2, guestMem: ip.view('guest') });
    const hook = ip.once('before', (a) => a.op === 'compareExchange' && a.array === r.m.coiommu && a.args[0] === 0 && a.args[1] % 2 === 1, () => {
      expect(r.guests[1].map(7, 1)).toBe(7); // vCPU 1 installs its leaf first
    });
    expect(r.guest.map(5, 1)).toBe(5);
    expect(hook.fired()).toBe(1);
    expect(r.m.coiommu[CO.PAGES]).toBe(1);
    expect(r.m.coiommu[CO.FREE_TOP]).toBe(1); // the loser's page
    expect([r.count(5), r.count(7)]).toEqual([1, 1]);
    expect(auditTree(r.m, region(r)).problems).toEqual([]);
  });

  it('planted leaf-install-plain-store: the second install hides the first leaf and its count', () => {
    const ip = new Interposer();
    const r = multilevel({ vcpus: 2, guestMem: ip.view('guest'), variant: 'leaf-install-plain-store' });
    ip.once('before', (a) => a.op === 'store' && a.array === r.m.coiommu && a.args[0] % 2 === 1, () => void r.guests[1].map(7, 1));
    expect(r.guest.map(5, 1)).toBe(5);
    const a = auditTree(r.m, region(r));
    expect(a.problems.join()).toMatch(/leaked/);
    r.guests[1].unmap(7, 7, 1); // its count went into the hidden leaf
    expect(r.guestStats[1][STAT.MAP_COUNT_UNDERFLOW]).toBe(1);
  });
});

describe('request formats', () => {
  it('one page: (gfn << 16) | bdf in the 64-bit notify word', () => {
    const r = multilevel({ guestPages: 1 << 20 });
    const seen: number[] = [];
    const slot = r.requesters[0].slot;
    slot.onRaise = () => {
      seen.push(r.m.slots[NOTIFY_LO], r.m.slots[NOTIFY_HI]);
      r.host.serve();
    };
    const g = 0x12345;
    expect(r.guest.map(g, 1)).toBe(g);
    expect(seen).toEqual([((g & 0xffff) << 16) | 0x0008, g >>> 16]);
    expect([r.m.slots[NOTIFY_LO], r.m.slots[NOTIFY_HI], r.m.slots[SLOT.REQ]]).toEqual([0, 0, 0]); // cleared by the host
  });

  it('a batch: bit 63 | the address of {bdf, pad, nr_pages, pfn[]} in guest memory', () => {
    const r = multilevel();
    const slot = r.requesters[0].slot;
    let info: number[] = [];
    slot.onRaise = () => {
      expect(r.m.slots[NOTIFY_HI]).toBe(PIN_PAGES_IN_BATCH);
      const w = r.m.slots[NOTIFY_LO] / 4;
      expect(w).toBe(slot.pinInfo!.base);
      info = Array.from(r.m.coiommu.subarray(w, w + PIN_INFO.PFN + 6));
      r.host.serve();
    };
    expect(r.guest.map(40, 3)).toBe(40);
    expect(info).toEqual([0x0008, 0, 3, 0, 40, 0, 41, 0, 42, 0]);
    for (const g of [40, 41, 42]) expect(r.pinned(g)).toBe(true);
  });

  it.each([1, 3])('a BDF outside the topology table is refused (%i pages): the map fails, nothing stays marked', (n) => {
    const r = multilevel();
    r.requesters[0].slot.bdf = 0x0010;
    expect(r.guest.map(40, n)).toBe(-1);
    expect(r.hostStats[STAT.REQUESTS_REJECTED]).toBe(1);
    expect(r.hostStats[STAT.PINS]).toBe(0);
    for (let g = 40; g < 40 + n; g++) expect(r.entry(g)).toBe(0);
    expect(r.guestStats[0][STAT.MAP_FAILURES]).toBe(1);
  });
});

describe('failure paths', () => {
  it('a slot still busy: logged, counted, the map fails without pinning', () => {
    const r = multilevel();
    Atomics.store(r.m.slots, SLOT.REQ, 9); // an earlier request the host has not served
    expect(r.guest.map(40, 1)).toBe(-1);
    expect(r.guestStats[0][STAT.SLOT_BUSY]).toBe(1);
    expect(r.hostStats[STAT.PINS]).toBe(0);
    expect(r.entry(40)).toBe(0);
  });

  it('the host does not answer within the timeout: the map fails; the late answer leaves an idle pin the scan takes back', () => {
    const r = multilevel();
    const t = guestTable(freeRunning, r.m, scenarioConfig('none', { coiommu: r.cfg }), 0);
    const slot = new SlotRequester('trap', freeRunning, r.m, 0, 0, 20, r.guestStats[0]);
    slot.onRaise = () => {}; // the host is busy elsewhere
    const guest = new CoiommuGuest(freeRunning, r.m, t.table, t.lock, slot, r.guestStats[0]);
    expect(guest.map(40, 1)).toBe(-1);
    expect(r.guestStats[0][STAT.PIN_TIMEOUTS]).toBe(1);
    expect(r.entry(40)).toBe(0);
    expect(guest.map(41, 1)).toBe(-1); // the slot is still raised
    expect(r.guestStats[0][STAT.SLOT_BUSY]).toBe(1);
    r.host.serve(); // the host catches up with the old request
    expect(r.entry(40)).toBe(PINNED);
    expect(r.host.unpinScan()).toBe(1);
  });

  it('a pin whose host IOMMU map fails leaves PINNED clear; the re-check undoes every page of the request', () => {
    const r = multilevel({ hostFrames: 3 });
    expect(r.guest.map(10, 2)).toBe(10); // two frames pinned and held
    expect(r.guest.map(20, 3)).toBe(-1); // 20 gets the last frame, 21 and 22 fail
    expect(r.hostStats[STAT.PIN_MAP_FAILURES]).toBe(2);
    expect(r.entry(20)).toBe(PINNED); // pinned, idle: counts and ACCESSED undone
    expect([r.entry(21), r.entry(22)]).toEqual([0, 0]);
    expect(r.checkAccounting()).toBe(true);
  });
});

describe('unpin policy', () => {
  it('off (crosvm default): the worker never unpins', () => {
    const r = multilevel({ coiommu: { unpinPolicy: 'off' } });
    touch(r, 5);
    for (let k = 0; k < 3; k++) r.host.periodic();
    expect(r.pinned(5)).toBe(true);
    expect(r.hostStats[STAT.SCANS]).toBe(0);
  });

  it('lru: the old generation first every threshold-th round; the limit is shared', () => {
    const r = multilevel({ coiommu: { unpinGenThreshold: 2, unpinLimit: 2 } });
    expect(r.guest.map(1, 2)).toBe(1); // pages 1, 2 stay mapped for two rounds: old
    r.host.unpinScan();
    r.host.unpinScan();
    r.guest.unmap(1, 1, 2);
    touch(r, 3, 2); // pages 3, 4: young, ACCESSED
    expect(r.host.unpinScan()).toBe(0); // round 3: old pages not scanned; 3, 4 lose ACCESSED
    expect(r.host.unpinScan()).toBe(2); // round 4: old first, and they use the whole limit
    expect([r.pinned(1), r.pinned(2), r.pinned(3), r.pinned(4)]).toEqual([false, false, true, true]);
    expect(r.host.unpinScan()).toBe(2);
  });

  it('--unpin-limit 0 is refused with exit code 2, naming the field', async () => {
    let err = '';
    const code = await main(['run', '--policy', 'coiommu', '--unpin-limit', '0'], { stdout: () => {}, stderr: (s) => void (err += s), stderrIsTTY: false });
    expect(code).toBe(2);
    expect(err).toMatch(/--unpin-limit/);
  });
});

describe('shrinker and PARK_UNPIN', () => {
  it('frees an all-zero leaf (counted), keeps one with a pinned page, and a later map grows it back', () => {
    const r = multilevel();
    touch(r, 5);
    touch(r, LEAF_ENTRIES + 5);
    r.host.unpinScan();
    r.host.unpinScan(); // both idle now: entries zero
    touch(r, LEAF_ENTRIES + 5); // pinned again: its leaf stays
    const s = shrinkerOf(r);
    expect(s.shrink()).toBe(1);
    expect(r.guestStats[0][STAT.DTT_PAGES_FREED]).toBe(1);
    expect(rootEntry(r, 0)[0]).toBe(0);
    expect(r.m.coiommu[CO.PAGES]).toBe(1);
    expect(r.m.coiommu[CO.PARK_COUNT]).toBe(0);
    expect(auditTree(r.m, region(r)).problems).toEqual([]);
    touch(r, 5);
    expect(r.pinned(5)).toBe(true);
    expect(auditTree(r.m, region(r)).problems).toEqual([]);
  });

  it("the audit checks the allocator: a freed page lost from the free stack, or a dirty free page, is a problem", () => {
    const r = multilevel();
    touch(r, 5);
    r.host.unpinScan();
    r.host.unpinScan();
    expect(shrinkerOf(r).shrink()).toBe(1); // the leaf goes onto the free stack
    const reg = region(r);
    expect(r.m.coiommu[CO.FREE_TOP]).toBe(1);
    expect(auditTree(r.m, reg).problems).toEqual([]);
    const k = r.m.coiommu[reg.freeStack];
    r.m.coiommu[reg.pool + k * LEAF_ENTRIES + 7] = 1; // the freed leaf is not all zero
    expect(auditTree(r.m, reg).problems).toEqual([expect.stringContaining('not all zero')]);
    r.m.coiommu[reg.pool + k * LEAF_ENTRIES + 7] = 0;
    r.m.coiommu[CO.FREE_TOP] = 0; // as if the push's top store were lost
    expect(auditTree(r.m, reg).problems).toEqual([expect.stringContaining('not on the free stack (leaked)')]);
    r.m.coiommu[CO.FREE_TOP] = 1;
    r.m.coiommu[reg.pageState + r.m.coiommu[CO.POOL_NEXT]] = 1; // as if an alloc's bump store were lost
    expect(auditTree(r.m, reg).problems).toContainEqual(expect.stringContaining('at or above the bump pointer'));
  });

  it('parks nest: the worker runs again only when every park is undone', () => {
    const r = multilevel();
    touch(r, 5);
    r.host.unpinScan(); // ACCESSED cleared
    r.host.parkUnpin(true);
    r.host.parkUnpin(true);
    r.host.parkUnpin(false);
    expect(r.host.unpinScan()).toBe(0);
    expect(r.host.forceUnpin(5)).toBe(false);
    expect(r.hostStats[STAT.UNPIN_PARKED]).toBe(1);
    r.host.parkUnpin(false);
    expect(r.host.unpinScan()).toBe(1);
  });
});
