// The modeled clock: counts from the run times a cycle cost table (defaults from the papers), so
// a result can be projected onto hardware that this machine's threads only imitate.
import type { CostTable, NotifyPath, Policy } from './types.js';

export interface ModelCounts {
  policy: Policy;
  notify: NotifyPath;
  dmaOps: number;
  dttOps: number;
  pinRequests: number;
  pins: number;
  unpins: number;
  guestPages: number;
}

/** Cycles for one request delivered by each path, on top of the pinning work itself. */
export function requestCycles(t: CostTable, notify: NotifyPath): number {
  return notify === 'trap' ? t.exitCycles + t.trapRequestCycles : t.sidecoreRequestCycles;
}

export function modelCycles(c: ModelCounts, t: CostTable): { cyclesPerDma: number; breakdown: Record<string, number> } {
  const perDma = (x: number) => (c.dmaOps > 0 ? x / c.dmaOps : 0);
  const breakdown: Record<string, number> =
    c.policy === 'static'
      ? {}
      : {
          dtt: perDma(c.dttOps * t.dttUpdateCycles),
          requests: perDma(c.pinRequests * requestCycles(t, c.notify)),
          pins: perDma(c.pins * (t.pinPageCycles + t.iommuMapCycles)),
          unpins: perDma(c.unpins * t.iommuMapCycles),
        };
  const cyclesPerDma = Object.values(breakdown).reduce((a, b) => a + b, 0);
  return { cyclesPerDma, breakdown };
}

/** Static pinning's one-time cost at VM creation, in ms. */
export function staticPinModeledMs(pages: number, t: CostTable): number {
  return (pages * (t.pinPageCycles + t.iommuMapCycles)) / (t.cpuGhz * 1e6);
}
