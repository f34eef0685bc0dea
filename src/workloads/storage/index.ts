// The `storage` workload: an NVMe-like device with per-vCPU queues and scatter-gather requests in
// both directions (issue 12).
import { formatBytes } from '../../core/units.js';
import { PAGE_SIZE } from '../../machine/layout.js';
import type { SectionBag } from '../../core/types.js';
import type { Workload } from '../workload.js';
import { STORAGE_SECTION, maxSegments, type StorageConfig } from './config.js';
import { StorageGuest } from './guest.js';
import { SgDevice } from './sg-device.js';

const nextPow2 = (n: number): number => 2 ** Math.ceil(Math.log2(Math.max(2, n)));
const cfgOf = (cfg: SectionBag): StorageConfig => cfg.storage as StorageConfig;

export const storageWorkload: Workload = {
  name: 'storage',
  help: `an NVMe-like device: per-vCPU submission and completion queues,
--io-size requests over a --working-set page cache (--locality), reads (the
device writes guest memory) and writes (it reads guest memory), each buffer a
scatter-gather list mapped and unmapped as one`,
  config: STORAGE_SECTION,
  ringEntries: (cfg) => nextPow2(cfgOf(cfg).queueDepth * maxSegments(cfgOf(cfg))),
  guest: (ctx) => new StorageGuest(ctx, cfgOf(ctx.cfg)),
  device: (ctx) => new SgDevice(ctx.mem, ctx.m, ctx.cfg.costTable, ctx.stats, ctx.oracle, cfgOf(ctx.cfg).mediaUs * 1000, ctx.iotlb, ctx.prober, ctx.faults),
  dmaDirection: 'FROM_DEVICE',
  describe: (cfg) => {
    const s = cfgOf(cfg);
    const bytes = (p: number) => formatBytes(p * PAGE_SIZE);
    return `storage (${bytes(s.ioPages)} requests, queue depth ${s.queueDepth}/vCPU, working set ${bytes(s.workingSetPages)}, ${s.locality}, ${s.readPercent}% reads, ${s.extentPages}-page extents)`;
  },
};
