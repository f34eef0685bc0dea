// One sample of a running machine, read by the main thread from the shared counters (the roles
// write them anyway): what the series and the timeline are made of. Reading costs a few loads.
import { CTL, STAT, STAT_BLOCK, statBlockCount, type StatName } from '../../machine/layout.js';
import type { Machine } from '../../machine/machine.js';

/** A role's track: its stats block and its name. */
export interface Track {
  block: number;
  name: string;
}

export function tracks(vcpus: number, sidecore: boolean): Track[] {
  const t: Track[] = [{ block: STAT_BLOCK.hypervisor, name: 'hypervisor' }];
  if (sidecore) t.push({ block: STAT_BLOCK.sidecore, name: 'sidecore' });
  t.push({ block: STAT_BLOCK.device, name: 'device' });
  for (let v = 0; v < vcpus && STAT_BLOCK.guest0 + v < statBlockCount(vcpus); v++) t.push({ block: STAT_BLOCK.guest0 + v, name: `guest vCPU ${v}` });
  return t;
}

/** The activities drawn as slices, per role, from the counters that count them. */
export const ACTIVITIES: { name: string; stat: StatName }[] = [
  { name: 'pin requests', stat: 'PIN_REQUESTS' },
  { name: 'invalidation submissions', stat: 'INV_SUBMITS' },
  { name: 'pins', stat: 'PINS' },
  { name: 'unpin scans', stat: 'SCANS' },
  { name: 'page faults', stat: 'IOMMU_FAULTS' },
  { name: 'reclaims', stat: 'RECLAIMED' },
];

export interface Sample {
  /** ms since the run started (wall clock). */
  atMs: number;
  dmaOps: number;
  exits: number;
  pinned: number;
  resident: number;
  violations: number;
  /** Per track, per activity: the counter's value. */
  counts: number[][];
}

export function readSample(m: Machine, vcpus: number, list: Track[], atMs: number): Sample {
  let dmaOps = 0;
  let exits = 0;
  for (let v = 0; v < vcpus; v++) {
    const g = m.guestStats(v);
    dmaOps += g[STAT.DMA_OPS];
    exits += g[STAT.EXITS];
  }
  const c = m.control;
  return {
    atMs,
    dmaOps,
    exits,
    pinned: Atomics.load(c, CTL.PINNED_NOW),
    resident: Atomics.load(c, CTL.RESIDENT_NOW),
    violations: Atomics.load(c, CTL.VIOL_DMA) + Atomics.load(c, CTL.VIOL_LOST) + Atomics.load(c, CTL.VIOL_ACCT),
    counts: list.map((t) => ACTIVITIES.map((a) => m.statsBlock(t.block)[STAT[a.stat]])),
  };
}
