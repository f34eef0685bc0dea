// Traces of one schedule: a step-by-step text table, and Chrome / Perfetto trace-event JSON with
// one track per scenario thread (open it at ui.perfetto.dev or chrome://tracing).
import type { Scenario } from '../core/scenario.js';
import { grid } from '../core/grid.js';
import type { TraceStep } from './trace-step.js';

export { wordName } from './trace-step.js';

const hex = (v: number): string => (v < 0 || v > 0xffff ? `0x${(v >>> 0).toString(16)}` : String(v));

export function formatTrace(s: Scenario, trace: readonly TraceStep[]): string {
  const rows = trace.map((t) => [
    String(t.step),
    s.threads[t.thread],
    t.op,
    t.where,
    t.op === 'load' ? '' : t.replacement !== undefined ? `${hex(t.operand)} => ${hex(t.replacement)}` : hex(t.operand),
    `${hex(t.before)} -> ${hex(t.after)}${t.timedOut ? ' (timed out)' : ''}`,
  ]);
  return grid(['step', 'thread', 'op', 'word', 'operand', 'before -> after'], rows) + '\n';
}

interface TraceEvent {
  name: string;
  cat?: string;
  ph: string;
  ts?: number;
  dur?: number;
  pid: number;
  tid: number;
  s?: string;
  args?: Record<string, unknown>;
}

/** Perfetto / Chrome trace events: one step is one microsecond on its thread's track. */
export function perfettoTrace(s: Scenario, trace: readonly TraceStep[], outcome: string, title: string): object {
  const events: TraceEvent[] = [{ name: 'process_name', ph: 'M', pid: 1, tid: 0, args: { name: title } }];
  s.threads.forEach((name, tid) => {
    events.push({ name: 'thread_name', ph: 'M', pid: 1, tid: tid + 1, args: { name } });
    events.push({ name: 'thread_sort_index', ph: 'M', pid: 1, tid: tid + 1, args: { sort_index: tid } });
  });
  for (const t of trace)
    events.push({
      name: `${t.op} ${t.where}`,
      cat: t.op,
      ph: 'X',
      ts: t.step,
      dur: 1,
      pid: 1,
      tid: t.thread + 1,
      args: {
        step: t.step,
        operand: t.operand,
        ...(t.replacement !== undefined ? { replacement: t.replacement } : {}),
        before: t.before,
        after: t.after,
        ...(t.timedOut ? { timedOut: true } : {}),
      },
    });
  events.push({ name: `outcome: ${outcome}`, ph: 'i', s: 'g', ts: trace.length, pid: 1, tid: 0 });
  return { traceEvents: events, displayTimeUnit: 'ns', otherData: { scenario: s.name, outcome } };
}
