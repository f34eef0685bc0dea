// Virtual time: the modeled clock drives the policies' timers, so a run's counts depend on the
// operations done and not on how fast this machine's threads ran; and on it the designs line up
// as the papers measured them. Real role workers, small runs ended by --ops.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { RunReport } from '../src/core/types.js';
import { resolveScenario } from '../src/lab/config.js';
import { runScenario } from '../src/lab/orchestrator.js';
import type { ScenarioConfig } from '../src/lab/scenario.js';

const OPS = 6000;

/** A 64 MiB guest, one vCPU, ended after `ops` DMAs (30 s is only a bound). */
function scenario(policy: string, notify: string, over: Record<string, unknown> = {}): ScenarioConfig {
  return resolveScenario({ policy, notify, guestPages: 16_384, ops: OPS, durationMs: 30_000, drainMs: 100, ...over });
}

const counts = (r: RunReport) => ({
  dmaOps: r.dmaOps,
  exits: r.exits,
  pins: r.pins,
  unpins: r.unpins,
  invSubmits: r.invSubmits,
  iotlb: r.iotlb,
  deferredHits: r.invalidations,
  modeledOps: r.modeled.opsPerSecond,
  virtualSeconds: r.modeled.virtualSeconds,
});

function expectClean(r: RunReport): void {
  expect(r.violations).toEqual({ dmaToUnpinned: 0, lostPayloads: 0, accounting: 0, unpinnedWhileMapped: 0, lostWakeups: 0, mapFailures: 0, undrainedUnpins: 0 });
  expect(r.teardownLeftovers).toEqual([]);
}

describe('virtual time is reproducible', () => {
  it.each([
    ['coiommu', 'trap'],
    ['viommu-optimistic', 'trap'],
    ['viommu-lazy', 'sidecore'],
  ])('%s/%s: the same seed and --ops give the same counts twice', async (policy, notify) => {
    // a short unpin interval and rotation, so the host's timers and the pool's moves happen often
    const over = { coiommu: { unpinIntervalMs: 2 }, net: { rotateMs: 3, reuseDistance: 128 } };
    const a = await runScenario(scenario(policy, notify, over));
    const b = await runScenario(scenario(policy, notify, over));
    expect(a.dmaOps).toBe(OPS);
    expect(counts(b)).toEqual(counts(a));
    expectClean(a);
    expectClean(b);
    if (policy === 'coiommu') expect(a.unpins, 'the unpin scan ran on the virtual clock').toBeGreaterThan(0);
  });

  it('exactly, also while another process keeps a core busy', async () => {
    const over = { coiommu: { unpinIntervalMs: 2 }, net: { rotateMs: 3, reuseDistance: 128 } };
    const a = await runScenario(scenario('coiommu', 'sidecore', over));
    // a spinning process for the length of the second run: this machine is slower, the model not
    const hog = spawn(process.execPath, ['-e', 'const end = Date.now() + 20000; while (Date.now() < end) {}']);
    try {
      const b = await runScenario(scenario('coiommu', 'sidecore', over));
      expect(counts(b)).toEqual(counts(a));
    } finally {
      hog.kill();
    }
  });

  it('with two vCPUs on the trap path too: their requests do not queue behind each other', async () => {
    const runs = [await runScenario(scenario('coiommu', 'trap', { vcpus: 2 })), await runScenario(scenario('coiommu', 'trap', { vcpus: 2 }))];
    for (const r of runs) expectClean(r);
    expect(counts(runs[1])).toEqual(counts(runs[0]));
  });

  it('within 10% with two vCPUs on the sidecore path (they queue on the one sidecore in arrival order)', async () => {
    const runs = [await runScenario(scenario('coiommu', 'sidecore', { vcpus: 2 })), await runScenario(scenario('coiommu', 'sidecore', { vcpus: 2 }))];
    for (const r of runs) expectClean(r);
    expect(runs[1].pins).toBe(runs[0].pins);
    const [x, y] = runs.map((r) => r.modeled.opsPerSecond);
    expect(Math.abs(x - y) / x).toBeLessThan(0.1); // seen: 0.7-3.3% apart
  });

  it('the wall clock is still there for measuring this machine', async () => {
    const r = await runScenario(scenario('coiommu', 'trap', { clock: 'wall' }));
    expect(r.config.clock).toBe('wall');
    expect(r.dmaOps).toBe(OPS);
    expectClean(r);
  });
});

/** Modeled % of line rate of each run, by name. */
async function lineRates(pairs: [string, string][], over: Record<string, unknown> = {}): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [policy, notify] of pairs) {
    const r = await runScenario(scenario(policy, notify, over));
    expectClean(r);
    out[`${policy}/${notify}`] = r.modeled.lineRatePercent!;
  }
  return out;
}

describe('the virtual clock prices each DMA as the cost table says', () => {
  // strict: per DMA the packet's wire time, a map and an unmap, and the host's pin of the page
  const t = resolveScenario({}).costTable;
  const ns = (cycles: number) => cycles / t.cpuGhz;
  const wire = (4096 * 8) / 10;
  const inv = t.iommuMapCycles - t.ioPageTableCycles;
  it.each([
    // trapped and sidecore (un)maps cost the vIOMMU paper's 34,969 and 9,225 cycles, plus the pin
    ['trap', wire + 2 * ns(34_969) + ns(t.pinPageCycles)],
    ['sidecore', wire + 2 * ns(9_225) + ns(t.pinPageCycles)],
    // natively a map is a page-table write; an unmap a clear, an invalidation and its wait
    ['bare', wire + 2 * ns(t.ioPageTableCycles) + ns(inv)],
  ])('viommu-strict/%s: %f ns of virtual time per DMA', async (notify, perDma) => {
    const r = await runScenario(scenario('viommu-strict', notify));
    expectClean(r);
    expect((r.modeled.virtualSeconds * 1e9) / r.dmaOps / perDma).toBeCloseTo(1, 2);
  });
});

describe("on the virtual clock the vIOMMU paper's orderings hold (net, 1 vCPU)", () => {
  it('strict < batched <= optimistic on every path; trap < sidecore <= bare; sidecore optimistic within 10% of bare', async () => {
    const modes = ['strict', 'lazy', 'optimistic'];
    const paths = ['trap', 'sidecore', 'bare'];
    const lr = await lineRates(modes.flatMap((mode) => paths.map((p): [string, string] => [`viommu-${mode}`, p])));
    for (const p of paths) {
      expect(lr[`viommu-strict/${p}`], p).toBeLessThan(lr[`viommu-lazy/${p}`]);
      expect(lr[`viommu-lazy/${p}`], p).toBeLessThanOrEqual(lr[`viommu-optimistic/${p}`]);
    }
    for (const mode of modes) {
      expect(lr[`viommu-${mode}/trap`], mode).toBeLessThan(lr[`viommu-${mode}/sidecore`]);
      expect(lr[`viommu-${mode}/sidecore`], mode).toBeLessThanOrEqual(lr[`viommu-${mode}/bare`]);
    }
    expect(lr['viommu-optimistic/sidecore']).toBeGreaterThanOrEqual(0.9 * lr['viommu-optimistic/bare']);
  });

  it('static is the ceiling: coIOMMU keeps at least 97% of it with a warm pool', async () => {
    // warm: the pool is pinned after its first pass; a longer run amortizes that first touch
    const lr = await lineRates(
      [
        ['static', 'trap'],
        ['coiommu', 'trap'],
        ['coiommu', 'sidecore'],
      ],
      { ops: 200_000 },
    );
    expect(lr['static/trap']).toBeGreaterThan(99);
    expect(lr['coiommu/trap']).toBeGreaterThanOrEqual(0.97 * lr['static/trap']);
    expect(lr['coiommu/sidecore']).toBeGreaterThanOrEqual(0.97 * lr['static/trap']);
    expect(lr['coiommu/sidecore']).toBeLessThanOrEqual(lr['static/trap']);
  });
});
