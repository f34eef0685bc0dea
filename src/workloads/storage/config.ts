// The `storage` workload's settings: an NVMe-like device's queues, request size, page cache and
// access pattern.
import { section } from '../../core/settings.js';
import { MAX_SEGMENT_PAGES } from './sg-ring.js';

export interface StorageConfig {
  /** Requests in flight per vCPU (its submission queue's depth). */
  queueDepth: number;
  /** Pages per request (--io-size). */
  ioPages: number;
  /** Pages of the page cache the requests fall in, over all vCPUs (--working-set). */
  workingSetPages: number;
  /** uniform, sequential or zipf:<s>. */
  locality: string;
  /** Share of requests that are reads (the device writes guest memory), in percent. */
  readPercent: number;
  /** Page-cache pages contiguous in guest memory: the scatter-gather list's segments. */
  extentPages: number;
  /** The device's own latency per request (flash access), in µs. */
  mediaUs: number;
}

const ZIPF = /^zipf:(\d+(\.\d*)?|\.\d+)$/;

/** The zipf exponent of a `zipf:<s>` locality, or undefined. */
export function zipfExponent(locality: string): number | undefined {
  const m = ZIPF.exec(locality);
  return m ? Number(m[1]) : undefined;
}

const zipfOk = (v: string): boolean => {
  const s = zipfExponent(v);
  return s !== undefined && s > 0 && s <= 10;
};

export const STORAGE_SECTION = section<StorageConfig>(
  'storage',
  [
    { key: 'queueDepth', flag: '--sq-depth', kind: 'int', min: 1, max: 256, default: 32, help: 'storage: requests in flight per vCPU submission queue' },
    { key: 'ioPages', flag: '--io-size', kind: 'hostMem', min: 1, max: 256, default: 32, help: 'storage: bytes per request, a multiple of 4 KiB up to 1 MiB' },
    { key: 'workingSetPages', flag: '--working-set', kind: 'hostMem', min: 1, default: 131_072, help: 'storage: page cache the requests fall in (all vCPUs)' },
    {
      ...{ key: 'locality', flag: '--locality', kind: 'text', values: () => ['uniform', 'sequential'] },
      ...{ accepts: { test: zipfOk, text: 'zipf:<s> (0 < s <= 10)' }, default: 'uniform', help: 'storage: which blocks requests touch' },
    },
    { key: 'readPercent', flag: '--read-percent', kind: 'int', min: 0, max: 100, default: 70, help: 'storage: share of reads (the device writes guest memory); the rest are writes (it reads)' },
    { key: 'extentPages', flag: '--extent', kind: 'int', min: 1, max: 4096, default: 8, help: 'storage: page-cache pages contiguous in guest memory (scatter-gather segments)' },
    { key: 'mediaUs', flag: '--media-latency', kind: 'us', min: 0, max: 100_000, unit: 'µs', default: 20, help: "storage: the device's own latency per request" },
  ],
  (cfg, fail, name) => {
    if (cfg.workload !== 'storage') return;
    checkStallOnly(cfg, fail, name, 'storage');
    const s = cfg.storage as StorageConfig;
    const share = Math.floor(cfg.guestPages / cfg.vcpus);
    const ws = Math.floor(s.workingSetPages / cfg.vcpus);
    if (ws > share)
      fail(['storage.workingSetPages', 'guestPages', 'vcpus'], `${name('storage.workingSetPages')} (${s.workingSetPages} pages) must fit in ${name('guestPages')} (${cfg.guestPages} pages): each vCPU's share of it lies in its share of guest memory`);
    if (s.ioPages > ws || Math.floor(ws / s.extentPages) < 1)
      fail(['storage.ioPages', 'storage.extentPages', 'storage.workingSetPages'], `each vCPU's share of ${name('storage.workingSetPages')} (${ws} pages) must hold at least one request (${name('storage.ioPages')} = ${s.ioPages} pages) and one extent (${name('storage.extentPages')} = ${s.extentPages})`);
  },
);

/** Most segments a request can have: one per extent or per 64 KiB piece it spans, plus a straddle. */
export const maxSegments = (s: StorageConfig): number => Math.ceil(s.ioPages / Math.min(s.extentPages, MAX_SEGMENT_PAGES)) + 1;

/** A scatter-gather device stalls on an I/O page fault: it does not drop and re-post (iopf drop mode). */
export function checkStallOnly(cfg: { policy: string; iopf?: { faultMode?: string } }, fail: (paths: string[], allowed: string) => never, name: (path: string) => string, workload: string): void {
  if (cfg.policy === 'iopf' && cfg.iopf?.faultMode === 'drop')
    fail(['iopf.faultMode', 'workload'], `${name('iopf.faultMode')} drop needs a device that re-posts dropped descriptors (net); ${workload} stalls on a fault: use stall`);
}
