// The `net` workload's settings: ring depth, doorbell batch, buffer size, reuse distance, rotation.
import { section } from '../../core/settings.js';

export interface NetConfig {
  /** Receive buffers in flight per vCPU. */
  queueDepth: number;
  /** Descriptors posted (and completions reaped) per ring doorbell. */
  batch: number;
  /** Guest pages per buffer. */
  bufferPages: number;
  /** How many other buffers are mapped before a freed buffer is mapped again. */
  reuseDistance: number;
  /** Move the buffer pool to fresh guest memory every this many ms (0 = never). */
  rotateMs: number;
  /** The link's rate: a packet's wire time is the driver's work per buffer on the virtual clock. */
  lineRateGbps: number;
  /** Bytes per packet (one buffer). */
  packetBytes: number;
  /** Receive flows per vCPU: each its own buffer pool and region, interleaved at the device. */
  flows: number;
  /** Buffers per receive descriptor (F&S: 64 pages, one IOVA chunk under --invalidation fands). */
  descriptorPages: number;
  /** Tx acknowledgements: one small buffer mapped, sent and unmapped per receive descriptor. */
  txAcks: 'on' | 'off';
  /**
   * driver: a packet's wire time is part of the driver's work per buffer (the DMA happens as it
   * posts); link: packets arrive on the link at line rate into descriptors posted ahead, while the
   * driver maps and unmaps (so the device's DMAs and the driver's unmaps interleave in time).
   */
  arrival: 'driver' | 'link';
}

/** Guest pages one receive descriptor covers. */
export const descriptorPagesOf = (n: NetConfig): number => n.bufferPages * n.descriptorPages;
/** Buffers (descriptors) in each flow's pool: the reuse distance and queue depth, shared out. */
export const flowBuffersOf = (n: NetConfig): number => Math.max(2, Math.ceil((n.reuseDistance + n.queueDepth) / n.flows));
/** Ack buffers (one page each) per vCPU when Tx acks are on. */
export const txBuffersOf = (n: NetConfig): number => (n.txAcks === 'on' ? n.queueDepth + 16 : 0);
/** Guest pages one vCPU's pools take. */
export const vcpuPoolPagesOf = (n: NetConfig): number => n.flows * flowBuffersOf(n) * descriptorPagesOf(n) + txBuffersOf(n);

export const NET_SECTION = section<NetConfig>(
  'net',
  [
    { key: 'queueDepth', flag: '--queue-depth', kind: 'int', min: 1, max: 1024, default: 64, help: 'receive buffers in flight per vCPU' },
    { key: 'batch', flag: '--batch', kind: 'int', min: 1, max: 256, note: 'and at most the queue depth', default: 16, help: 'descriptors per doorbell, at most the queue depth' },
    { key: 'bufferPages', flag: '--buffer-pages', kind: 'int', min: 1, max: 16, default: 1, help: 'guest pages per buffer' },
    { key: 'reuseDistance', flag: '--reuse-distance', kind: 'int', min: 0, max: 65_536, default: 256, help: 'buffers mapped before a freed one is reused' },
    { key: 'rotateMs', flag: '--rotate', kind: 'ms', min: 0, unit: 'ms', note: '0 = never', default: 500, help: 'move the buffer pool to fresh guest memory this often' },
    { key: 'lineRateGbps', flag: '--line-rate', kind: 'num', gt: 0, max: 1000, unit: 'Gbit/s', default: 10, help: 'link rate in Gbit/s: a packet costs its wire time on the virtual clock' },
    { key: 'packetBytes', flag: '--packet-bytes', kind: 'int', min: 64, max: 65_536, default: 4096, help: 'bytes per packet (one buffer)' },
    { key: 'flows', flag: '--flows', kind: 'int', min: 1, max: 64, default: 1, help: 'receive flows per vCPU, each its own buffer pool and region, interleaved at the device' },
    { key: 'descriptorPages', flag: '--descriptor-pages', kind: 'int', min: 1, max: 64, default: 1, help: 'buffers per receive descriptor (F&S: 64)' },
    { key: 'arrival', flag: '--arrival', kind: 'text', values: () => ['driver', 'link'], default: 'driver', help: 'driver: a packet costs the driver its wire time; link: packets arrive at line rate into posted descriptors while the driver works' },
    { key: 'txAcks', flag: '--tx-acks', kind: 'text', values: () => ['on', 'off'], default: 'off', help: 'Tx acks: map, send and unmap a small buffer per receive descriptor, in the same IOVA space' },
  ],
  (cfg, fail, name) => {
    const n = cfg.net as NetConfig;
    if (n.batch > n.queueDepth) {
      const why = 'a doorbell cannot post more descriptors than the ring holds';
      fail(['net.batch', 'net.queueDepth'], `${name('net.batch')} (${n.batch}) must be at most ${name('net.queueDepth')} (${n.queueDepth}): ${why}`);
    }
    const poolPages = cfg.vcpus * vcpuPoolPagesOf(n);
    if (poolPages > cfg.guestPages) {
      const shrink = ['vcpus', 'net.reuseDistance', 'net.queueDepth', 'net.bufferPages'];
      fail(
        ['guestPages', ...shrink],
        `the buffer pools need ${name('vcpus')} × (${name('net.reuseDistance')} + ${name('net.queueDepth')}) × ${name('net.bufferPages')}` +
          (n.flows > 1 || n.descriptorPages > 1 || n.txAcks === 'on' ? ` (by flow, × ${name('net.descriptorPages')}, + Tx ack buffers)` : '') +
          ` = ${poolPages} guest pages,` +
          ` but ${name('guestPages')} gives only ${cfg.guestPages} pages; raise ${name('guestPages')}` +
          ` or lower ${shrink.map(name).slice(0, -1).join(', ')} or ${name(shrink[shrink.length - 1])}`,
      );
    }
  },
);
