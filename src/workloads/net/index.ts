// The `net` workload: a NIC-like receive path (DESIGN 2, workloads).
import { formatDuration } from '../../core/units.js';
import type { Workload } from '../workload.js';
import { NET_SECTION, type NetConfig } from './config.js';
import { NetDevice } from './device.js';
import { NetGuest } from './guest.js';

const nextPow2 = (n: number): number => 2 ** Math.ceil(Math.log2(Math.max(2, n)));

export const netWorkload: Workload = {
  name: 'net',
  help: `a NIC receive path: per-vCPU descriptor and completion rings, a
buffer pool with a tunable reuse distance, moved every --rotate`,
  config: NET_SECTION,
  ringEntries: (cfg) => nextPow2(Math.max((cfg.net as NetConfig).queueDepth, (cfg.net as NetConfig).batch)),
  guest: (ctx) => new NetGuest(ctx, ctx.cfg.net as NetConfig),
  device: (ctx) => new NetDevice(ctx.mem, ctx.m, ctx.cfg.costTable, ctx.stats, ctx.oracle, ctx.iotlb, ctx.prober, ctx.faults),
  lineRate: (cfg) => ({ bytesPerOp: (cfg.net as NetConfig).packetBytes, gbps: (cfg.net as NetConfig).lineRateGbps }),
  describe: (cfg) => {
    const n = cfg.net as NetConfig;
    const rotate = n.rotateMs > 0 ? `rotate every ${formatDuration(n.rotateMs)}` : 'no rotation';
    return `net (queue depth ${n.queueDepth}, batch ${n.batch}, ${n.bufferPages} page${n.bufferPages === 1 ? '' : 's'}/buffer, reuse distance ${n.reuseDistance}, ${rotate})`;
  },
};
