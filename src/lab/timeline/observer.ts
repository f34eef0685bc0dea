// Watches a running machine for --series and --timeline: one timer on the main thread reads a
// sample every interval and hands it to the series writer and the timeline builder; both files
// are written as the run ends (the series line by line as it goes).
import { writeFileSync } from 'node:fs';
import type { Machine } from '../../machine/machine.js';
import type { ScenarioConfig } from '../scenario.js';
import { readSample, tracks, type Sample } from './sample.js';
import { SeriesWriter, seriesLine } from './series.js';
import { TimelineBuilder } from './trace.js';

export interface WatchOptions {
  series?: { file: string; intervalMs: number };
  timeline?: { file: string; intervalMs: number };
}

export interface Watch {
  stop(): void;
}

function every(intervalMs: number, t0: number, m: Machine, cfg: ScenarioConfig, sidecore: boolean, on: (prev: Sample, cur: Sample) => void) {
  const list = tracks(cfg.vcpus, sidecore);
  const now = () => performance.timeOrigin + performance.now() - t0;
  let prev = readSample(m, cfg.vcpus, list, now());
  const step = () => {
    const cur = readSample(m, cfg.vcpus, list, now());
    on(prev, cur);
    prev = cur;
  };
  const timer = setInterval(step, intervalMs);
  return { list, stop: () => (clearInterval(timer), step()) };
}

export function watchRun(m: Machine, cfg: ScenarioConfig, sidecore: boolean, t0: number, o: WatchOptions): Watch {
  const stops: (() => void)[] = [];
  if (o.series) {
    const w = new SeriesWriter(o.series.file);
    const s = every(o.series.intervalMs, t0, m, cfg, sidecore, (a, b) => w.write(seriesLine(a, b, process.memoryUsage.rss())));
    stops.push(() => (s.stop(), w.close()));
  }
  if (o.timeline) {
    const { file, intervalMs } = o.timeline;
    let b: TimelineBuilder | undefined;
    const s = every(intervalMs, t0, m, cfg, sidecore, (a, c) => b!.tick(a, c));
    b = new TimelineBuilder(s.list);
    stops.push(() => (s.stop(), writeFileSync(file, b!.toJson(intervalMs))));
  }
  return { stop: () => stops.forEach((f) => f()) };
}
