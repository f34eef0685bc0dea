// What sets strict Linux's M on one vCPU with packets on the link (README, "`net` settings for the
// F&S setting"): every linux unmap empties the page-table caches, so a page whose DMA falls after
// an unmap walks all four levels (an L3 miss; nothing else misses the 512 GiB root cache). The
// driver unmaps a descriptor's pages back to back, each unmap shorter than a page's wire time, so
// the share of such pages is about one unmap's time over one page's wire time: it follows the line
// rate. The flows do not enter it: the IOVA allocator, not the flow, places each descriptor, the
// device serves the ring in order, and a flush leaves nothing for a larger live set to miss.
import { describe, expect, it } from 'vitest';
import type { RunReport } from '../src/core/types.js';
import { runScenario } from '../src/lab/orchestrator.js';
import { smallScenario } from './helpers/scenario.js';

const OPS = 60;
const PAGES = 64;

const run = (invalidation: 'linux' | 'fands', flows: number, lineRateGbps: number) =>
  runScenario(
    smallScenario({
      policy: 'viommu-strict',
      notify: 'bare',
      ops: OPS,
      durationMs: 60_000,
      guestPages: 65_536,
      viommu: { invalidation },
      net: { descriptorPages: PAGES, flows, txAcks: 'on', arrival: 'link', lineRateGbps, reuseDistance: 256, queueDepth: 64, batch: 16 },
    }),
  );

/** Share of the receive pages that walked all four levels (an unmap emptied the caches before them). */
const fullWalkShare = (r: RunReport): number => r.iotlb.ptcacheMisses!.l3 / (r.dmaOps * PAGES);

/** The model's prediction: one strict unmap's virtual time over one page's wire time. */
function predictedShare(r: RunReport, lineRateGbps: number): number {
  const c = r.modeled.costTable;
  const unmapNs = c.iommuMapCycles / c.cpuGhz;
  const wireNs = (4096 * 8) / lineRateGbps;
  return unmapNs / wireNs;
}

describe('strict linux M on one vCPU: set by unmap time over wire time, not by the flows', () => {
  it('the share of pages walking all four levels is one unmap over one page on the wire, at 2.5 and 5 Gbit/s', async () => {
    for (const rate of [2.5, 5]) {
      const r = await run('linux', 1, rate);
      expect(r.dmaOps).toBe(OPS);
      expect(r.iotlb.laps).toBe(0);
      const want = predictedShare(r, rate);
      expect(fullWalkShare(r)).toBeGreaterThan(0.85 * want);
      expect(fullWalkShare(r)).toBeLessThan(1.1 * want);
    }
  });

  it('10 flows give the very walk counts of 1 flow under linux, and fands stays at one read per page', async () => {
    const one = await run('linux', 1, 5);
    const ten = await run('linux', 10, 5);
    expect(ten.iotlb).toEqual(one.iotlb);
    const fands = await run('fands', 10, 5);
    expect(fands.iotlb.readsPerPage!).toBeLessThan(1.02);
    expect(one.iotlb.readsPerPage! - fands.iotlb.readsPerPage!).toBeGreaterThan(1);
  });
});
