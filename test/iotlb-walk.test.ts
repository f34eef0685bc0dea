// The device translation model: the 4-level IO page table in shared memory, each page-table cache
// (hit, miss, LRU eviction by level) and the walk's cost of 1-4 reads by what the caches hold, the
// flush rules (a freed page-table page empties the caches at once; Linux's hint at the unmap's
// virtual time; a range flush alone keeps them), and Linux's rule for freeing page-table pages.
import { describe, expect, it } from 'vitest';
import { FLUSH, IOTLB_LOG, PT_ENTRIES, STAT } from '../src/machine/layout.js';
import { Machine } from '../src/machine/machine.js';
import { freeRunning } from '../src/machine/shared-mem.js';
import { IoRadixTable, FlatWalkTable } from '../src/mem/io-radix-table.js';
import { Iotlb, IotlbFlusher } from '../src/mem/iotlb.js';
import { PageWalker } from '../src/mem/page-walk.js';
import { PtCache } from '../src/mem/ptcache.js';

const L1 = PT_ENTRIES; // IOVA pages a level-1 entry maps (2 MiB)
const L2 = PT_ENTRIES ** 2; // 1 GiB

function rig(iovaPages = 4 * L1, sizes = { l1: 2, l2: 2, l3: 1 }) {
  const m = Machine.create({ guestPages: 16, vcpus: 1, hostFrames: 16, dataFrames: 4, ringEntries: 2, iovaPages, invqEntries: 4 });
  const stats = new Float64Array(STAT.WORDS);
  const table = new IoRadixTable(freeRunning, m);
  const walker = new PageWalker(table, sizes, stats);
  const tlb = new Iotlb(freeRunning, m, 4, 2, stats, walker);
  const flusher = new IotlbFlusher(freeRunning, m, new Float64Array(STAT.WORDS), 100);
  const reads = () => stats[STAT.IOTLB_WALK_READS];
  const misses = () => [stats[STAT.PTC_MISSES_L1], stats[STAT.PTC_MISSES_L2], stats[STAT.PTC_MISSES_L3]];
  /** One device access: the frame, and the walk reads it cost. */
  const access = (iova: number) => {
    const r0 = reads();
    tlb.begin();
    try {
      return { f: tlb.translate(iova), reads: reads() - r0 };
    } finally {
      tlb.end();
    }
  };
  return { m, stats, table, walker, tlb, flusher, reads, misses, access };
}

describe('the 4-level IO page table', () => {
  it('maps through directory pages made on demand and reads back what was set', () => {
    const { table } = rig();
    expect(table.leaf(7)).toBe(0);
    table.set(7, 42);
    table.set(L1 + 3, 43);
    expect([table.leaf(7), table.leaf(L1 + 3), table.leaf(8)]).toEqual([42, 43, 0]);
    // level-2 page, level-1 page, two leaf pages
    expect(table.inUse()).toBe(4);
    table.clear(7);
    expect(table.leaf(7)).toBe(0);
  });

  it('frees a page-table page only when one unmap covers its whole range and it holds nothing live, and reuses it after release', () => {
    const { table } = rig();
    table.set(1, 10);
    table.set(L1 + 1, 11);
    const freed: number[] = [];
    table.clear(1);
    expect(table.freeCovered(0, L1 - 1, freed), 'a range short of 2 MiB frees nothing').toBe(0);
    expect(table.freeCovered(L1 - 256, L1, freed), 'a 2 MiB range across two leaf pages frees neither').toBe(0);
    expect(table.freeCovered(L1, L1, freed), 'a live entry keeps its page').toBe(0);
    expect(table.freeCovered(0, L1, freed)).toBe(1);
    expect(table.leaf(5), 'unlinked: a walk from the root finds nothing').toBe(0);
    const before = table.inUse();
    table.release(freed);
    expect(table.inUse()).toBe(before - 1);
    table.set(2 * L1 + 5, 12); // the next range needs a leaf page: the freed one
    expect(table.inUse()).toBe(before);
    expect(table.leaf(2 * L1 + 5)).toBe(12);
  });
});

describe('a page-table cache', () => {
  it('hits what it holds, misses what it does not, and evicts the least recently used', () => {
    const c = new PtCache(2);
    expect(c.lookup(1)).toBe(-1);
    c.fill(1, 100);
    c.fill(2, 200);
    expect(c.lookup(1)).toBe(100); // 1 is now the most recent
    c.fill(3, 300); // evicts 2
    expect([c.lookup(1), c.lookup(2), c.lookup(3)]).toEqual([100, -1, 300]);
    c.flush();
    expect(c.size()).toBe(0);
  });
});

describe('the walk through the page-table caches', () => {
  it('costs 4 reads cold, 1 with an L1 hit, 2 with an L2 hit, 3 with an L3 hit, each miss counted at its level', () => {
    const { table, access, misses } = rig(2 * L2, { l1: 1, l2: 1, l3: 1 });
    table.set(0, 1);
    table.set(1, 2);
    table.set(L1, 3);
    table.set(L2, 4);
    expect(access(0)).toEqual({ f: 0, reads: 4 }); // every cache missed
    expect(misses()).toEqual([1, 1, 1]);
    expect(access(1)).toEqual({ f: 1, reads: 1 }); // L1 hit: the leaf only
    expect(access(L1)).toEqual({ f: 2, reads: 2 }); // another 2 MiB range: L2 hit
    expect(misses()).toEqual([2, 1, 1]);
    expect(access(L2)).toEqual({ f: 3, reads: 3 }); // another 1 GiB range: L3 hit
    expect(misses()).toEqual([3, 2, 1]);
    expect(access(1).reads, 'an IOTLB hit reads nothing').toBe(0);
  });

  it('evicts by level: a third 2 MiB range pushes the oldest out of a 2-entry L1 cache', () => {
    const { table, access } = rig();
    for (const r of [0, 1, 2]) table.set(r * L1, 10 + r);
    table.set(5, 20);
    access(0);
    access(L1);
    access(2 * L1); // evicts range 0 from L1
    expect(access(5).reads, 'range 0 again: L1 missed, L2 hit').toBe(2);
  });

  it('a fault reads as far as the table goes and caches nothing', () => {
    const { access, walker } = rig();
    expect(access(3)).toEqual({ f: -1, reads: 1 }); // the root's entry is empty
    expect(walker.caches.map((c) => c.size())).toEqual([0, 0, 0, 0]);
  });

  it('passthrough: a flat table walked as an identity-mapped 4-level one', () => {
    const m = Machine.create({ guestPages: 2 * L1, vcpus: 1, hostFrames: 16, dataFrames: 4, ringEntries: 2 });
    m.iommu[3] = 8;
    m.iommu[L1 + 3] = 9;
    const stats = new Float64Array(STAT.WORDS);
    const w = new PageWalker(new FlatWalkTable(freeRunning, m.iommu), { l1: 4, l2: 1, l3: 1 }, stats);
    expect([w.walk(3), stats[STAT.IOTLB_WALK_READS]]).toEqual([7, 4]);
    expect([w.walk(L1 + 3), stats[STAT.IOTLB_WALK_READS]]).toEqual([8, 6]);
  });
});

describe('flush rules', () => {
  it('a range flush alone (F&S, hint set) keeps the page-table caches', () => {
    const { table, access, flusher, walker } = rig();
    table.set(0, 1);
    table.set(1, 2);
    access(0);
    table.clear(0);
    flusher.post(0, 1, 0, 0);
    expect(access(0).f, 'the IOTLB entry went').toBe(-1);
    expect(walker.caches[1].size(), 'the L1 entry stayed').toBe(1);
    expect(access(1).reads).toBe(1);
  });

  it("Linux's hint empties them, once the device's accesses reach the unmap's virtual time", () => {
    const { table, access, flusher, tlb } = rig();
    table.set(0, 1);
    table.set(1, 2);
    table.set(2, 3);
    tlb.at(100);
    access(0);
    flusher.post(0, 1, FLUSH.PTC_HINT, 150); // an unmap at t = 150
    tlb.at(120);
    expect(access(1).reads, 'before the unmap in virtual time: the caches still hold').toBe(1);
    tlb.at(160);
    expect(access(2).reads, 'after it: a full walk').toBe(4);
  });

  it('a freed page-table page empties them at once, whatever the virtual time', () => {
    const { table, access, flusher, tlb, walker } = rig();
    table.set(0, 1);
    tlb.at(10);
    access(0);
    flusher.post(0, L1, FLUSH.PT_FREED, 1e9);
    access(5);
    expect(walker.caches[1].size() + walker.caches[2].size(), 'emptied, then refilled by one walk').toBe(2);
    expect(access(6).reads).toBe(1);
    expect(walker.caches[1].lookup(0)).toBeGreaterThanOrEqual(0);
  });

  it('a device the flush log lapped drops its IOTLB and page-table caches and counts the lap; one a flush short of it applies each entry', () => {
    const { table, access, flusher, tlb, walker, stats } = rig();
    table.set(0, 1);
    table.set(1, 2);
    access(0);
    access(1);
    const elsewhere = 3 * L1; // a range nothing cached lies in; no hint, no freed page: it keeps the page-table caches
    for (let k = 0; k < IOTLB_LOG.SIZE - 1; k++) flusher.post(elsewhere, 1, 0, 0);
    expect(access(0).reads, 'not lapped: the IOTLB entry stayed').toBe(0);
    expect(stats[STAT.IOTLB_LAPS]).toBe(0);
    for (let k = 0; k < IOTLB_LOG.SIZE + 1; k++) flusher.post(elsewhere, 1, 0, 0);
    tlb.begin();
    tlb.end();
    expect(stats[STAT.IOTLB_LAPS], 'lapped once').toBe(1);
    expect([tlb.cached(0), tlb.cached(1)], 'the IOTLB entries the lost entries never named went too').toEqual([false, false]);
    expect(walker.caches[1].size() + walker.caches[2].size() + walker.caches[3].size(), 'and the page-table caches').toBe(0);
    expect(access(1).reads, 'a full walk').toBe(4);
    expect(stats[STAT.IOTLB_LAPS], 'caught up: no further lap').toBe(1);
  });
});
