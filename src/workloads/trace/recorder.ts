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
    // a list: one dma_map_sg / dma_unmap_sg event (the kernel's format; the unmap names the pages)
    mapSg(gfns, pages, dmas, dir = defaultDir) {
      if (!mapList(inner, gfns, pages, dmas, dir)) return false;
      const arr = (xs: readonly number[]) => `{${xs.map((x) => `0x${hex(x)}`).join(',')}}`;
      const sizes = `{${pages.map((n) => `0x${(n * PAGE_BYTES).toString(16)}`).join(',')}}`;
      out.line(`${prefix} ${at()}: dma_map_sg: ${DEVICE_NAME} dir=${dir} dma_addrs=${arr(dmas)} sizes=${sizes} phys_addrs=${arr(gfns)} attrs=`);
      return true;
    },
    unmapSg(dmas, gfns, pages, dir = defaultDir) {
      out.line(`${prefix} ${at()}: dma_unmap_sg: ${DEVICE_NAME} dir=${dir} phys_addrs={${gfns.map((g) => `0x${hex(g)}`).join(',')}} attrs=`);
      if (inner.unmapSg) inner.unmapSg(dmas, gfns, pages, dir);
      else for (let s = 0; s < gfns.length; s++) inner.unmap(dmas[s], gfns[s], pages[s], dir);
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

/** Map a list through `p`: as one if it can, else segment by segment (undone on a failure). */
function mapList(p: GuestDmaPolicy, gfns: readonly number[], pages: readonly number[], dmas: number[], dir: DmaDirection): boolean {
  if (p.mapSg) return p.mapSg(gfns, pages, dmas, dir);
  for (let s = 0; s < gfns.length; s++) {
    dmas[s] = p.map(gfns[s], pages[s], dir);
    if (dmas[s] >= 0) continue;
    for (let k = 0; k < s; k++) p.unmap(dmas[k], gfns[k], pages[k], dir);
    return false;
  }
  return true;
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
