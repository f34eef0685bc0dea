// End to end on real workers over real shared memory: every policy x notify path runs the net
// workload with the oracle on, and the shape the papers predict holds.
import { describe, expect, it } from 'vitest';
import { runScenario } from '../src/lab/orchestrator.js';
import type { RunReport } from '../src/core/types.js';
import { smallScenario } from './helpers/scenario.js';

function expectClean(r: RunReport): void {
  expect(r.violations).toEqual({ dmaToUnpinned: 0, lostPayloads: 0, accounting: 0, unpinnedWhileMapped: 0, lostWakeups: 0, mapFailures: 0, undrainedUnpins: 0 });
  expect(r.teardownLeftovers).toEqual([]);
  expect(r.dmaOps).toBeGreaterThan(1000);
}

describe('static pinning', () => {
  it('pins all guest memory up front, never exits, leaves nothing to reclaim', async () => {
    const r = await runScenario(smallScenario({ policy: 'static', notify: 'trap', host: { memoryPages: 256 } }));
    expectClean(r);
    expect(r.exits).toBe(0);
    expect(r.pinRequests).toBe(0);
    expect(r.pinnedPages.peak).toBe(4096);
    expect(r.pinnedPages.end).toBe(4096);
    expect(r.staticPin?.pages).toBe(4096);
    expect(r.host.reclaimed).toBe(0);
    expect(r.host.reclaimablePagesEnd).toBe(0);
  });
});

describe.each(['trap', 'sidecore'] as const)('coIOMMU, %s path', (notify) => {
  it('pins on first touch only and unpins what is no longer used', async () => {
    const r = await runScenario(smallScenario({ policy: 'coiommu', notify, drainMs: 700 }));
    expectClean(r);
    // one request per first touch: far fewer than DMAs, never more than pins
    expect(r.pinRequests).toBeGreaterThan(0);
    expect(r.pinRequests).toBeLessThanOrEqual(r.pins);
    expect(r.pinRequests).toBeLessThan(r.dmaOps / 20);
    if (notify === 'trap') expect(r.exits).toBe(r.pinRequests);
    else expect(r.exits).toBe(0);
    // the pool (64 + 32 buffers) moves every 150 ms: pinned memory stays far below guest memory
    expect(r.pinnedPages.peak).toBeGreaterThanOrEqual(96);
    expect(r.pinnedPages.peak).toBeLessThan(4096 / 4);
    expect(r.unpins).toBeGreaterThan(0);
    // after 700 ms idle (35 scan rounds, old generation included) nothing stays pinned
    expect(r.pinnedPages.end).toBe(0);
    expect(r.latencyUs.pinRequest.p50).toBeGreaterThan(0);
    expect(r.modeled.cyclesPerDma).toBeGreaterThan(0);
  });
});

describe('coIOMMU under memory pressure', () => {
  it('reclaims unpinned pages and brings their contents back intact', async () => {
    const r = await runScenario(
      smallScenario({
        policy: 'coiommu',
        notify: 'trap',
        // 60,000 DMAs are ~200 ms of virtual time: with a rotation every 2 ms the pool moves ~100
        // times over 42 stretches of 96 pages, so it wraps around guest memory twice
        ops: 60_000,
        durationMs: 30_000,
        host: { memoryPages: 200 },
        net: { rotateMs: 2 },
      }),
    );
    expectClean(r);
    expect(r.host.reclaimed).toBeGreaterThan(0);
    expect(r.host.restored).toBeGreaterThan(0); // a reclaimed page came back and its payload was checked
  });
});

describe('several vCPUs', () => {
  it.each(['trap', 'sidecore'] as const)('two vCPUs share the host (%s) without violations', async (notify) => {
    const r = await runScenario(smallScenario({ policy: 'coiommu', notify, vcpus: 2 }));
    expectClean(r);
    expect(r.vcpus).toBe(2);
  });
});
