// `run --series FILE`: one JSON line per --series-interval (wall clock) with throughput, exits/s,
// pinned pages, resident frames, the process's RSS and the violations so far.
import { closeSync, openSync, writeSync } from 'node:fs';
import type { Sample } from './sample.js';

export interface SeriesLine {
  t: number;
  dmaOps: number;
  dmaPerSecond: number;
  exitsPerSecond: number;
  pinnedPages: number;
  residentFrames: number;
  rssBytes: number;
  violations: number;
}

export function seriesLine(prev: Sample, cur: Sample, rssBytes: number): SeriesLine {
  const dt = Math.max(1e-9, (cur.atMs - prev.atMs) / 1000);
  return {
    t: Math.round(cur.atMs) / 1000,
    dmaOps: cur.dmaOps,
    dmaPerSecond: Math.round((cur.dmaOps - prev.dmaOps) / dt),
    exitsPerSecond: Math.round((cur.exits - prev.exits) / dt),
    pinnedPages: cur.pinned,
    residentFrames: cur.resident,
    rssBytes,
    violations: cur.violations,
  };
}

/** Appends lines to a file as they come (a run that dies still leaves its series so far). */
export class SeriesWriter {
  private fd: number;
  constructor(file: string) {
    this.fd = openSync(file, 'w');
  }
  write(line: SeriesLine): void {
    writeSync(this.fd, `${JSON.stringify(line)}\n`);
  }
  close(): void {
    closeSync(this.fd);
  }
}
