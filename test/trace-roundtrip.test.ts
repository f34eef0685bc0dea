// Record, replay, same counts: a storage run written with --record-trace is replayed as the trace
// workload (itself recorded again): the same maps, unmaps and pages, zero violations. And the
// analysis of a small trace whose figures are known by hand.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { runScenario } from '../src/lab/orchestrator.js';
import type { StorageConfig } from '../src/workloads/storage/config.js';
import { TraceLedger } from '../src/workloads/trace/ledger.js';
import { finishRecording } from '../src/workloads/trace/recorder.js';
import { TraceStream } from '../src/workloads/trace/stream.js';
import { smallScenario } from './helpers/scenario.js';

const dir = mkdtempSync(join(tmpdir(), 'trace-rt-'));

function counts(file: string) {
  const s = new TraceStream(file, false);
  const ledger = new TraceLedger();
  const pages = new Set<number>();
  for (let e = s.next(); e; e = s.next()) {
    const t = ledger.time(e);
    if (e.kind === 'map') for (const p of ledger.map(e, t).added.pages) pages.add(p);
    else ledger.unmap(e);
  }
  return { maps: ledger.maps, unmaps: ledger.unmaps, pages: pages.size, live: ledger.live.size, anomalies: ledger.anomalies };
}

type Cfg = Parameters<typeof runScenario>[0];

describe('record and replay', () => {
  it.each([
    { policy: 'coiommu', notify: 'trap', vcpus: 1 },
    { policy: 'viommu-strict', notify: 'sidecore', vcpus: 2 },
  ] as const)('$policy / $notify, $vcpus vCPU(s): the replay maps and unmaps what the run did', async ({ policy, notify, vcpus }) => {
    const rec = join(dir, `storage-${policy}-${vcpus}.trace`);
    const again = join(dir, `replay-${policy}-${vcpus}.trace`);
    const storage: StorageConfig = { queueDepth: 8, ioPages: 16, workingSetPages: 1024, locality: 'zipf:1.0', readPercent: 60, extentPages: 4, mediaUs: 20 };
    const base = smallScenario({ policy, notify, vcpus, ops: 100, durationMs: 20_000 });
    const r1 = await runScenario({ ...base, workload: 'storage', storage, trace: { file: '', speed: '1', skipBad: 'off', record: rec } } as Cfg);
    finishRecording(rec, vcpus);
    const c1 = counts(rec);
    expect(r1.violations).toEqual({ dmaToUnpinned: 0, lostPayloads: 0, accounting: 0, unpinnedWhileMapped: 0, lostWakeups: 0, mapFailures: 0, undrainedUnpins: 0 });
    expect(c1.maps).toBe(100); // a request is one scatter-gather list: one dma_map_sg event
    expect(c1).toMatchObject({ unmaps: c1.maps, live: 0, anomalies: { unmapWithoutMap: 0, doubleMap: 0, outOfOrder: 0 } });
    const r2 = await runScenario({ ...base, ops: 0, workload: 'trace', trace: { file: rec, speed: '1', skipBad: 'off', record: again } } as Cfg);
    finishRecording(again, vcpus);
    expect(r2.violations).toEqual({ dmaToUnpinned: 0, lostPayloads: 0, accounting: 0, unpinnedWhileMapped: 0, lostWakeups: 0, mapFailures: 0, undrainedUnpins: 0 });
    expect(r2.teardownLeftovers).toEqual([]);
    expect(r2.dmaOps).toBe(c1.maps);
    const c2 = counts(again);
    expect(c2).toMatchObject({ maps: c1.maps, unmaps: c1.unmaps, pages: c1.pages, live: 0 });
  });
});

describe('trace analyze', () => {
  // page A mapped at 0, 5 ms and 30 ms (each mapped for 1 ms); page B (an sg pair B, B+1) at 2-10 ms
  const A = '0x0000000000042000';
  const lines = [
    `  t-1 [000] ..... 1.000: map: IOMMU: iova=0x1000 - 0x2000 paddr=${A} size=4096`,
    '  t-1 [000] ..... 1.001: unmap: IOMMU: iova=0x1000 - 0x2000 size=4096 unmapped_size=4096',
    '  t-1 [001] ..... 1.002: dma_map_sg: nvme0 dir=TO_DEVICE dma_addrs={0x9000} sizes={0x2000} phys_addrs={0x100000} attrs=',
    '  t-1 [000] ..... 1.005: map: IOMMU: iova=0x1000 - 0x2000 paddr=0x42000 size=4096',
    '  t-1 [000] ..... 1.006: unmap: IOMMU: iova=0x1000 - 0x2000 size=4096 unmapped_size=4096',
    '  t-1 [001] ..... 1.010: dma_unmap_sg: nvme0 dir=TO_DEVICE phys_addrs={0x100000} attrs=',
    '  t-1 [000] ..... 1.030: map: IOMMU: iova=0x1000 - 0x2000 paddr=0x42000 size=4096',
    '  t-1 [000] ..... 1.031: unmap: IOMMU: iova=0x1000 - 0x2000 size=4096 unmapped_size=4096',
    // page D at 50 ms: only coIOMMU (keeps pages 100 ms after their unmap) still holds A, B, B+1
    '  t-1 [002] ..... 1.050: dma_map_page: nvme0 dir=FROM_DEVICE dma_addr=7000 size=4096 phys_addr=900000 attrs=',
    '  t-1 [002] ..... 1.051: dma_unmap_page: nvme0 dir=FROM_DEVICE dma_addr=7000 size=4096 attrs=',
  ];
  const file = join(dir, 'small.trace');
  writeFileSync(file, `${lines.join('\n')}\n`);

  it('distinct pages, reuse distances, recent hits and the peak each policy pins', async () => {
    let out = '';
    const code = await main(['trace', 'analyze', file, '--json', '--recent', '4ms,10ms', '--guest-mem', '16MiB'], { stdout: (s) => (out += s), stderr: () => {} });
    expect(code).toBe(0);
    const a = JSON.parse(out);
    expect(a).toMatchObject({ maps: 5, unmaps: 5, distinctPages: 4, pageMaps: 6, firstTouches: 4, liveAtEnd: 0 });
    // A's reuses: map 3 (2 maps after map 1, 5 ms later) and map 4 (1 map later, 25 ms later)
    const bucket = (h: { from: number; count: number }[], from: number) => h.find((b) => b.from === from)?.count;
    expect([bucket(a.reuseDistanceMaps, 0), bucket(a.reuseDistanceMaps, 2)]).toEqual([1, 1]);
    expect([bucket(a.reuseDistanceUs, 4096), bucket(a.reuseDistanceUs, 16_384)]).toEqual([1, 1]);
    expect(a.recentHits).toEqual([{ withinMs: 4, fraction: 0 }, { withinMs: 10, fraction: 1 / 6 }]);
    const peak = Object.fromEntries(a.pinnedPeak.map((p: { policy: string; pages: number }) => [p.policy, p.pages]));
    // strict: A and the sg pair at once (5 ms) = 3; 10 ms keeps nothing more at 50 ms; 100 ms keeps all 4
    expect(peak).toEqual({ static: 4096, passthrough: 4096, 'viommu-strict': 3, 'viommu-lazy': 3, 'viommu-optimistic': 3, coiommu: 4 });
    expect(readFileSync(file, 'utf8')).toContain('dma_map_sg');
  });
});
