// `run --timeline FILE`: a Chrome trace-event file (opens in ui.perfetto.dev or chrome://tracing).
// One track per role; the activity slices and the counters are SAMPLED from the shared counters
// every --timeline-interval: a slice "pin requests" on vCPU 0 over a tick says that vCPU made that
// many (args.count) in it. Several activities in one tick share it side by side, so slices never
// overlap on a track. At most MAX_EVENTS events are kept; the rest are counted and the file says so.
import type { Sample, Track } from './sample.js';
import { ACTIVITIES } from './sample.js';

export const MAX_EVENTS = 200_000;

export interface TraceEvent {
  name: string;
  ph: 'X' | 'C' | 'M';
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  args?: Record<string, number | string>;
}

const PID = 1;

export class TimelineBuilder {
  readonly events: TraceEvent[] = [];
  dropped = 0;

  constructor(private list: Track[], private cap = MAX_EVENTS) {
    this.push({ name: 'process_name', ph: 'M', ts: 0, pid: PID, tid: 0, args: { name: 'viommu-lab run' } });
    list.forEach((t, i) => this.push({ name: 'thread_name', ph: 'M', ts: 0, pid: PID, tid: i + 1, args: { name: t.name } }));
  }

  private push(e: TraceEvent): void {
    if (this.events.length < this.cap) this.events.push(e);
    else this.dropped++;
  }

  /** The slices and counters of one tick, from the sample before it to this one. */
  tick(prev: Sample, cur: Sample): void {
    const t0 = prev.atMs * 1000;
    const span = (cur.atMs - prev.atMs) * 1000;
    this.list.forEach((_, i) => {
      const active = ACTIVITIES.map((a, k) => ({ name: a.name, count: cur.counts[i][k] - prev.counts[i][k] })).filter((a) => a.count > 0);
      const each = span / Math.max(1, active.length);
      active.forEach((a, k) => this.push({ name: a.name, ph: 'X', ts: t0 + k * each, dur: each, pid: PID, tid: i + 1, args: { count: a.count } }));
    });
    const dt = Math.max(1e-9, (cur.atMs - prev.atMs) / 1000);
    const at = cur.atMs * 1000;
    this.push({ name: 'pinned pages', ph: 'C', ts: at, pid: PID, tid: 0, args: { pinned: cur.pinned } });
    this.push({ name: 'resident frames', ph: 'C', ts: at, pid: PID, tid: 0, args: { resident: cur.resident } });
    this.push({ name: 'DMA/s', ph: 'C', ts: at, pid: PID, tid: 0, args: { dma: Math.round((cur.dmaOps - prev.dmaOps) / dt) } });
    this.push({ name: 'exits/s', ph: 'C', ts: at, pid: PID, tid: 0, args: { exits: Math.round((cur.exits - prev.exits) / dt) } });
  }

  toJson(intervalMs: number): string {
    const note = `sampled every ${intervalMs} ms from the roles' counters; at most ${this.cap} events${this.dropped ? `, ${this.dropped} dropped` : ''}`;
    return JSON.stringify({ traceEvents: this.events, displayTimeUnit: 'ms', otherData: { sampling: note, droppedEvents: this.dropped } });
  }
}
