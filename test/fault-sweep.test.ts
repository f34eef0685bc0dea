// The fail-nth sweep over coIOMMU's map path: every slot write, pin, IOMMU map and frame
// allocation of a short deterministic run is failed once in turn, and every run ends clean.
import { describe, expect, it } from 'vitest';
import { sweep } from '../src/lab/fault-sweep.js';

describe('fail-nth sweep', () => {
  it('coiommu-map: failing the Nth of every failure point, for every N, ends clean with every DMA done', async () => {
    const r = await sweep('coiommu-map');
    // two one-page buffers: each point is reached exactly twice in the clean run (deterministic)
    expect(r.counts).toMatchObject({ 'slot-write': 2, pin: 2, 'iommu-map': 2, 'frame-alloc': 2 });
    expect(r.runs).toHaveLength(8);
    expect(r.runs.filter((x) => !x.ok)).toEqual([]);
    // each injected failure reached the guest as exactly one clean map failure, then the retry worked
    for (const run of r.runs) expect(run.mapFailures).toBe(1);
  });
});
