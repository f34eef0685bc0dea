// The modeled clock: counts from the run times a cycle cost table (defaults from the papers), so
// a result can be projected onto hardware that this machine's threads only imitate.
import type { CostTable, NotifyPath, Policy } from './types.js';

export interface ModelCounts {
  policy: Policy;
  notify: NotifyPath;
  dmaOps: number;
  dttOps: number;
  pinRequests: number;
  /** vIOMMU invalidation-queue submissions (each one trapped tail write, or one sidecore request). */
  invSubmits?: number;
  pins: number;
  unpins: number;
  /** Device IOTLB misses' walk reads (vIOMMU family). */
  walkReads?: number;
  guestPages: number;
}

/** Cycles for one request delivered by each path, on top of the pinning work itself. */
export function requestCycles(t: CostTable, notify: NotifyPath): number {
  return notify === 'trap' ? t.exitCycles + t.trapRequestCycles : t.sidecoreRequestCycles;
}

/**
 * One vIOMMU (un)map as the papers count it: the request (trap: exit + emulation; sidecore: the
 * polling overhead) plus the bare-metal IOMMU (un)map the host does for it. With the defaults:
 * trap 2,000 + 26,060 + 6,909 = 34,969; sidecore 2,316 + 6,909 = 9,225; bare metal 6,909.
 */
export function unmapCycles(t: CostTable, notify: NotifyPath | 'bare'): number {
  return (notify === 'bare' ? 0 : requestCycles(t, notify)) + t.iommuMapCycles;
}

export function modelCycles(c: ModelCounts, t: CostTable): { cyclesPerDma: number; breakdown: Record<string, number> } {
  const perDma = (x: number) => (c.dmaOps > 0 ? x / c.dmaOps : 0);
  const walks = perDma((c.walkReads ?? 0) * t.iotlbMissReadNs * t.cpuGhz);
  let breakdown: Record<string, number>;
  if (c.policy === 'static') breakdown = {};
  else if (c.policy === 'passthrough') breakdown = { iotlbWalks: walks };
  else if (c.policy === 'coiommu')
    breakdown = {
      dtt: perDma(c.dttOps * t.dttUpdateCycles),
      requests: perDma(c.pinRequests * requestCycles(t, c.notify)),
      pins: perDma(c.pins * (t.pinPageCycles + t.iommuMapCycles)),
      unpins: perDma(c.unpins * t.iommuMapCycles),
    };
  else
    breakdown = {
      invalidations: perDma((c.invSubmits ?? 0) * requestCycles(t, c.notify)),
      pins: perDma(c.pins * (t.pinPageCycles + t.iommuMapCycles)),
      unpins: perDma(c.unpins * t.iommuMapCycles),
      iotlbWalks: walks,
    };
  const cyclesPerDma = Object.values(breakdown).reduce((a, b) => a + b, 0);
  return { cyclesPerDma, breakdown };
}

/** Static pinning's one-time cost at VM creation, in ms. */
export function staticPinModeledMs(pages: number, t: CostTable): number {
  return (pages * (t.pinPageCycles + t.iommuMapCycles)) / (t.cpuGhz * 1e6);
}
