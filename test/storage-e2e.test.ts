// The storage workload end to end on real workers: every policy on every notify path it runs on,
// reads (the device writes guest memory) and writes (it reads guest memory) mixed, scatter-gather
// requests, with the oracle on: no violation, nothing left behind.
import { describe, expect, it } from 'vitest';
import { runScenario } from '../src/lab/orchestrator.js';
import { allPolicies } from '../src/policies/index.js';
import type { StorageConfig } from '../src/workloads/storage/config.js';
import { smallScenario } from './helpers/scenario.js';

const LOCALITIES = ['uniform', 'zipf:1.1', 'sequential'];
const cases = allPolicies().flatMap((p) => p.notifyPaths.map((notify) => ({ policy: p.name, notify })));

describe('storage on every policy x notify path', () => {
  it.each(cases.map((c, i) => ({ ...c, locality: LOCALITIES[i % LOCALITIES.length] })))('$policy / $notify ($locality): zero violations', async ({ policy, notify, locality }) => {
    const storage: StorageConfig = { queueDepth: 8, ioPages: 32, workingSetPages: 1024, locality, readPercent: 50, extentPages: 8, mediaUs: 20 };
    const cfg = { ...smallScenario({ policy, notify, ops: 96, durationMs: 20_000 }), workload: 'storage', storage };
    const r = await runScenario(cfg as Parameters<typeof runScenario>[0]);
    expect(r.violations).toEqual({ dmaToUnpinned: 0, lostPayloads: 0, accounting: 0, unpinnedWhileMapped: 0, lostWakeups: 0, mapFailures: 0, undrainedUnpins: 0 });
    expect(r.teardownLeftovers).toEqual([]);
    expect(r.dmaOps).toBe(96);
  });

  it('two vCPUs, all writes (the device only reads): zero violations on coiommu / sidecore', async () => {
    const storage: StorageConfig = { queueDepth: 8, ioPages: 16, workingSetPages: 2048, locality: 'uniform', readPercent: 0, extentPages: 4, mediaUs: 10 };
    const cfg = { ...smallScenario({ policy: 'coiommu', notify: 'sidecore', vcpus: 2, ops: 160, durationMs: 20_000 }), workload: 'storage', storage };
    const r = await runScenario(cfg as Parameters<typeof runScenario>[0]);
    expect(r.violations).toEqual({ dmaToUnpinned: 0, lostPayloads: 0, accounting: 0, unpinnedWhileMapped: 0, lostWakeups: 0, mapFailures: 0, undrainedUnpins: 0 });
    expect(r.dmaOps).toBe(160);
  });
});
