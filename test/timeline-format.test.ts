// run --timeline writes valid Chrome trace-event JSON (every event has ph/ts/pid/tid, slices nest on
// each track, counters are numbers), run --series writes one JSON line per interval; the event cap
// holds and says how much it dropped.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ACTIVITIES, type Sample } from '../src/lab/timeline/sample.js';
import { TimelineBuilder, type TraceEvent } from '../src/lab/timeline/trace.js';
import { cli } from './helpers/sweep.js';

/** Every slice on a track ends before the next starts, or holds it whole. */
function checkNesting(events: TraceEvent[]): void {
  const byTid = new Map<number, TraceEvent[]>();
  for (const e of events.filter((x) => x.ph === 'X')) byTid.set(e.tid, [...(byTid.get(e.tid) ?? []), e]);
  for (const slices of byTid.values()) {
    const stack: number[] = [];
    for (const e of [...slices].sort((a, b) => a.ts - b.ts || b.dur! - a.dur!)) {
      while (stack.length && stack[stack.length - 1] <= e.ts + 1e-6) stack.pop();
      const end = e.ts + e.dur!;
      if (stack.length) expect(end, `slice ${e.name}@${e.ts} crosses its parent's end`).toBeLessThanOrEqual(stack[stack.length - 1] + 1e-6);
      stack.push(end);
    }
  }
}

function checkTrace(text: string): TraceEvent[] {
  const doc = JSON.parse(text) as { traceEvents: TraceEvent[] };
  expect(Array.isArray(doc.traceEvents)).toBe(true);
  for (const e of doc.traceEvents) {
    expect(typeof e.ph).toBe('string');
    for (const k of ['ts', 'pid', 'tid'] as const) expect(Number.isFinite(e[k]), `${k} of ${JSON.stringify(e)}`).toBe(true);
    if (e.ph === 'X') expect(e.dur! >= 0).toBe(true);
    if (e.ph === 'C') for (const v of Object.values(e.args ?? {})) expect(typeof v).toBe('number');
  }
  checkNesting(doc.traceEvents);
  return doc.traceEvents;
}

const sample = (atMs: number, n: number): Sample => ({ atMs, dmaOps: n * 10, exits: n, pinned: n, resident: n, violations: 0, counts: [ACTIVITIES.map(() => n), ACTIVITIES.map(() => 2 * n)] });

describe('timeline and series', () => {
  it('a sampled timeline nests, and the cap drops events and says so', () => {
    const b = new TimelineBuilder([{ block: 0, name: 'hypervisor' }, { block: 3, name: 'guest vCPU 0' }]);
    for (let i = 1; i <= 20; i++) b.tick(sample((i - 1) * 10, i - 1), sample(i * 10, i));
    const events = checkTrace(b.toJson(10));
    expect(events.filter((e) => e.ph === 'X')).toHaveLength(20 * 2 * ACTIVITIES.length);
    const capped = new TimelineBuilder([{ block: 0, name: 'hypervisor' }], 50);
    for (let i = 1; i <= 20; i++) capped.tick(sample((i - 1) * 10, i - 1), sample(i * 10, i));
    const doc = JSON.parse(capped.toJson(10)) as { traceEvents: unknown[]; otherData: { droppedEvents: number; sampling: string } };
    expect(doc.traceEvents).toHaveLength(50);
    expect(doc.otherData.droppedEvents).toBeGreaterThan(0);
    expect(doc.otherData.sampling).toContain('dropped');
  });

  it('run --timeline and --series on a real run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'viommu-timeline-'));
    const argv = ['run', '--policy', 'coiommu', '--notify', 'trap', '--ops', '1500', '--guest-mem', '16MiB', '--no-progress',
      '--timeline', join(dir, 't.json'), '--timeline-interval', '5ms', '--series', join(dir, 's.jsonl'), '--series-interval', '20ms'];
    const r = await cli(argv);
    expect(r.code, r.stderr).toBe(0);
    const events = checkTrace(readFileSync(join(dir, 't.json'), 'utf8'));
    const names = new Set(events.filter((e) => e.ph === 'M').map((e) => e.args?.name));
    for (const role of ['hypervisor', 'device', 'guest vCPU 0']) expect(names.has(role)).toBe(true);
    expect(events.some((e) => e.ph === 'X' && e.name === 'pin requests')).toBe(true);
    expect(events.filter((e) => e.ph === 'C' && e.name === 'pinned pages').length).toBeGreaterThan(1);
    const lines = readFileSync(join(dir, 's.jsonl'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) for (const k of ['t', 'dmaOps', 'dmaPerSecond', 'exitsPerSecond', 'pinnedPages', 'residentFrames', 'rssBytes', 'violations']) expect(Number.isFinite(l[k]), k).toBe(true);
    expect(lines[lines.length - 1].dmaOps).toBe(1500);
    expect(lines.every((l, i) => i === 0 || l.t >= lines[i - 1].t)).toBe(true);
  });

  it('rejects a bad interval and --series with several trials (exit 2)', async () => {
    expect((await cli(['run', '--series', '/tmp/x', '--series-interval', '0ms'])).stderr).toContain('--series-interval');
    const r = await cli(['run', '--series', '/tmp/x', '--trials', '2']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--trials 1');
  });
});
