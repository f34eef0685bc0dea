// iopf end to end on real workers over real shared memory (trap and sidecore), and the shape the
// design predicts: pins only for faulted pages, a pinned peak far below guest memory, faults per
// DMA that fall with buffer reuse, and under --host-mem pressure fewer resident pages than
// coIOMMU, which keeps fewer than static pinning. Plus the balloon for every policy, and the
// drop mode (every dropped descriptor re-posted and delivered). Runs end by --ops on the virtual
// clock (the wall-clock duration is only a guard); each run is made once and shared by the tests.
import { describe, expect, it } from 'vitest';
import type { RunReport } from '../src/core/types.js';
import { runScenario } from '../src/lab/orchestrator.js';
import { smallScenario } from './helpers/scenario.js';

type Over = Parameters<typeof smallScenario>[0];
const OPS = 1500;
const memo = new Map<string, Promise<RunReport>>();
/** One run per distinct scenario, made on first use. */
function run(over: Over): Promise<RunReport> {
  const key = JSON.stringify(over);
  if (!memo.has(key)) memo.set(key, runScenario(smallScenario({ ops: OPS, durationMs: 30_000, ...over })));
  return memo.get(key)!;
}

const PRESSURE = { host: { memoryPages: 32 }, net: { rotateMs: 2 } };
const BALLOON = { host: { memoryPages: 0, balloonPages: 32, balloonAtMs: 3 } };

function expectClean(r: RunReport): void {
  expect(r.violations).toEqual({ dmaToUnpinned: 0, lostPayloads: 0, accounting: 0, unpinnedWhileMapped: 0, lostWakeups: 0, mapFailures: 0, undrainedUnpins: 0 });
  expect(r.teardownLeftovers).toEqual([]);
  expect(r.dmaOps).toBe(OPS);
  if (r.faults) expect(r.faults.answered).toBe(r.faults.raised);
}

describe.each(['trap', 'sidecore'] as const)('iopf, %s path', (notify) => {
  it('faults pages in on first touch only: pins = faults that pinned, pinned peak far below guest memory', async () => {
    const r = await run({ policy: 'iopf', notify, host: { memoryPages: 0 }, net: { rotateMs: 0 } });
    expectClean(r);
    expect(r.exits).toBe(0);
    const f = r.faults!;
    expect(f.raised).toBeGreaterThan(0);
    expect(r.pins).toBe(f.minor + f.major); // every pin answers a fault, nothing is pinned otherwise
    expect(f.major).toBe(0);
    expect(r.pinnedPages.peak).toBe(f.raised); // the pool (64 + 32 buffers) is all the device touches
    expect(r.pinnedPages.peak).toBeLessThan(4096 / 20);
    expect(f.stalledUs.p50).toBeGreaterThan(0);
  });

  it('under memory pressure: reclaim with shootdown, swapped pages fault back with their contents, zero violations', async () => {
    const r = await run({ policy: 'iopf', notify, ...PRESSURE });
    expectClean(r);
    expect(r.shootdowns).toBeGreaterThan(0);
    expect(r.host.reclaimed).toBeGreaterThan(0);
    expect(r.host.forceUnpins).toBe(r.shootdowns);
  });
});

describe('iopf shape', () => {
  it('faults per DMA fall with buffer reuse', async () => {
    const fresh = await run({ policy: 'iopf', notify: 'trap', host: { memoryPages: 0 }, net: { rotateMs: 1 } });
    const reused = await run({ policy: 'iopf', notify: 'trap', host: { memoryPages: 0 }, net: { rotateMs: 0 } });
    expectClean(fresh);
    const per = (r: RunReport) => r.faults!.raised / r.dmaOps;
    expect(per(reused)).toBeLessThan(per(fresh) / 4);
  });

  it('--fault-mode drop: every dropped descriptor is re-posted and delivered', async () => {
    const r = await run({ policy: 'iopf', notify: 'trap', iopf: { faultMode: 'drop' }, ...PRESSURE } as Over);
    expectClean(r);
    expect(r.faults!.dropped).toBeGreaterThan(0);
    expect(r.faults!.reposted).toBe(r.faults!.dropped);
  });

  it('under --host-mem pressure iopf keeps fewer pages resident than coIOMMU, which keeps fewer than static', async () => {
    const s = await run({ policy: 'static', notify: 'trap', ...PRESSURE });
    const c = await run({ policy: 'coiommu', notify: 'trap', ...PRESSURE });
    const i = await run({ policy: 'iopf', notify: 'trap', ...PRESSURE });
    expect(s.host.residentPeak).toBe(4096);
    expect(c.host.residentPeak).toBeLessThan(s.host.residentPeak);
    expect(i.host.residentPeak).toBeLessThan(c.host.residentPeak);
  });
});

describe('--balloon, every policy', () => {
  it('static refuses every pinned page; coIOMMU and iopf give back what is idle', async () => {
    const s = await run({ policy: 'static', notify: 'trap', ...BALLOON });
    const c = await run({ policy: 'coiommu', notify: 'trap', ...BALLOON });
    const i = await run({ policy: 'iopf', notify: 'sidecore', ...BALLOON });
    expect(s.host.balloon).toMatchObject({ requested: 32, released: 0, refused: 4096 });
    for (const r of [c, i]) {
      expectClean(r);
      expect(r.host.balloon!.released).toBe(32);
    }
  });
});
