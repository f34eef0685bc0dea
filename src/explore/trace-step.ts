// One step of a schedule as a trace records it, and the readable names of shared words.
import { CTL, SLOT } from '../machine/layout.js';
import type { OpName } from './sched-layout.js';

export interface TraceStep {
  step: number;
  thread: number;
  op: OpName;
  where: string;
  /** For a wait or compareExchange: the expected value. For writes: the operand. */
  operand: number;
  /** compareExchange: the replacement. */
  replacement?: number;
  before: number;
  after: number;
  /** A blocked wait that returned because its timeout fired (every thread was blocked). */
  timedOut?: true;
}

const nameOf = (table: Record<string, number>, value: number): string | undefined =>
  Object.entries(table).find(([k, v]) => v === value && k !== 'WORDS')?.[0];

/** A readable name for word `index` of region `region`: control words and notify slots by field. */
export function wordName(region: string, index: number): string {
  if (region === 'control') return `control.${nameOf(CTL, index) ?? index}`;
  if (region === 'slots') {
    const v = Math.floor(index / SLOT.WORDS);
    const w = index % SLOT.WORDS;
    return w >= SLOT.GFNS ? `slot${v}.GFNS[${w - SLOT.GFNS}]` : `slot${v}.${nameOf(SLOT, w) ?? w}`;
  }
  return `${region}[${index}]`;
}

