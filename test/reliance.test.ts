// The reliance oracle in free runs: a page the guest holds mapped that the host takes back is a
// violation at that moment (no DMA needed in the window), and the real protocols stay clean with
// fewer host frames than guest pages (pins fail; each failed map has a failed pin behind it).
import { describe, expect, it } from 'vitest';
import { runScenario } from '../src/lab/orchestrator.js';
import { smallScenario } from './helpers/scenario.js';

// Buffers stay mapped for ~256 packets (0.8 ms of virtual time) while the scan runs every 1 ms.
const longMaps = { queueDepth: 256, batch: 64 };

describe('reliance oracle in a free run', () => {
  it('catches a deliberately early unpin (the scan ignores the map count) when it happens', async () => {
    const r = await runScenario(
      smallScenario({ policy: 'coiommu', notify: 'trap', ops: 6000, variant: 'unpin-ignores-count', coiommu: { unpinIntervalMs: 1 }, net: longMaps }),
    );
    expect(r.violations.unpinnedWhileMapped).toBeGreaterThan(0);
    // found at the unpin itself, before any DMA could land in the window
    expect(r.violations.first).toMatchObject({ kind: 'unpinnedWhileMapped', role: 'hypervisor', detail: 'host unpinned a page the guest holds mapped' });
  });

  it.each(['trap', 'sidecore'] as const)('the real coIOMMU (%s) is clean with host frames below guest pages', async (notify) => {
    const r = await runScenario(
      smallScenario({ policy: 'coiommu', notify, ops: 6000, coiommu: { unpinIntervalMs: 1 }, net: longMaps, host: { frames: 256, memoryPages: 192 } }),
    );
    expect(r.violations).toEqual({ dmaToUnpinned: 0, lostPayloads: 0, accounting: 0, unpinnedWhileMapped: 0, lostWakeups: 0, mapFailures: 0, undrainedUnpins: 0 });
    expect(r.host.reclaimed).toBeGreaterThan(0);
    expect(r.dmaOps).toBeGreaterThan(1000);
  });
});
