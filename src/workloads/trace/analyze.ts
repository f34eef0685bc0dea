// The DMA temporal-locality figures of a trace (the coIOMMU paper's section 3): distinct pages,
// reuse distance (in maps and in time), the working set over time windows, the share of page maps
// that hit a page mapped in the last N ms, and what each policy would pin at its peak. One pass,
// memory per distinct page and per live buffer, never per line.
import { TraceLedger, type TraceAnomalies } from './ledger.js';
import { Log2Histogram, PageSlots } from './page-slots.js';
import { Retention } from './retention.js';
import { TraceStream, type StreamCounts } from './stream.js';

export interface AnalyzeOptions {
  skipBad: boolean;
  /** Working-set window, ms. */
  windowMs: number;
  /** "Mapped in the last N ms" thresholds. */
  recentMs: number[];
  /** How long each modeled policy keeps a page pinned after its last unmap, ms. */
  keepMs: Record<string, number>;
  /** Pages static pinning and passthrough pin (all guest memory). */
  guestPages: number;
}

export interface TraceAnalysis {
  file: string;
  lines: StreamCounts;
  anomalies: TraceAnomalies;
  maps: number;
  unmaps: number;
  pageMaps: number;
  durationS: number;
  distinctPages: number;
  reuseDistanceMaps: { from: number; to: number; count: number }[];
  reuseDistanceUs: { from: number; to: number; count: number }[];
  firstTouches: number;
  workingSet: { windowMs: number; windows: number; min: number; median: number; max: number; series: number[] };
  recentHits: { withinMs: number; fraction: number }[];
  pinnedPeak: { policy: string; pages: number; rule: string }[];
  liveAtEnd: number;
}

class Analysis {
  readonly ledger = new TraceLedger();
  readonly slots = new PageSlots();
  readonly byMaps = new Log2Histogram();
  readonly byTime = new Log2Histogram();
  readonly recentHits: number[];
  readonly policies: Retention[];
  readonly series: number[] = [];
  private windowStart = NaN;
  private readonly window = new Set<number>();
  firstTouches = 0;
  pageMaps = 0;
  t0 = NaN;
  tEnd = 0;

  constructor(private readonly o: AnalyzeOptions) {
    this.recentHits = o.recentMs.map(() => 0);
    this.policies = Object.entries(o.keepMs).map(([name, ms]) => new Retention(name, ms / 1000));
    for (const p of this.policies) {
      p.liveOf = (slot) => this.slots.live[slot];
      p.lastUnmapOf = (slot) => this.slots.lastUnmapTime[slot];
    }
  }

  /** One page mapped by the map event number `index` at time t (s). */
  page(page: number, index: number, t: number): void {
    const { slots } = this;
    const { slot, fresh } = slots.slot(page);
    this.pageMaps++;
    if (fresh) this.firstTouches++;
    else {
      this.byMaps.add(index - slots.lastMapIndex[slot]);
      const dt = t - slots.lastMapTime[slot];
      this.byTime.add(dt * 1e6);
      this.o.recentMs.forEach((ms, k) => dt * 1000 <= ms && this.recentHits[k]++);
    }
    slots.lastMapIndex[slot] = index;
    slots.lastMapTime[slot] = t;
    for (const p of this.policies) p.map(slot, slots.live[slot], t);
    slots.live[slot]++;
    this.window.add(page);
  }

  unpage(page: number, t: number): void {
    const slot = this.slots.find(page);
    if (slot < 0 || this.slots.live[slot] === 0) return;
    if (--this.slots.live[slot] > 0) return;
    this.slots.lastUnmapTime[slot] = t;
    for (const p of this.policies) p.unmapped(slot, t);
  }

  /** Close working-set windows up to time t. */
  tick(t: number): void {
    if (Number.isNaN(this.t0)) this.t0 = this.windowStart = t;
    this.tEnd = t;
    const w = this.o.windowMs / 1000;
    while (t >= this.windowStart + w) {
      this.series.push(this.window.size);
      this.window.clear();
      this.windowStart += w;
    }
  }

  closeWindow(): void {
    if (this.window.size > 0 || this.series.length === 0) this.series.push(this.window.size);
  }
}

export function analyzeTrace(file: string, o: AnalyzeOptions, field = '--trace'): TraceAnalysis {
  const a = new Analysis(o);
  const stream = new TraceStream(file, o.skipBad, field);
  for (let e = stream.next(); e; e = stream.next()) {
    const t = a.ledger.time(e);
    a.tick(t);
    if (e.kind === 'map') {
      const { added, replaced } = a.ledger.map(e, t);
      if (replaced) for (const p of replaced.pages) a.unpage(p, t);
      for (const p of added.pages) a.page(p, a.ledger.maps, t);
    } else {
      const b = a.ledger.unmap(e);
      if (b) for (const p of b.pages) a.unpage(p, t);
    }
  }
  a.closeWindow();
  return report(file, a, stream, o);
}

function report(file: string, a: Analysis, stream: TraceStream, o: AnalyzeOptions): TraceAnalysis {
  const anomalies = { ...a.ledger.anomalies, badLines: stream.counts.badLines, lostEvents: stream.counts.lostEvents };
  const sorted = [...a.series].sort((x, y) => x - y);
  return {
    ...{ file, lines: stream.counts, anomalies, maps: a.ledger.maps, unmaps: a.ledger.unmaps, pageMaps: a.pageMaps },
    durationS: Number.isNaN(a.t0) ? 0 : a.tEnd - a.t0,
    distinctPages: a.slots.size,
    reuseDistanceMaps: a.byMaps.buckets(),
    reuseDistanceUs: a.byTime.buckets(),
    firstTouches: a.firstTouches,
    workingSet: { windowMs: o.windowMs, windows: sorted.length, min: sorted[0] ?? 0, median: sorted[Math.floor(sorted.length / 2)] ?? 0, max: sorted[sorted.length - 1] ?? 0, series: a.series },
    recentHits: o.recentMs.map((withinMs, k) => ({ withinMs, fraction: a.pageMaps === 0 ? 0 : a.recentHits[k] / a.pageMaps })),
    pinnedPeak: [
      { policy: 'static', pages: o.guestPages, rule: 'all guest memory, at VM creation' },
      { policy: 'passthrough', pages: o.guestPages, rule: 'all guest memory (no IOMMU in the guest)' },
      ...a.policies.map((p) => ({ policy: p.name, pages: p.peak, rule: `mapped, or unmapped less than ${o.keepMs[p.name]} ms ago` })),
    ],
    liveAtEnd: a.ledger.live.size,
  };
}
