// Streaming a large trace in constant memory: generate a trace of --size (default 1 GiB) of
// iommu:map/unmap and dma_map_sg/dma_unmap_sg events in ftrace layout, then run `trace analyze` on
// it in a child process and report the child's peak RSS (target: under 200 MB) and its speed.
//   npx tsx bench/trace-stream.ts [--size 1GiB] [--keep]
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSize } from '../src/core/units.js';
import { seededRandom } from '../src/core/random.js';

const TARGET_MB = 200;
const PAGES = 1 << 18; // the working set the events draw from (1 GiB of guest memory)
const hex16 = (n: number) => `0x${n.toString(16).padStart(16, '0')}`;

/** One map and, a few events later, its unmap; a zipf-like draw of pages (squared uniform). */
function generate(file: string, bytes: number): number {
  const fd = openSync(file, 'w');
  const rnd = seededRandom(12);
  const live: string[] = [];
  let written = 0;
  let events = 0;
  let t = 1000;
  let chunk: string[] = [];
  const push = (line: string) => {
    chunk.push(line);
    written += line.length + 1;
    events++;
  };
  writeSync(fd, '# tracer: nop\n');
  while (written < bytes) {
    for (let i = 0; i < 10_000; i++) {
      t += 2e-6;
      const cpu = Math.floor(rnd() * 8);
      const page = Math.floor(rnd() * rnd() * PAGES);
      const prefix = `          fio-${4000 + cpu} [00${cpu}] ..... ${t.toFixed(6)}:`;
      if (live.length > 64 || (live.length > 0 && rnd() < 0.45)) push(`${prefix} ${live.shift()!}`);
      else if (rnd() < 0.5) {
        const iova = 0x100000000 + (events % (1 << 24)) * 4096; // wraps long after its unmap
        push(`${prefix} map: IOMMU: iova=${hex16(iova)} - ${hex16(iova + 4096)} paddr=${hex16(page * 4096)} size=4096`);
        live.push(`unmap: IOMMU: iova=${hex16(iova)} - ${hex16(iova + 4096)} size=4096 unmapped_size=4096`);
      } else {
        const phys = [page, (page * 7) % PAGES, (page * 13) % PAGES].map((p) => `0x${(p * 4096).toString(16)}`).join(',');
        const dma = (0x8000000000 + (events % (1 << 24)) * 16384).toString(16);
        push(`${prefix} dma_map_sg: nvme0 dir=FROM_DEVICE dma_addrs={0x${dma}} sizes={0x3000} phys_addrs={${phys}} attrs=`);
        live.push(`dma_unmap_sg: nvme0 dir=FROM_DEVICE phys_addrs={${phys}} attrs=`);
      }
    }
    writeSync(fd, `${chunk.join('\n')}\n`);
    chunk = [];
  }
  closeSync(fd);
  return events;
}

const SIZE_FLAG = process.argv.indexOf('--size');
const bytes = parseSize(SIZE_FLAG > 0 ? process.argv[SIZE_FLAG + 1] : '1GiB', '--size');
const dir = mkdtempSync(join(tmpdir(), 'trace-bench-'));
const file = join(dir, 'big.trace');
const g0 = performance.now();
const events = generate(file, bytes);
const genS = (performance.now() - g0) / 1000;
const size = statSync(file).size;
const child = `
  const { analyzeTrace } = await import(${JSON.stringify(new URL('../src/workloads/trace/analyze.ts', import.meta.url).pathname)});
  const baseKb = process.memoryUsage().rss / 1024;
  const t0 = performance.now();
  const a = analyzeTrace(${JSON.stringify(file)}, { skipBad: false, windowMs: 100, recentMs: [1, 10, 100], keepMs: { 'viommu-strict': 0, 'viommu-lazy': 10, coiommu: 100 }, guestPages: ${PAGES} });
  const s = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ s, baseKb, heapKb: process.memoryUsage().heapUsed / 1024, maxRssKb: process.resourceUsage().maxRSS, maps: a.maps, unmaps: a.unmaps, distinctPages: a.distinctPages, anomalies: a.anomalies }));
`;
const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child], { encoding: 'utf8', maxBuffer: 1 << 20 });
if (!process.argv.includes('--keep')) rmSync(dir, { recursive: true, force: true });
if (r.status !== 0) {
  process.stderr.write(r.stderr);
  process.exit(1);
}
const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
const rssMb = out.maxRssKb / 1024;
const mb = size / 2 ** 20;
console.log(`trace: ${mb.toFixed(0)} MiB, ${events.toLocaleString('en-US')} events (generated in ${genS.toFixed(1)} s)`);
console.log(`analyze: ${out.s.toFixed(1)} s, ${(mb / out.s).toFixed(1)} MiB/s; ${out.maps} maps, ${out.unmaps} unmaps, ${out.distinctPages} distinct pages`);
console.log(`RSS before the analysis ${(out.baseKb / 1024).toFixed(1)} MB (node + tsx), heap after it ${(out.heapKb / 1024).toFixed(1)} MB`);
console.log(`peak RSS of the analyzing process: ${rssMb.toFixed(1)} MB (target < ${TARGET_MB} MB): ${rssMb < TARGET_MB ? 'pass' : 'FAIL'}`);
process.exitCode = rssMb < TARGET_MB ? 0 : 1;
