// The fail-nth sweep over coIOMMU's map path (every slot write, pin, IOMMU map and frame
// allocation) and the vIOMMU's (every invalidation-queue submission, shadow pin, IOMMU map and
// frame allocation) of a short deterministic run, each failed once in turn: every run ends clean.
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

  it('viommu-lazy: failing the Nth queue submission, shadow pin, IOMMU map or frame allocation ends clean', async () => {
    const r = await sweep('viommu-lazy');
    // 4 maps of 2 one-page buffers (a submission each), the flush queue's one batch at the end;
    // each buffer is pinned once (the flush queue keeps it shadowed until the batch)
    expect(r.counts).toMatchObject({ 'queue-submit': 5, pin: 2, 'iommu-map': 2, 'frame-alloc': 2, 'slot-write': 0 });
    expect(r.runs).toHaveLength(11);
    expect(r.runs.filter((x) => !x.ok)).toEqual([]);
    // a refused or failed map is one failed map the driver retries; the refused batch is submitted again
    const batch = r.runs.find((x) => x.point === 'queue-submit' && x.n === 5)!;
    expect([batch.mapFailures, batch.resubmitted]).toEqual([0, 1]);
    for (const run of r.runs.filter((x) => x !== batch)) expect([run.mapFailures, run.resubmitted]).toEqual([1, 0]);
  });
});
