// Random operation sequences over a few pages, run against the real coIOMMU code (inline host) and a
// small sequential reference model of DESIGN 1.1 (map count, ACCESSED, PINNED, the unpin clock's
// generations, residency and page contents). After every step the machine must match the model and
// the invariants of DESIGN 3 must hold.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CTL, MAX_GUEST_PAGES, STAT } from '../src/machine/layout.js';
import { freeRunning } from '../src/machine/shared-mem.js';
import { readStamp } from '../src/mem/payload.js';
import { ACCESSED, MAP_COUNT_MASK, PINNED } from '../src/policies/coiommu/dtt.js';
import { makeRig, type Rig } from './helpers/inline-host.js';
import { auditTree } from '../src/policies/coiommu/dtt-audit.js';
import { guestTable } from '../src/policies/coiommu/guest-table.js';
import { coiommuRegion } from '../src/policies/coiommu/region.js';
import { DttShrinker } from '../src/policies/coiommu/shrinker.js';
import { scenarioConfig } from '../src/policies/scenario-kit.js';

const P = 6; // guest pages

type Op =
  | { t: 'map'; v: number; g: number; n: number }
  | { t: 'unmap'; i: number }
  | { t: 'scan' }
  | { t: 'force'; g: number }
  | { t: 'reclaim'; budget: number }
  | { t: 'dma'; i: number; k: number }
  | { t: 'shrink' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('map' as const), v: fc.nat(1), g: fc.nat(P - 1), n: fc.integer({ min: 1, max: 2 }) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('unmap' as const), i: fc.nat(7) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('scan' as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('force' as const), g: fc.nat(P - 1) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('reclaim' as const), budget: fc.integer({ min: 0, max: P }) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('dma' as const), i: fc.nat(7), k: fc.nat(1) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('shrink' as const) }) },
);

const cfgArb = fc.record({
  vcpus: fc.integer({ min: 1, max: 2 }),
  hostFrames: fc.integer({ min: 2, max: P }),
  speculativePages: fc.integer({ min: 0, max: 2 }),
  unpinGenThreshold: fc.integer({ min: 1, max: 3 }),
  unpinLimit: fc.integer({ min: 0, max: 2 }),
  dtt: fc.constantFrom('flat' as const, 'multilevel' as const),
});
type Cfg = typeof cfgArb extends fc.Arbitrary<infer T> ? T : never;

interface PageModel {
  count: number;
  accessed: boolean;
  pinned: boolean;
  /** Busy rounds of the page's frame (meaningful while pinned). */
  gen: number;
  resident: boolean;
  /** Last stamp DMA wrote into the page (0: never written). */
  stamp: number;
}

/** The sequential reference model: DESIGN 1.1 with one step at a time. */
class Model {
  readonly pages: PageModel[] = Array.from({ length: P }, () => ({
    count: 0,
    accessed: false,
    pinned: false,
    gen: 0,
    resident: false,
    stamp: 0,
  }));
  round = 0;
  pinRequests = 0;
  forceUnpins = 0;

  constructor(private readonly cfg: Cfg) {}

  residentCount(): number {
    return this.pages.filter((p) => p.resident).length;
  }

  private pinOne(g: number): boolean {
    const p = this.pages[g];
    if (p.pinned) return true;
    if (!p.resident) {
      if (this.residentCount() >= this.cfg.hostFrames) return false;
      p.resident = true;
    }
    p.pinned = true;
    p.gen = 0;
    return true;
  }

  /** The host's pin handler: the page, then speculative neighbours (also when it was already pinned). */
  private pin(g: number): void {
    if (!this.pinOne(g)) return;
    for (let k = 1; k <= this.cfg.speculativePages && g + k < P; k++) this.pinOne(g + k);
  }

  map(g: number, n: number): number {
    const missing: number[] = [];
    for (let i = 0; i < n; i++) {
      const p = this.pages[g + i];
      p.count++;
      p.accessed = true;
      if (!p.pinned) missing.push(g + i);
    }
    if (missing.length === 0) return g;
    this.pinRequests++;
    for (const h of missing) this.pin(h);
    if (missing.every((h) => this.pages[h].pinned)) return g;
    for (let i = 0; i < n; i++) {
      // the shipped undo: ACCESSED goes only where the count reaches zero
      if (--this.pages[g + i].count === 0) this.pages[g + i].accessed = false;
    }
    return -1;
  }

  unmap(g: number, n: number): void {
    for (let i = 0; i < n; i++) this.pages[g + i].count--;
  }

  /**
   * One round of the clock (crosvm's LRU): every T-th round the old generation (busy T rounds) is
   * scanned first; the new one gets what is left of the round's limit. Pages in host-frame order.
   */
  scan(frameOrder: number[]): number {
    const T = this.cfg.unpinGenThreshold;
    const limit = this.cfg.unpinLimit === 0 ? Infinity : this.cfg.unpinLimit;
    let unpins = 0;
    const pass = (old: boolean) => {
      for (const g of frameOrder) {
        if (unpins >= limit) return;
        const p = this.pages[g];
        if (!p.pinned || p.gen >= T !== old) continue;
        if (p.count === 0 && !p.accessed) {
          p.pinned = false;
          unpins++;
        } else {
          p.accessed = false;
          if (p.gen < T) p.gen++;
        }
      }
    };
    if (++this.round % T === 0) pass(true);
    pass(false);
    return unpins;
  }


  force(g: number): boolean {
    const p = this.pages[g];
    p.accessed = false;
    if (!p.pinned || p.count !== 0) return false;
    p.pinned = false;
    this.forceUnpins++;
    return true;
  }
}

interface Buffer {
  g: number;
  n: number;
}

function checkAgainstModel(r: Rig, model: Model, cfg: Cfg, step: string): void {
  const { m } = r;
  let pinnedEntries = 0;
  let iommuEntries = 0;
  for (let g = 0; g < P; g++) {
    const p = model.pages[g];
    const e = r.entry(g);
    const where = `${step}: page ${g}`;
    expect(e & MAP_COUNT_MASK, `${where} map count`).toBe(p.count);
    expect((e & ACCESSED) !== 0, `${where} ACCESSED`).toBe(p.accessed);
    expect((e & PINNED) !== 0, `${where} PINNED`).toBe(p.pinned);
    expect(e & ~(MAP_COUNT_MASK | ACCESSED | PINNED), `${where} stray bits`).toBe(0);
    const f = m.iommu[g] - 1;
    if (p.pinned) pinnedEntries++;
    if (f >= 0) iommuEntries++;
    if (p.count > 0) expect(p.pinned && f >= 0, `${where}: mapped but not pinned in the host IOMMU`).toBe(true);
    if (p.pinned) {
      expect(f, `${where} host IOMMU entry`).toBeGreaterThanOrEqual(0);
      expect(m.frameOwner[f], `${where} frame owner`).toBe(g + 1);
      expect(m.framePinned[f], `${where} frame pinned`).toBe(1);
      expect(m.frameGen[f], `${where} generation`).toBe(p.gen);
      expect(m.ept[g], `${where} resident frame`).toBe(f + 1);
    } else expect(f, `${where} host IOMMU entry of an unpinned page`).toBe(-1);
    expect(m.ept[g] !== 0, `${where} resident`).toBe(p.resident);
    if (p.resident) expect(m.swap[g], `${where} swap of a resident page`).toBe(0);
    expect(readStamp(freeRunning, m, g), `${where} contents`).toBe(p.stamp);
  }
  expect(Atomics.load(m.control, CTL.PINNED_NOW), `${step}: PINNED_NOW vs PINNED entries`).toBe(pinnedEntries);
  expect(iommuEntries, `${step}: host IOMMU entries vs PINNED entries`).toBe(pinnedEntries);
  expect(Atomics.load(m.control, CTL.RESIDENT_NOW), `${step}: RESIDENT_NOW`).toBe(model.residentCount());
  expect(Atomics.load(m.control, CTL.RESIDENT_NOW)).toBeLessThanOrEqual(cfg.hostFrames);
  const requests = r.guestStats.reduce((s, b) => s + b[STAT.PIN_REQUESTS], 0);
  expect(requests, `${step}: pin requests`).toBe(model.pinRequests);
  expect(r.requesters.reduce((s, q) => s + q.requests.length, 0)).toBe(model.pinRequests);
  expect(r.hostStats[STAT.FORCE_UNPINS], `${step}: force-unpins`).toBe(model.forceUnpins);
  expect(r.checkAccounting(), `${step}: accounting`).toBe(true);
  expect(r.violations(), `${step}: violations`).toEqual({ dmaToUnpinned: 0, lostPayloads: 0, accounting: 0, unpinnedWhileMapped: 0, lostWakeups: 0, mapFailures: 0, undrainedUnpins: 0 });
}

function run(cfg: Cfg, ops: Op[]): void {
  const r = makeRig({
    guestPages: P,
    vcpus: cfg.vcpus,
    hostFrames: cfg.hostFrames,
    dataFrames: P,
    coiommu: {
      dtt: cfg.dtt,
      speculativePages: cfg.speculativePages,
      unpinGenThreshold: cfg.unpinGenThreshold,
      unpinLimit: cfg.unpinLimit === 0 ? MAX_GUEST_PAGES : cfg.unpinLimit,
    },
  });
  const model = new Model(cfg);
  const mapped: Buffer[] = [];
  let stamp = 0;
  let leafPresent = false; // multilevel: the one leaf of pages 0..P-1

  ops.forEach((op, s) => {
    const step = `step ${s} ${JSON.stringify(op)}`;
    switch (op.t) {
      case 'map': {
        const n = Math.min(op.n, P - op.g);
        const v = op.v % cfg.vcpus;
        const want = model.map(op.g, n);
        expect(r.guests[v].map(op.g, n), step).toBe(want);
        leafPresent = true; // a map grows the table (and the leaf stays until a shrink)
        if (want >= 0) mapped.push({ g: op.g, n });
        break;
      }
      case 'unmap': {
        if (mapped.length === 0) return;
        const [b] = mapped.splice(op.i % mapped.length, 1);
        model.unmap(b.g, b.n);
        r.guest.unmap(b.g, b.g, b.n);
        break;
      }
      case 'scan': {
        const order = model.pages
          .map((p, g) => ({ g, f: r.m.iommu[g] - 1 }))
          .filter(({ g }) => model.pages[g].pinned)
          .sort((a, b) => a.f - b.f)
          .map(({ g }) => g);
        const want = model.scan(order);
        expect(r.host.unpinScan(), step).toBe(want);
        break;
      }
      case 'force': {
        const want = model.force(op.g);
        expect(r.host.forceUnpin(op.g), step).toBe(want);
        break;
      }
      case 'reclaim': {
        const before = model.residentCount();
        const reclaimable = model.pages.filter((p) => p.resident && (!p.pinned || p.count === 0)).length;
        const forced: number[] = [];
        const reclaimer = r.reclaimer(op.budget, (g) => {
          forced.push(g);
          const want = model.force(g);
          const got = r.host.forceUnpin(g);
          expect(got, `${step}: force-unpin of page ${g}`).toBe(want);
          return got;
        });
        const n = reclaimer.run();
        // pages that left: only unpinned ones (the model has seen every force-unpin)
        for (let g = 0; g < P; g++) {
          const p = model.pages[g];
          const resident = r.m.ept[g] !== 0;
          if (p.resident && !resident) {
            expect(p.pinned, `${step}: reclaimed a pinned page ${g}`).toBe(false);
            expect(p.count, `${step}: reclaimed a mapped page ${g}`).toBe(0);
            p.resident = false;
          }
          expect(resident, `${step}: page ${g} became resident`).toBe(p.resident);
        }
        const expected = op.budget <= 0 || before <= op.budget ? before : Math.max(op.budget, before - reclaimable);
        expect(model.residentCount(), `${step}: resident after reclaim`).toBe(expected);
        expect(n, step).toBe(before - expected);
        if (op.budget <= 0 || before <= op.budget) expect(forced).toEqual([]);
        break;
      }
      case 'shrink': {
        // the DTT shrinker (multilevel): the pages' state is untouched; the leaf goes iff it is all zero
        if (cfg.dtt !== 'multilevel') return;
        const t = guestTable(freeRunning, r.m, scenarioConfig('none', { coiommu: r.cfg }), 0);
        const empty = model.pages.every((p) => p.count === 0 && !p.pinned && !p.accessed);
        const freed = new DttShrinker(freeRunning, r.m, t.lock!, t.pool!, (park) => r.host.parkUnpin(park), r.guestStats[0]).shrink();
        expect(freed, `${step}: leaves freed`).toBe(empty && leafPresent ? 1 : 0);
        if (freed > 0) leafPresent = false;
        break;
      }
      case 'dma': {
        if (mapped.length === 0) return;
        const b = mapped[op.i % mapped.length];
        const g = b.g + (op.k % b.n);
        stamp++;
        r.device.dmaWrite(g, g, stamp);
        model.pages[g].stamp = stamp;
        break;
      }
    }
    checkAgainstModel(r, model, cfg, step);
    if (cfg.dtt === 'multilevel') {
      const a = auditTree(r.m, coiommuRegion(P, cfg.vcpus));
      expect(a.problems, `${step}: DTT audit`).toEqual([]);
      expect(a.leaves, `${step}: leaves`).toBe(leafPresent ? 1 : 0);
    }
  });
  // teardown: unmap everything, let the clock run: nothing may stay pinned, contents survive
  for (const b of mapped.splice(0)) {
    model.unmap(b.g, b.n);
    r.guest.unmap(b.g, b.g, b.n);
  }
  for (let k = 0; k < 2 * cfg.unpinGenThreshold + 2; k++) {
    const order = model.pages
      .map((_, g) => ({ g, f: r.m.iommu[g] - 1 }))
      .filter(({ g }) => model.pages[g].pinned)
      .sort((a, b) => a.f - b.f)
      .map(({ g }) => g);
    expect(r.host.unpinScan()).toBe(model.scan(order));
  }
  if (cfg.unpinLimit === 0) expect(r.pinnedNow()).toBe(0);
  checkAgainstModel(r, model, cfg, 'teardown');
}

describe('coIOMMU against a sequential reference model', () => {
  it('random map / unmap / scan / force-unpin / reclaim / DMA / shrink sequences keep every invariant (flat and multilevel)', () => {
    fc.assert(
      fc.property(cfgArb, fc.array(opArb, { minLength: 1, maxLength: 60 }), (cfg, ops) => run(cfg, ops)),
      { numRuns: 200 },
    );
  });

  it('a hand-picked sequence: pressure with every page busy, then release', () => {
    const cfg: Cfg = { vcpus: 2, hostFrames: 3, speculativePages: 1, unpinGenThreshold: 1, unpinLimit: 0, dtt: 'multilevel' };
    run(cfg, [
      { t: 'map', v: 0, g: 0, n: 2 },
      { t: 'dma', i: 0, k: 1 },
      { t: 'map', v: 1, g: 4, n: 2 }, // out of frames: fails
      { t: 'reclaim', budget: 1 },
      { t: 'scan' },
      { t: 'scan' },
      { t: 'reclaim', budget: 1 },
      { t: 'map', v: 1, g: 4, n: 2 },
      { t: 'dma', i: 1, k: 0 },
      { t: 'unmap', i: 0 },
      { t: 'force', g: 1 },
      { t: 'reclaim', budget: 2 },
      { t: 'map', v: 0, g: 1, n: 1 },
    ]);
  });
});
