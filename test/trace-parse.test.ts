// The trace parser on every format the kernel prints (ftrace, trace-cmd report, perf script; with
// and without the system prefix), the sg arrays (also truncated), empty attrs, and malformed lines.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/core/errors.js';
import { mapPages } from '../src/workloads/trace/event.js';
import { TraceLedger } from '../src/workloads/trace/ledger.js';
import { newParsedLine, parseLine } from '../src/workloads/trace/parse.js';
import { TraceStream } from '../src/workloads/trace/stream.js';

const parse = (line: string) => {
  const out = newParsedLine();
  parseLine(line, out);
  return out;
};

const FTRACE_MAP = '  iperf3-5678 [005] ..... 5123.456789: map: IOMMU: iova=0x00000000fffc0000 - 0x00000000fffc1000 paddr=0x000000012345a000 size=4096';

describe('trace lines', () => {
  it('iommu:map and iommu:unmap, ftrace layout', () => {
    const p = parse(FTRACE_MAP);
    expect(p.kind).toBe('event');
    expect(p.event).toMatchObject({ kind: 'map', name: 'map', cpu: 5, time: 5123.456789, device: 'iommu', dma: [0xfffc0000], sizes: [4096], phys: [0x12345a000] });
    const u = parse('  iperf3-5678 [005] ..... 5123.456999: unmap: IOMMU: iova=0x00000000fffc0000 - 0x00000000fffc1000 size=4096 unmapped_size=4096');
    expect(u.event).toMatchObject({ kind: 'unmap', dma: [0xfffc0000], phys: [] });
  });

  it('with the system prefix, trace-cmd layout and a tgid column', () => {
    expect(parse('  iperf3-5678  [002]  10.5: iommu:map:                  IOMMU: iova=0x1000 - 0x2000 paddr=0x5000 size=4096').event).toMatchObject({ cpu: 2, time: 10.5, phys: [0x5000] });
    expect(parse('  <idle>-0     (-----) [001] d..1. 7.000001: map: IOMMU: iova=0x1000 - 0x2000 paddr=0x7000 size=4096').event.cpu).toBe(1);
  });

  it('perf script layout', () => {
    const p = parse('         iperf3  5678 [003]  5123.456789: iommu:map: IOMMU: iova=0x0000000000001000 - 0x0000000000002000 paddr=0x0000000000009000 size=4096');
    expect(p.kind).toBe('event');
    expect(p.event).toMatchObject({ cpu: 3, phys: [0x9000] });
    expect(parse('  fio 41/42 [000]  1.000000: dma:dma_unmap_page: nvme0 dir=TO_DEVICE dma_addr=ffe00000 size=8192 attrs=').event).toMatchObject({ kind: 'unmap', dir: 'TO_DEVICE', dma: [0xffe00000] });
  });

  it('dma_map_phys and dma_map_page (both names), empty and set attrs', () => {
    for (const name of ['dma_map_phys', 'dma_map_page', 'dma:dma_map_phys', 'dma:dma_map_page']) {
      const p = parse(`  fio-77 [001] ..... 2.5: ${name}: 0000:03:00.0 dir=FROM_DEVICE dma_addr=fffe0000 size=8192 phys_addr=1234000 attrs=`);
      expect(p.kind, name).toBe('event');
      expect(p.event).toMatchObject({ kind: 'map', device: '0000:03:00.0', dir: 'FROM_DEVICE', dma: [0xfffe0000], sizes: [8192], phys: [0x1234000] });
      expect(mapPages(p.event, [])).toEqual([0x1234, 0x1235]);
    }
    expect(parse('  fio-77 [001] ..... 2.5: dma_map_page: nvme0 dir=BIDIRECTIONAL dma_addr=10 size=4096 phys_addr=2000 attrs=SKIP_CPU_SYNC|WEAK_ORDERING').kind).toBe('event');
    for (const name of ['dma_unmap_phys', 'dma_unmap_page'])
      expect(parse(`  fio-77 [001] ..... 2.6: ${name}: nvme0 dir=NONE dma_addr=fffe0000 size=8192 attrs=`).event).toMatchObject({ kind: 'unmap', dir: 'NONE' });
  });

  it('dma_map_sg / dma_unmap_sg arrays, the counts, and the truncated form', () => {
    const p = parse('  fio-9 [000] ..... 3.0: dma_map_sg: nvme0 dir=TO_DEVICE dma_addrs={0xfff00000,0xfff08000} sizes={0x8000,0x1000} phys_addrs={0x100000,0x300000} attrs=');
    expect(p.event).toMatchObject({ kind: 'map', dma: [0xfff00000, 0xfff08000], sizes: [0x8000, 0x1000], phys: [0x100000, 0x300000], truncated: false });
    expect(mapPages(p.event, [])).toEqual([0x100, 0x101, 0x102, 0x103, 0x104, 0x105, 0x106, 0x107, 0x300]);
    const t = parse('  fio-9 [000] ..... 3.0: dma_map_sg: nvme0 dir=FROM_DEVICE nents=128/300 ents=128/300 [TRUNCATED] dma_addrs={0x1000} sizes={0x1000} phys_addrs={0x2000} attrs=');
    expect(t.event.truncated).toBe(true);
    const t2 = parse('  fio-9 [000] ..... 3.0: dma:dma_map_sg: nvme0 dir=FROM_DEVICE dma_addrs={0x1000} sizes={0x1000} phys_addrs={0x2000} [TRUNCATED] attrs=');
    expect(t2.kind).toBe('event');
    expect(t2.event.truncated).toBe(true);
    expect(parse('  fio-9 [000] ..... 3.1: dma_unmap_sg: nvme0 dir=TO_DEVICE phys_addrs={0x100000,0x300000} attrs=').event).toMatchObject({ kind: 'unmap', dma: [], phys: [0x100000, 0x300000] });
    expect(parse('  fio-9 [000] ..... 3.1: dma_unmap_sg: nvme0 dir=TO_DEVICE dma_addrs={0xfff00000} sizes={0x9000} attrs=').event).toMatchObject({ dma: [0xfff00000] });
  });

  it('headers, other events and lost events', () => {
    for (const l of ['# tracer: nop', '#', '', 'cpus=8', 'version = 6', 'CPU 3 is empty']) expect(parse(l).kind, l).toBe('ignored');
    expect(parse('  sshd-1 [000] ..... 1.0: sched_switch: prev_comm=sshd prev_pid=1').kind).toBe('ignored');
    expect(parse('  sshd-1 [000] ..... 1.0: kvm:map: whatever').kind).toBe('ignored'); // another system's "map"
    const lost = parse('CPU:2 [LOST 17 EVENTS]');
    expect(lost.kind).toBe('lost');
    expect(lost.lost).toBe(17);
  });

  const BAD = [
    'garbage',
    '  iperf3-5678 [005] ..... 5123.456789 map: IOMMU: iova=0x1 - 0x2 paddr=0x3 size=1', // no colon after the time
    '  iperf3-5678 [005] ..... 5123.456789: map: IOMMU: iova=0x1 - 0x2 paddr=0x3', // no size
    '  iperf3-5678 [005] ..... 5123.456789: map: IOMMU: iova=1 - 0x2 paddr=0x3 size=1', // iova without 0x
    '  iperf3-5678 [005] ..... 5123.456789: map: IOMMU: iova=0x1 - 0x2 paddr=0x3 size=abc',
    '  iperf3-5678 [005] ..... 5123.456789: unmap: IOMMU: iova=0x1 - 0x2 size=4096',
    '  iperf3-5678 [005] ..... 5123.456789: map: iova=0x1 - 0x2 paddr=0x3 size=1', // no IOMMU:
    '  fio-7 [001] ..... 2.5: dma_map_phys: nvme0 dir=SIDEWAYS dma_addr=1 size=1 phys_addr=2 attrs=',
    '  fio-7 [001] ..... 2.5: dma_map_phys: nvme0 dir=TO_DEVICE dma_addr=xyz size=1 phys_addr=2 attrs=',
    '  fio-7 [001] ..... 2.5: dma_map_phys: nvme0 dir=TO_DEVICE dma_addr=1 size=1 attrs=', // no phys_addr
    '  fio-7 [001] ..... 2.5: dma_map_page: nvme0 dir=TO_DEVICE dma_addr=1 size=1 phys_addr=2', // no attrs
    '  fio-7 [001] ..... 2.5: dma_unmap_page: nvme0 dir=TO_DEVICE size=1 attrs=',
    '  fio-7 [001] ..... 2.5: dma_unmap_phys: dir=TO_DEVICE dma_addr=1 size=1 attrs=', // no device
    '  fio-7 [001] ..... 2.5: dma_map_sg: nvme0 dir=TO_DEVICE dma_addrs={} sizes={} phys_addrs={} attrs=',
    '  fio-7 [001] ..... 2.5: dma_map_sg: nvme0 dir=TO_DEVICE dma_addrs={0x1,0x2 sizes={0x1} phys_addrs={0x1} attrs=',
    '  fio-7 [001] ..... 2.5: dma_map_sg: nvme0 dir=TO_DEVICE dma_addrs={1} sizes={0x1} phys_addrs={0x1} attrs=',
    '  fio-7 [001] ..... 2.5: dma_map_sg: nvme0 dir=TO_DEVICE dma_addrs={0x1} phys_addrs={0x1} attrs=',
    '  fio-7 [001] ..... 2.5: dma_unmap_sg: nvme0 dir=TO_DEVICE phys_addrs={} attrs=',
    '  fio-7 [001] ..... 2.5: dma_unmap_sg: nvme0 dir=TO_DEVICE attrs=',
    '  fio-7 [001] ..... 2.5: dma:dma_map_page: nvme0 dir=TO_DEVICE dma_addr=1 size=-4 phys_addr=2 attrs=',
    '  fio-7 [x01] ..... 2.5: dma_map_page: nvme0 dir=TO_DEVICE dma_addr=1 size=4 phys_addr=2 attrs=',
    '  fio-7 [001] ..... two: dma_map_page: nvme0 dir=TO_DEVICE dma_addr=1 size=4 phys_addr=2 attrs=',
    'CPU:2 [LOST many EVENTS]',
  ];

  it(`rejects ${BAD.length} malformed lines, each saying what was expected`, () => {
    expect(BAD.length).toBeGreaterThanOrEqual(20);
    for (const l of BAD) {
      const p = parse(l);
      expect(p.kind, l).toBe('bad');
      expect(p.expected.length, l).toBeGreaterThan(10);
    }
  });
});

describe('trace stream', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trace-parse-'));
  const file = join(dir, 't.txt');
  writeFileSync(
    file,
    [
      '# tracer: nop',
      FTRACE_MAP,
      'not an event',
      '  iperf3-5678 [005] ..... 5123.456800: unmap: IOMMU: iova=0x00000000fffc0000 - 0x00000000fffc1000 size=4096 unmapped_size=4096',
      '  iperf3-5678 [005] ..... 5123.456700: unmap: IOMMU: iova=0x0000000000001000 - 0x0000000000002000 size=4096 unmapped_size=4096',
      '  fio-9 [000] ..... 5123.5: dma_map_sg: nvme0 dir=TO_DEVICE dma_addrs={0xfff00000} sizes={0x2000} phys_addrs={0x100000} attrs=',
      '  fio-9 [000] ..... 5123.5: dma_map_sg: nvme0 dir=TO_DEVICE dma_addrs={0xfff00000} sizes={0x2000} phys_addrs={0x100000} attrs=',
      '  fio-9 [000] ..... 5123.6: dma_unmap_sg: nvme0 dir=TO_DEVICE phys_addrs={0x100000} attrs=',
    ].join('\n'),
  );

  it('stops at a malformed line with the file, the line number and what was expected (a ConfigError: exit 2)', () => {
    const s = new TraceStream(file, false);
    expect(s.next()?.kind).toBe('map');
    let err: unknown;
    try {
      s.next();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(String((err as Error).message)).toMatch(new RegExp(`${file}.*line 3: expected an event line`));
  });

  it('with skip-bad, counts them; the ledger counts unmaps without maps, double maps and steps back in time', () => {
    const s = new TraceStream(file, true);
    const ledger = new TraceLedger();
    for (let e = s.next(); e; e = s.next()) {
      const t = ledger.time(e);
      if (e.kind === 'map') ledger.map(e, t);
      else ledger.unmap(e);
    }
    expect(s.counts.badLines).toBe(1);
    expect(ledger.anomalies).toMatchObject({ unmapWithoutMap: 1, doubleMap: 1, outOfOrder: 1 });
    expect(ledger.maps).toBe(3);
    expect(ledger.unmaps).toBe(2); // the sg unmap found its map by physical address
    expect(ledger.live.size).toBe(0);
  });
});
