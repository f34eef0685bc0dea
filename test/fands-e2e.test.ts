// F&S end to end, on real role workers: viommu-strict with Linux's and with F&S's invalidation, on
// `net` with flows, multi-page descriptors and Tx acks whose packets arrive on the link: zero
// violations and zero strict leaks under both; fewer submissions and no more reads per page under
// fands; the run replays exactly on one vCPU; compare's third pair part; and the explorer's
// fands-unmap-vs-walk scenario, whose planted bug PCT and DFS find within 300 schedules while the
// real strategy shows nothing FORBIDDEN in the same budget.
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import type { RunReport } from '../src/core/types.js';
import { explore, type SearchOptions } from '../src/explore/explore.js';
import { scenarioByName } from '../src/explore/scenarios.js';
import { ExploreSession } from '../src/explore/session.js';
import { runScenario } from '../src/lab/orchestrator.js';
import { smallScenario } from './helpers/scenario.js';

const fandsNet = (invalidation: 'linux' | 'fands', notify: 'bare' | 'trap' = 'bare') =>
  smallScenario({
    policy: 'viommu-strict',
    notify,
    ops: 30,
    durationMs: 60_000,
    viommu: { invalidation },
    net: { descriptorPages: 8, flows: 4, txAcks: 'on', arrival: 'link', lineRateGbps: 5, reuseDistance: 32, queueDepth: 16, batch: 8 },
  });

function expectClean(r: RunReport): void {
  expect(r.violations).toEqual({ dmaToUnpinned: 0, lostPayloads: 0, accounting: 0, unpinnedWhileMapped: 0, lostWakeups: 0, mapFailures: 0, undrainedUnpins: 0 });
  expect(r.teardownLeftovers).toEqual([]);
  expect(r.protection.probes).toBeGreaterThan(0);
  expect(r.protection.leaks, 'strict: every probe of an unmapped IOVA faults').toBe(0);
}

describe('viommu-strict with linux and with fands invalidation', () => {
  it('both clean and leak-free; fands submits less and reads no more per page; the report names the strategy', async () => {
    const linux = await runScenario(fandsNet('linux'));
    const fands = await runScenario(fandsNet('fands'));
    for (const r of [linux, fands]) {
      expectClean(r);
      expect(r.dmaOps).toBe(30);
      const m = r.iotlb.readsPerPage!;
      expect(m).toBeGreaterThanOrEqual(1); // every page is a new IOVA: one IOTLB miss, at least one read
      expect(m).toBeLessThanOrEqual(4);
      expect(r.iotlb.walkReads).toBe(r.iotlb.misses + r.iotlb.ptcacheMisses!.l1 + r.iotlb.ptcacheMisses!.l2 + r.iotlb.ptcacheMisses!.l3);
      expect(r.modeled.translation!.readsPerPage).toBe(m);
    }
    expect([linux.invalidation, fands.invalidation]).toEqual(['linux', 'fands']);
    // linux: a submission per page of each map and unmap; fands: one per descriptor
    expect(fands.invSubmits * 4).toBeLessThan(linux.invSubmits);
    expect(fands.iotlb.readsPerPage!).toBeLessThan(linux.iotlb.readsPerPage!);
  });

  it('fands on the trap path: clean and leak-free too', async () => {
    expectClean(await runScenario(fandsNet('fands', 'trap')));
  });

  it("strict linux with 64-page descriptors and 10 flows never laps the device's flush log (every flush reaches it as its own range)", async () => {
    const run = () =>
      runScenario(
        smallScenario({
          policy: 'viommu-strict',
          notify: 'bare',
          ops: 60,
          durationMs: 60_000,
          guestPages: 65_536,
          viommu: { invalidation: 'linux' },
          net: { descriptorPages: 64, flows: 10, txAcks: 'on', arrival: 'link', lineRateGbps: 5, reuseDistance: 256, queueDepth: 64, batch: 16 },
        }),
      );
    const a = await run();
    expectClean(a);
    expect(a.dmaOps).toBe(60);
    expect(a.iotlb.laps, 'a lap would turn the flushes it skipped into one global flush').toBe(0);
    // without laps nothing depends on how far the device thread lags: the run replays exactly
    const b = await run();
    expect(b.iotlb).toEqual(a.iotlb);
  });

  it('with packets arriving on the link, one vCPU replays exactly: the same walk counts and modeled throughput twice', async () => {
    const a = await runScenario(fandsNet('linux'));
    const b = await runScenario(fandsNet('linux'));
    expect(b.iotlb).toEqual(a.iotlb);
    expect(b.modeled.opsPerSecond).toBe(a.modeled.opsPerSecond);
  });
});

describe('compare takes the strategy as a third part of a pair', () => {
  const cli = async (argv: string[]) => {
    let stdout = '';
    let stderr = '';
    const code = await main(argv, { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s), stderrIsTTY: false });
    return { code, stdout, stderr };
  };

  it('viommu-strict/bare/linux and /fands run side by side', async () => {
    const r = await cli(['compare', '--policies', 'viommu-strict/bare/linux,viommu-strict/bare/fands', '--ops', '40', '--guest-mem', '16MiB', '--reuse-distance', '32', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as RunReport[]).map((x) => x.invalidation)).toEqual(['linux', 'fands']);
  });

  it('a third part the policy does not take is a usage error naming what is allowed', async () => {
    const r = await cli(['compare', '--policies', 'static/trap/fands']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--policies/);
    const s = await cli(['compare', '--policies', 'viommu-strict/trap/bsd']);
    expect(s.code).toBe(2);
    expect(s.stderr).toMatch(/linux, fands/);
  });
});

describe('explorer: fands-unmap-vs-walk', () => {
  const BUDGET = 300;
  const search = async (variant: string, strategy: 'pct' | 'dfs', stop: boolean) => {
    const o: SearchOptions = { scenario: 'fands-unmap-vs-walk', variant, strategy, budget: BUDGET, seed: 1, depth: 3, preemptions: 2, maxSteps: 5000, stopOnForbidden: stop };
    const s = scenarioByName(o.scenario);
    const session = await ExploreSession.open(s, variant, { maxSteps: o.maxSteps });
    try {
      return explore(session, s, o, [{ index: 0, count: 1 }]);
    } finally {
      await session.close();
    }
  };

  it.each(['pct', 'dfs'] as const)('%s finds ptcache-kept-after-free within 300 schedules: the walk reaches the reused page', async (strategy) => {
    const r = await search('ptcache-kept-after-free', strategy, true);
    expect(r.forbidden).toBeGreaterThan(0);
    expect(r.schedules).toBeLessThanOrEqual(BUDGET);
    expect(r.firstForbidden!.outcome).toMatch(/stale page-table cache/);
  });

  it.each(['pct', 'dfs'] as const)('%s: the real fands strategy shows nothing FORBIDDEN in 300 schedules, and both orders happen', async (strategy) => {
    const r = await search('none', strategy, false);
    expect(r.schedules).toBe(BUDGET);
    expect(r.forbidden).toBe(0);
    expect(Object.keys(r.histogram).length).toBeGreaterThan(1);
  });
});
