// The `trace` workload: replay of a Linux DMA trace (iommu:map/unmap, dma:dma_map_*/dma_unmap_*)
// as the guest driver's work (issue 12).
import type { SectionBag } from '../../core/types.js';
import { SgDevice } from '../storage/sg-device.js';
import type { Workload } from '../workload.js';
import { TRACE_SECTION, type TraceConfig } from './config.js';
import { TraceGuest } from './guest.js';
import { scanTrace } from './scan.js';

const cfgOf = (cfg: SectionBag): TraceConfig => cfg.trace as TraceConfig;

export const traceWorkload: Workload = {
  name: 'trace',
  help: `replay of a Linux DMA trace (--trace FILE: iommu:map/unmap or dma:
events from ftrace, trace-cmd report or perf script): CPUs fold onto vCPUs,
physical pages into guest memory, the timestamps pace the replay`,
  config: TRACE_SECTION,
  ringEntries: () => 512,
  guest: (ctx) => new TraceGuest(ctx, cfgOf(ctx.cfg)),
  // the trace says nothing of the device's own latency: only its DMA costs time
  device: (ctx) => new SgDevice(ctx.mem, ctx.m, ctx.cfg.costTable, ctx.stats, ctx.oracle, 0, ctx.iotlb, ctx.prober, ctx.faults),
  finite: () => true,
  describe: (cfg) => {
    const t = cfgOf(cfg);
    const s = scanTrace(t.file, t.skipBad === 'on');
    const a = s.anomalies;
    return (
      `trace ${t.file} (${s.maps} maps, ${s.unmaps} unmaps over ${s.spanS.toFixed(3)} s, highest CPU ${s.cpus - 1}, speed ${t.speed}; ` +
      `${a.unmapWithoutMap} unmaps without map, ${a.doubleMap} double maps, ${a.outOfOrder} out of order, ${a.lostEvents} lost, ${a.badLines} malformed skipped, ${a.truncatedSg} truncated sg)`
    );
  },
};
