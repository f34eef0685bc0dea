// The trace line parser: one line of ftrace (`trace`, `trace_pipe`), `trace-cmd report` or
// `perf script` output in, a DMA map / unmap event (or "nothing for us", or what was expected)
// out. Events: iommu:map, iommu:unmap, dma:dma_map_phys / dma_map_page / dma_map_resource,
// dma:dma_unmap_phys / dma_unmap_page / dma_unmap_resource, dma:dma_map_sg, dma:dma_unmap_sg, each
// with or without its `system:` prefix. Addresses above 2^53 lose their low bits (JS numbers).
import { DMA_DIRECTIONS, type DmaDirection } from '../../core/guest-dma-policy.js';
import type { TraceEvent } from './event.js';

export type LineKind = 'event' | 'ignored' | 'lost' | 'bad';

/** `comm-pid [cpu] flags? secs: event: body` (ftrace, trace-cmd) or `comm pid[/tid] [cpu] secs: sys:event: body` (perf). */
const PREFIX = /^\s*\S.*?[- ]\d+(?:\/\d+)?\s+(?:\(\s*[-\d]+\)\s+)?\[(\d+)\]\s+(?:[^\s:]+\s+)?(\d+(?:\.\d+)?):\s+(\w+(?::\w+)?):\s*(.*)$/;
/** Lines the tools print around the events. */
const HEADER = /^\s*(#.*|cpus=\d+|version = .*|CPU \d+ is empty|trace-cmd: .*|)\s*$/;
const LOST = /^\s*CPU:\s*\d+\s+\[LOST (\d+) EVENTS\]/;

const HEX = '0x[0-9a-fA-F]+';
const IOMMU_MAP = new RegExp(`^IOMMU: iova=(${HEX}) - (${HEX}) paddr=(${HEX}) size=(\\d+)\\s*$`);
const IOMMU_UNMAP = new RegExp(`^IOMMU: iova=(${HEX}) - (${HEX}) size=(\\d+) unmapped_size=(\\d+)\\s*$`);
const DIR = `(${DMA_DIRECTIONS.join('|')})`;
const DMA_MAP = new RegExp(`^(\\S+) dir=${DIR} dma_addr=([0-9a-fA-F]+) size=(\\d+) phys_addr=([0-9a-fA-F]+) attrs=(.*)$`);
const DMA_UNMAP = new RegExp(`^(\\S+) dir=${DIR} dma_addr=([0-9a-fA-F]+) size=(\\d+) attrs=(.*)$`);
const ARRAY = `\\{((?:${HEX}(?:,${HEX})*)?)\\}`;
const COUNTS = '(?: nents=\\d+/\\d+ ents=\\d+/\\d+)?';
const DMA_MAP_SG = new RegExp(`^(\\S+) dir=${DIR}${COUNTS} dma_addrs=${ARRAY} sizes=${ARRAY} phys_addrs=${ARRAY} attrs=(.*)$`);
const DMA_UNMAP_SG = new RegExp(`^(\\S+) dir=${DIR}${COUNTS} (?:phys_addrs=${ARRAY}|dma_addrs=${ARRAY} sizes=${ARRAY}) attrs=(.*)$`);
const TRUNCATED = ' [TRUNCATED]';

export const EXPECTED = {
  line: 'an event line "<task>-<pid> [<cpu>] <seconds>: <event>: <fields>" (ftrace, trace-cmd report) or "<task> <pid> [<cpu>] <seconds>: <system>:<event>: <fields>" (perf script)',
  map: 'iommu:map fields "IOMMU: iova=0x<hex> - 0x<hex> paddr=0x<hex> size=<bytes>"',
  unmap: 'iommu:unmap fields "IOMMU: iova=0x<hex> - 0x<hex> size=<bytes> unmapped_size=<bytes>"',
  dmaMap: 'dma map fields "<device> dir=<BIDIRECTIONAL|TO_DEVICE|FROM_DEVICE|NONE> dma_addr=<hex> size=<bytes> phys_addr=<hex> attrs=<flags>"',
  dmaUnmap: 'dma unmap fields "<device> dir=<direction> dma_addr=<hex> size=<bytes> attrs=<flags>"',
  mapSg: 'dma_map_sg fields "<device> dir=<direction> dma_addrs={0x<hex>,...} sizes={0x<hex>,...} phys_addrs={0x<hex>,...} attrs=<flags>"',
  unmapSg: 'dma_unmap_sg fields "<device> dir=<direction> phys_addrs={0x<hex>,...} attrs=<flags>" (or dma_addrs={...} sizes={...})',
} as const;

type BodyParser = (body: string, e: TraceEvent) => boolean;

const num = (hex: string): number => parseInt(hex, 16);
const list = (text: string | undefined): number[] => (text ? text.split(',').map((x) => parseInt(x, 16)) : []);

function iommuMap(body: string, e: TraceEvent): boolean {
  const m = IOMMU_MAP.exec(body);
  if (!m) return false;
  return fill(e, 'map', 'iommu', 'BIDIRECTIONAL', [num(m[1])], [Number(m[4])], [num(m[3])]);
}

function iommuUnmap(body: string, e: TraceEvent): boolean {
  const m = IOMMU_UNMAP.exec(body);
  if (!m) return false;
  return fill(e, 'unmap', 'iommu', 'BIDIRECTIONAL', [num(m[1])], [Number(m[3])], []);
}

function dmaMap(body: string, e: TraceEvent): boolean {
  const m = DMA_MAP.exec(body);
  if (!m) return false;
  return fill(e, 'map', m[1], m[2] as DmaDirection, [num(m[3])], [Number(m[4])], [num(m[5])]);
}

function dmaUnmap(body: string, e: TraceEvent): boolean {
  const m = DMA_UNMAP.exec(body);
  if (!m) return false;
  return fill(e, 'unmap', m[1], m[2] as DmaDirection, [num(m[3])], [Number(m[4])], []);
}

function mapSg(body: string, e: TraceEvent): boolean {
  const m = DMA_MAP_SG.exec(body);
  if (!m || m[3].length === 0 || m[5].length === 0) return false;
  return fill(e, 'map', m[1], m[2] as DmaDirection, list(m[3]), list(m[4]), list(m[5]));
}

function unmapSg(body: string, e: TraceEvent): boolean {
  const m = DMA_UNMAP_SG.exec(body);
  if (!m || (m[3] ?? m[4] ?? '').length === 0) return false;
  return fill(e, 'unmap', m[1], m[2] as DmaDirection, list(m[4]), list(m[5]), list(m[3]));
}

function fill(e: TraceEvent, kind: TraceEvent['kind'], device: string, dir: DmaDirection, dma: number[], sizes: number[], phys: number[]): boolean {
  e.kind = kind;
  e.device = device;
  e.dir = dir;
  e.dma = dma;
  e.sizes = sizes;
  e.phys = phys;
  return true;
}

/** Each event we replay: its body parser and what its fields must look like. */
const EVENTS: Record<string, { parse: BodyParser; expected: string }> = {
  map: { parse: iommuMap, expected: EXPECTED.map },
  unmap: { parse: iommuUnmap, expected: EXPECTED.unmap },
  dma_map_phys: { parse: dmaMap, expected: EXPECTED.dmaMap },
  dma_map_page: { parse: dmaMap, expected: EXPECTED.dmaMap },
  dma_map_resource: { parse: dmaMap, expected: EXPECTED.dmaMap },
  dma_unmap_phys: { parse: dmaUnmap, expected: EXPECTED.dmaUnmap },
  dma_unmap_page: { parse: dmaUnmap, expected: EXPECTED.dmaUnmap },
  dma_unmap_resource: { parse: dmaUnmap, expected: EXPECTED.dmaUnmap },
  dma_map_sg: { parse: mapSg, expected: EXPECTED.mapSg },
  dma_unmap_sg: { parse: unmapSg, expected: EXPECTED.unmapSg },
};

/** The system an event without a prefix belongs to; a prefixed one must name the same. */
const SYSTEM: Record<string, string> = { map: 'iommu', unmap: 'iommu' };
const systemOf = (name: string): string => SYSTEM[name] ?? 'dma';

export interface ParsedLine {
  kind: LineKind;
  /** `bad`: what was expected. */
  expected: string;
  /** `lost`: how many events the kernel dropped. */
  lost: number;
  event: TraceEvent;
}

export const newParsedLine = (): ParsedLine => ({
  kind: 'ignored',
  expected: '',
  lost: 0,
  event: { kind: 'map', name: '', time: 0, cpu: 0, device: '', dir: 'BIDIRECTIONAL', dma: [], sizes: [], phys: [], truncated: false },
});

/** Parse one line into `out` (reused: a multi-GB trace allocates nothing per line but the arrays). */
export function parseLine(line: string, out: ParsedLine): LineKind {
  const p = PREFIX.exec(line);
  if (!p) return classifyOther(line, out);
  let name = p[3];
  const colon = name.indexOf(':');
  if (colon >= 0) {
    const system = name.slice(0, colon);
    name = name.slice(colon + 1);
    if (EVENTS[name] && system !== systemOf(name)) return (out.kind = 'ignored'); // another system's event of that name
  }
  const ev = EVENTS[name];
  if (!ev) return (out.kind = 'ignored');
  let body = p[4];
  const e = out.event;
  e.truncated = body.includes(TRUNCATED);
  if (e.truncated) body = body.replace(TRUNCATED, '');
  if (!ev.parse(body.trimEnd(), e)) {
    out.expected = ev.expected;
    return (out.kind = 'bad');
  }
  e.name = name;
  e.cpu = Number(p[1]);
  e.time = Number(p[2]);
  return (out.kind = 'event');
}

function classifyOther(line: string, out: ParsedLine): LineKind {
  const lost = LOST.exec(line);
  if (lost) {
    out.lost = Number(lost[1]);
    return (out.kind = 'lost');
  }
  if (HEADER.test(line)) return (out.kind = 'ignored');
  out.expected = EXPECTED.line;
  return (out.kind = 'bad');
}
