import { describe, expect, it } from 'vitest';
import {
  CTL,
  INV_DESC,
  INVQ,
  IOTLB_LOG,
  IOTLB_LOG_ENTRY,
  LINE_BYTES,
  MAX_GUEST_PAGES,
  RING,
  SLOT,
  STAT,
  STAT_BLOCK,
  computeLayout,
  invqWords,
  probeLogWords,
  regionsOf,
  ringWords,
  statBlockCount,
  type Layout,
  type MachineSpec,
} from '../src/machine/layout.js';
import { Machine } from '../src/machine/machine.js';

const spec = (over: Partial<MachineSpec> = {}): MachineSpec => ({
  guestPages: 64,
  vcpus: 2,
  hostFrames: 64,
  dataFrames: 64,
  ringEntries: 16,
  ...over,
});

const bytesOf = (r: { length: number; kind: 'i32' | 'f64' }) => r.length * (r.kind === 'i32' ? 4 : 8);

function expectSane(l: Layout): void {
  const regions = regionsOf(l);
  // every region of the Layout is listed (30 of them; the vIOMMU tables are empty without iovaPages, iopf's page request queue without prqWords)
  expect(regions.map((r) => r.name).sort()).toEqual(
    [
      'coiommu',
      'compRings',
      'compVt',
      'control',
      'data',
      'descRings',
      'descVt',
      'dtt',
      'ept',
      'frameData',
      'frameFree',
      'frameGen',
      'frameOwner',
      'framePinned',
      'iommu',
      'invq',
      'iopt',
      'iotlbLog',
      'iotlbLogVt',
      'iovaDepot',
      'probeLog',
      'ptPool',
      'prq',
      'reliedIovas',
      'mapLedger',
      'notifyLedger',
      'reliedPages',
      'shadow',
      'shadowRefs',
      'slots',
      'stats',
      'vclock',
      'swap',
    ].sort(),
  );
  for (const r of regions) expect(r.byteOffset % LINE_BYTES, r.name).toBe(0);
  for (let i = 1; i < regions.length; i++) {
    const prev = regions[i - 1];
    expect(prev.byteOffset + bytesOf(prev), `${prev.name} overlaps ${regions[i].name}`).toBeLessThanOrEqual(
      regions[i].byteOffset,
    );
  }
  const last = regions[regions.length - 1];
  expect(last.byteOffset + bytesOf(last)).toBeLessThanOrEqual(l.byteLength);
  expect(l.byteLength % LINE_BYTES).toBe(0);
}

describe('layout', () => {
  it.each([
    spec(),
    spec({ guestPages: 1, hostFrames: 1, dataFrames: 1, vcpus: 1, ringEntries: 2 }),
    spec({ guestPages: 4096, hostFrames: 100, dataFrames: 7, vcpus: 8, ringEntries: 256 }),
    spec({ guestPages: 1000, hostFrames: 999, dataFrames: 3, vcpus: 3, ringEntries: 64 }),
  ])('regions are 64-byte aligned and disjoint (%o)', (s) => expectSane(computeLayout(s)));

  it('sizes regions by the spec', () => {
    const s = spec({ guestPages: 1000, hostFrames: 300, dataFrames: 17, vcpus: 3, ringEntries: 32 });
    const l = computeLayout(s);
    expect(l.dtt.length).toBe(1000);
    expect(l.iommu.length).toBe(1000);
    expect(l.ept.length).toBe(1000);
    expect(l.swap.length).toBe(1000);
    for (const r of [l.frameOwner, l.framePinned, l.frameData, l.frameGen, l.frameFree]) expect(r.length).toBe(300);
    expect(l.slots.length).toBe(3 * SLOT.WORDS);
    expect(l.descRings.length).toBe(3 * ringWords(32));
    expect(l.compRings.length).toBe(3 * ringWords(32));
    expect(l.data.length).toBe(18 * 8); // data frame 0 is "none"
    expect(l.control.length).toBe(CTL.WORDS);
  });

  it('stats blocks are padded to 64 bytes, one per role and vCPU, and the views line up', () => {
    expect((STAT.WORDS * 8) % LINE_BYTES).toBe(0);
    const named = Object.entries(STAT).filter(([k]) => k !== 'WORDS');
    for (const [, i] of named) expect(i).toBeLessThan(STAT.WORDS);
    expect(new Set(named.map(([, i]) => i)).size).toBe(named.length); // no two stats share a slot
    const s = spec({ vcpus: 3 });
    const l = computeLayout(s);
    expect(l.stats.kind).toBe('f64');
    expect(l.stats.length).toBe(statBlockCount(3) * STAT.WORDS);
    const m = Machine.create(s);
    const blocks = [STAT_BLOCK.hypervisor, STAT_BLOCK.sidecore, STAT_BLOCK.device, 3, 4, 5];
    for (const b of blocks) {
      const v = m.statsBlock(b);
      expect(v.byteOffset % LINE_BYTES).toBe(0);
      expect(v.length).toBe(STAT.WORDS);
    }
    expect(m.guestStats(2).byteOffset).toBe(m.statsBlock(STAT_BLOCK.guest0 + 2).byteOffset);
    // writes to one block never show up in another
    m.guestStats(0)[STAT.MAPS] = 7;
    expect(m.statsBlock(STAT_BLOCK.device)[STAT.MAPS]).toBe(0);
    expect(m.guestStats(1)[STAT.MAPS]).toBe(0);
  });

  it('control words of different roles sit on different lines; ring head and tail too', () => {
    const line = (w: number) => Math.floor(w / (LINE_BYTES / 4));
    const groups = [
      [CTL.STATE],
      [CTL.VIOL_DMA, CTL.VIOL_DETAIL],
      [CTL.PINNED_NOW, CTL.DATA_NEXT],
      [CTL.PIN_LOCK],
      [CTL.HOST_DOORBELL, CTL.HOST_PARKED],
      [CTL.SIDECORE_DOORBELL, CTL.SIDECORE_PARKED],
      [CTL.DEVICE_DOORBELL, CTL.DEVICE_PARKED],
    ];
    const lines = groups.map((g) => {
      const ls = new Set(g.map(line));
      expect(ls.size).toBe(1);
      return line(g[0]);
    });
    expect(new Set(lines).size).toBe(groups.length);
    expect(Math.max(...Object.values(CTL).filter((v) => v !== CTL.WORDS))).toBeLessThan(CTL.WORDS);
    expect(line(RING.TAIL)).not.toBe(line(RING.HEAD));
    expect(RING.ENTRIES * 4 % LINE_BYTES).toBe(0);
    expect(SLOT.WORDS * 4 % LINE_BYTES).toBe(0);
  });

  it('named entry fields stay inside their entries', () => {
    for (const w of Object.values(INV_DESC)) expect(w).toBeLessThan(INVQ.DESC_WORDS);
    expect(new Set([INV_DESC.TYPE, INV_DESC.IOVA, INV_DESC.PAGES, INV_DESC.RESERVED]).size).toBe(INVQ.DESC_WORDS);
    expect(new Set([INV_DESC.TYPE, INV_DESC.VCPU, INV_DESC.SEQ, INV_DESC.RESERVED]).size).toBe(INVQ.DESC_WORDS);
    expect(Math.max(IOTLB_LOG_ENTRY.IOVA, IOTLB_LOG_ENTRY.PAGES)).toBeLessThan(IOTLB_LOG_ENTRY.WORDS);
  });

  it('the device-IOTLB flush log: a power-of-two size, a global batch below it, entries where the explorer names them', () => {
    expect(IOTLB_LOG.SIZE & (IOTLB_LOG.SIZE - 1)).toBe(0); // gen & (SIZE - 1) is gen % SIZE
    expect(IOTLB_LOG.GLOBAL_BATCH).toBeLessThan(IOTLB_LOG.SIZE); // one batch never laps the log by itself
    // generation 1's FLAGS word is iotlbLog[38] in the explorer's mutation names (mutate-equivalent.ts)
    expect(IOTLB_LOG.ENTRIES + 1 * IOTLB_LOG_ENTRY.WORDS + IOTLB_LOG_ENTRY.FLAGS).toBe(38);
    const l = computeLayout(spec({ iovaPages: 1024 }));
    expect(l.iotlbLog.length).toBe(IOTLB_LOG.ENTRIES + IOTLB_LOG.SIZE * IOTLB_LOG_ENTRY.WORDS);
    expect(l.iotlbLogVt.length).toBe(IOTLB_LOG.SIZE);
  });

  it('the Machine views sit exactly on the layout regions', () => {
    const s = spec({ vcpus: 2 });
    const m = Machine.create(s);
    const l = m.layout;
    expect(m.sab.byteLength).toBe(l.byteLength);
    const pairs: [Int32Array, keyof Layout][] = [
      [m.control, 'control'],
      [m.dtt, 'dtt'],
      [m.slots, 'slots'],
      [m.descRings, 'descRings'],
      [m.compRings, 'compRings'],
      [m.iommu, 'iommu'],
      [m.ept, 'ept'],
      [m.swap, 'swap'],
      [m.frameOwner, 'frameOwner'],
      [m.framePinned, 'framePinned'],
      [m.frameData, 'frameData'],
      [m.frameGen, 'frameGen'],
      [m.frameFree, 'frameFree'],
      [m.data, 'data'],
    ];
    for (const [view, name] of pairs) {
      const r = l[name] as { byteOffset: number; length: number };
      expect(view.byteOffset, name).toBe(r.byteOffset);
      expect(view.length, name).toBe(r.length);
      expect(m.regionName(view)).toBe(name);
    }
    expect(m.descRing(1).byteOffset).toBe(l.descRings.byteOffset + ringWords(16) * 4);
    expect(m.descRing(1).length).toBe(ringWords(16));
    expect(m.compRing(1).byteOffset + m.compRing(1).byteLength).toBe(l.compRings.byteOffset + l.compRings.length * 4);
    expect(() => new Machine(new SharedArrayBuffer(l.byteLength - 64), s)).toThrow(/layout needs/);
  });

  describe('a 128 GiB guest (32 Mi pages)', () => {
    const big = spec({ guestPages: MAX_GUEST_PAGES, hostFrames: MAX_GUEST_PAGES, dataFrames: 1024, vcpus: 2 });

    it('is representable in the layout: 32 Mi DTT entries, tables sized by pages', () => {
      expect(MAX_GUEST_PAGES).toBe(32 * 1024 * 1024);
      expect(MAX_GUEST_PAGES * 4096).toBe(128 * 2 ** 30);
      const l = computeLayout(big);
      expect(l.dtt.length).toBe(32 * 1024 * 1024);
      expect(l.iommu.length).toBe(32 * 1024 * 1024);
      expectSane(l);
      // data frames are sized by dataFrames, not by guest pages
      expect(l.data.length).toBe(1025 * 8);
      // 4 page tables + the reliance oracle's + 5 frame tables of 4 bytes per entry, plus small change
      expect(l.byteLength).toBeGreaterThanOrEqual(10 * 4 * MAX_GUEST_PAGES);
      expect(l.byteLength).toBeLessThan(10 * 4 * MAX_GUEST_PAGES + 1024 * 1024);
    });

    it('can actually be created (SharedArrayBuffer memory is committed lazily)', () => {
      const m = Machine.create(big);
      expect(m.dtt.length).toBe(32 * 1024 * 1024);
      const last = MAX_GUEST_PAGES - 1;
      Atomics.store(m.dtt, last, 0x1234);
      Atomics.store(m.frameGen, last, 9);
      expect(Atomics.load(m.dtt, last)).toBe(0x1234);
      expect(Atomics.load(m.iommu, 0)).toBe(0); // next region untouched by the DTT write
      expect(Atomics.load(m.frameGen, last)).toBe(9);
      expect(Atomics.load(m.frameFree, 0)).toBe(0);
    });
  });

  it('sizes the vIOMMU tables by iovaPages, and only when there is a vIOMMU', () => {
    const none = computeLayout(spec({ guestPages: 1000, hostFrames: 1000 }));
    for (const r of [none.iopt, none.shadow, none.shadowRefs, none.iovaDepot, none.ptPool]) expect(r.length).toBe(0);
    const l = computeLayout(spec({ guestPages: 1000, hostFrames: 1000, iovaPages: 1000, invqEntries: 64 }));
    expect(l.iopt.length).toBe(1000);
    expect(l.shadow.length).toBe(1000);
    expect(l.shadowRefs.length).toBe(1000);
    expect(l.invq.length).toBe(invqWords(2, 64));
    expectSane(l);
    const m = Machine.create(spec({ guestPages: 1000, hostFrames: 1000, iovaPages: 1000 }));
    expect(m.regionName(m.shadow)).toBe('shadow');
    expect(m.iovaPages).toBe(1000);
    expect(m.probeLogOf(1).byteOffset).toBe(m.probeLog.byteOffset + probeLogWords() * 4);
    expect(() => computeLayout(spec({ invqEntries: 100 }))).toThrow(/invqEntries 100/);
    expect(() => computeLayout(spec({ iovaPages: -1 }))).toThrow(/iovaPages/);
  });

  describe('bad specs throw, naming the field', () => {
    it.each<[Partial<MachineSpec>, RegExp]>([
      [{ guestPages: 0 }, /guestPages 0/],
      [{ guestPages: -5 }, /guestPages/],
      [{ guestPages: 1.5 }, /guestPages/],
      [{ guestPages: MAX_GUEST_PAGES + 1, hostFrames: 1 }, /guestPages 33554433/],
      [{ vcpus: 0 }, /vcpus/],
      [{ vcpus: 9 }, /vcpus/],
      [{ hostFrames: 0 }, /hostFrames/],
      [{ hostFrames: 65 }, /hostFrames/],
      [{ dataFrames: 0 }, /dataFrames/],
      [{ ringEntries: 12 }, /ringEntries 12/],
      [{ ringEntries: 1 }, /ringEntries/],
      [{ ringEntries: 0 }, /ringEntries/],
    ])('%o', (over, msg) => {
      expect(() => computeLayout(spec(over))).toThrow(RangeError);
      expect(() => computeLayout(spec(over))).toThrow(msg);
      expect(() => Machine.create(spec(over))).toThrow(msg);
    });
  });
});
