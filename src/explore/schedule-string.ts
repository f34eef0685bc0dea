// A schedule is the sequence of thread indices chosen at each step. Written run-length encoded,
// e.g. "0*7.2.1*3": thread 0 seven times, thread 2 once, thread 1 three times. Under x86-TSO,
// "f1" is a flush step: the oldest store in thread 1's store buffer becomes visible.
import { FLUSH_BASE } from './sched-layout.js';

const choiceName = (c: number): string => (c >= FLUSH_BASE ? `f${c - FLUSH_BASE}` : String(c));

export function encodeChoices(choices: readonly number[]): string {
  const out: string[] = [];
  for (let i = 0; i < choices.length; ) {
    let j = i;
    while (j < choices.length && choices[j] === choices[i]) j++;
    out.push(j - i > 1 ? `${choiceName(choices[i])}*${j - i}` : choiceName(choices[i]));
    i = j;
  }
  return out.join('.');
}

export class ScheduleSyntaxError extends Error {}

/** The longest schedule a string may spell (a guard against "0*1000000.0*1000000..."). */
export const MAX_SCHEDULE_STEPS = 1_000_000;

export function decodeChoices(text: string, threads: number): number[] {
  const t = text.trim();
  if (t === '') return [];
  const out: number[] = [];
  for (const part of t.split('.')) {
    const m = /^(f?)(\d+)(?:\*(\d+))?$/.exec(part);
    if (!m) throw new ScheduleSyntaxError(`bad schedule element "${part}": expected THREAD, fTHREAD (a TSO flush) or either *COUNT, e.g. 0*7.2.f2.1*3`);
    const thread = Number(m[2]);
    const count = m[3] === undefined ? 1 : Number(m[3]);
    if (thread >= threads) throw new ScheduleSyntaxError(`schedule names thread ${thread}, the scenario has threads 0..${threads - 1}`);
    if (count < 1 || count > 1_000_000) throw new ScheduleSyntaxError(`bad repeat count in "${part}"`);
    if (out.length + count > MAX_SCHEDULE_STEPS) throw new ScheduleSyntaxError(`schedule longer than ${MAX_SCHEDULE_STEPS} steps`);
    for (let k = 0; k < count; k++) out.push(m[1] ? FLUSH_BASE + thread : thread);
  }
  return out;
}
