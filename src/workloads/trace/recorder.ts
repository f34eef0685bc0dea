// --record-trace: the lab's own map and unmap events written as Linux's dma: trace events
// (dma_map_phys / dma_unmap_phys, ftrace layout), so a run of any workload can be analyzed and
// replayed. Each vCPU writes its own part (FILE.vcpuN) as it goes; after the run the parts are
// merged in time order into FILE. Addresses are bytes: the DMA address (IOVA, or the guest page
// under identity policies) and the guest-physical address; the time is the vCPU's clock.
import { closeSync, openSync, renameSync, unlinkSync, writeSync, existsSync } from 'node:fs';
import type { DmaDirection, GuestDmaPolicy } from '../../core/guest-dma-policy.js';
import { PAGE_BYTES } from './event.js';
import { LineReader } from './line-reader.js';

export const DEVICE_NAME = 'viommu-lab';
/** The --record-trace file of a scenario, or undefined. */
export const recordFileOf = (cfg: object): string | undefined => (cfg as { trace?: { record?: string } }).trace?.record || undefined;
export const partOf = (file: string, vcpu: number): string => `${file}.vcpu${vcpu}`;

class PartWriter {
  private fd: number;
  private buf: string[] = [];
  private size = 0;

  constructor(file: string) {
    this.fd = openSync(file, 'w');
  }

  line(text: string): void {
    this.buf.push(text);
    this.size += text.length;
    if (this.size > 1 << 16) this.flush();
  }

  flush(): void {
    if (this.buf.length === 0) return;
    writeSync(this.fd, `${this.buf.join('\n')}\n`);
    this.buf = [];
    this.size = 0;
  }

  close(): void {
    this.flush();
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** The policy, with every map and unmap written down (`nowNs`: the vCPU's clock). */
export function recordingPolicy(inner: GuestDmaPolicy, file: string, vcpu: number, nowNs: () => number, defaultDir: DmaDirection): GuestDmaPolicy {
  const out = new PartWriter(partOf(file, vcpu));
  const prefix = `${DEVICE_NAME}-${vcpu} [${String(vcpu).padStart(3, '0')}] .....`;
  const at = () => (nowNs() / 1e9).toFixed(9);
  const hex = (page: number) => (page * PAGE_BYTES).toString(16);
  return {
    map(gfn, n, dir = defaultDir) {
      const dma = inner.map(gfn, n, dir);
      if (dma >= 0) out.line(`${prefix} ${at()}: dma_map_phys: ${DEVICE_NAME} dir=${dir} dma_addr=${hex(dma)} size=${n * PAGE_BYTES} phys_addr=${hex(gfn)} attrs=`);
      return dma;
    },
    unmap(dma, gfn, n, dir = defaultDir) {
      out.line(`${prefix} ${at()}: dma_unmap_phys: ${DEVICE_NAME} dir=${dir} dma_addr=${hex(dma)} size=${n * PAGE_BYTES} attrs=`);
      inner.unmap(dma, gfn, n, dir);
    },
    ...(inner.poll ? { poll: () => inner.poll!() } : {}),
    ...(inner.nextTimerMs ? { nextTimerMs: () => inner.nextTimerMs!() } : {}),
    // the driver stops (the role's last call): everything written reaches the file
    drain() {
      inner.drain?.();
      out.flush();
    },
  };
}

const TIME = /\]\s+\S+\s+(\d+(?:\.\d+)?):/;
const timeOf = (line: string): number => Number(TIME.exec(line)?.[1] ?? 0);

/** Merge the vCPUs' parts into `file` in time order (ties: lower vCPU first) and remove them. */
export function finishRecording(file: string, vcpus: number): void {
  const readers = Array.from({ length: vcpus }, (_, v) => (existsSync(partOf(file, v)) ? new LineReader(partOf(file, v)) : undefined));
  const heads = readers.map((r) => r?.read());
  const out = new PartWriter(`${file}.merging`);
  out.line(`# viommu-lab --record-trace: dma: map/unmap events of one run (device ${DEVICE_NAME}, addresses in bytes)`);
  for (;;) {
    let best = -1;
    for (let v = 0; v < vcpus; v++) if (heads[v] !== undefined && (best < 0 || timeOf(heads[v]!) < timeOf(heads[best]!))) best = v;
    if (best < 0) break;
    out.line(heads[best]!);
    heads[best] = readers[best]!.read();
  }
  out.close();
  renameSync(`${file}.merging`, file);
  for (let v = 0; v < vcpus; v++) if (existsSync(partOf(file, v))) unlinkSync(partOf(file, v));
}
