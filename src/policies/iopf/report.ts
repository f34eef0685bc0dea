// iopf's keys in the run report: the faults the device raised and how the host answered them, how
// long descriptors stalled (virtual clock), and the device-TLB shootdowns before reclaim.
import { mergeHistograms, percentilesUs } from '../../core/latency.js';
import type { RunReport } from '../../core/types.js';
import { STAT } from '../../machine/layout.js';
import type { Machine } from '../../machine/machine.js';
import { readPrqCounts } from './prq.js';

export function iopfReport(m: Machine, histograms: Record<string, string>): Pick<RunReport, 'faults' | 'shootdowns'> & { reclaimSkippedBusy: number; refaults: number } {
  const c = readPrqCounts(m);
  let reposted = 0;
  for (let v = 0; v < m.spec.vcpus; v++) reposted += m.guestStats(v)[STAT.REPOSTS];
  const stall = percentilesUs(mergeHistograms([histograms.iopfStall ?? ''].filter(Boolean)));
  return {
    faults: {
      raised: c.RAISED,
      answered: c.ANSWERED,
      minor: c.MINOR,
      major: c.MAJOR,
      invalid: c.INVALID,
      dropped: c.DROPPED,
      reposted,
      stalledUs: { p50: stall.p50, p99: stall.p99 },
    },
    shootdowns: c.SHOOTDOWNS,
    reclaimSkippedBusy: c.SKIPPED_BUSY,
    refaults: c.REFAULTS,
  };
}
