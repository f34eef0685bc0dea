// coIOMMU as shipped, end to end on real workers: the multi-level DTT with the shrinker running,
// under --unpin-policy lru and off, on both notify paths; every oracle check stays at zero.
import { describe, expect, it } from 'vitest';
import { runScenario } from '../src/lab/orchestrator.js';
import type { RunReport } from '../src/core/types.js';
import { smallScenario } from './helpers/scenario.js';

function expectClean(r: RunReport): void {
  expect(r.violations).toEqual({ dmaToUnpinned: 0, lostPayloads: 0, accounting: 0, unpinnedWhileMapped: 0, lostWakeups: 0, mapFailures: 0, undrainedUnpins: 0 });
  expect(r.teardownLeftovers).toEqual([]);
  expect(r.dmaOps).toBeGreaterThan(100);
  expect(r.dtt!.countUnderflows).toBe(0);
  expect(r.pinFailures).toEqual({ slotBusy: 0, timeouts: 0, hostMapFailures: 0, rejected: 0 });
}

describe('coIOMMU as shipped, multilevel DTT', () => {
  it.each(['trap', 'sidecore'] as const)('lru with the shrinker on (%s): pages unpinned, leaves freed, zero violations', async (notify) => {
    // 6,000 DMAs are ~20 ms of virtual time; the pool moves every 1 ms through 4 leaves' worth of
    // guest memory, so leaves empty out behind it and the shrinker (every 3 ms) frees them
    const coiommu = { dtt: 'multilevel', unpinPolicy: 'lru', unpinIntervalMs: 1, dttShrinkMs: 3 } as const;
    const r = await runScenario(smallScenario({ policy: 'coiommu', notify, ops: 6000, durationMs: 30_000, net: { rotateMs: 1 }, coiommu }));
    expectClean(r);
    expect(r.config.coiommu).toMatchObject({ dtt: 'multilevel', unpinPolicy: 'lru' });
    expect(r.unpins).toBeGreaterThan(0);
    expect(r.dtt!.pagesFreed).toBeGreaterThan(0);
  });

  it('off (crosvm default): nothing is ever unpinned by the worker, zero violations', async () => {
    const r = await runScenario(smallScenario({ policy: 'coiommu', notify: 'trap', coiommu: { dtt: 'multilevel', unpinPolicy: 'off', dttShrinkMs: 20 } }));
    expectClean(r);
    expect(r.unpins).toBe(0);
    expect(r.pinnedPages.end).toBe(r.pins);
    expect(r.dtt!.pagesFreed).toBe(0); // every touched leaf keeps a PINNED entry
  });
});
