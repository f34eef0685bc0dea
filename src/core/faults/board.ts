// The fault board: counters every role adds to (Atomics) in a small SharedArrayBuffer of its own,
// beside the machine: per fault kind how often it was injected and what the protocol did about
// it, and per failure point how often it was reached (the fail-nth sweep's ordinal).
import { FAILURE_POINTS, FAULT_KINDS, REACTIONS, type FailurePoint, type FaultKind } from './kinds.js';

const KIND_WORDS = 4; // injected + up to three reactions
const POINTS_AT = FAULT_KINDS.length * KIND_WORDS;
const WORDS = POINTS_AT + FAILURE_POINTS.length;

export interface FaultCounts {
  injected: number;
  /** What the protocol did, by reaction name (see REACTIONS). */
  [reaction: string]: number;
}

export interface FaultTally {
  byKind: Partial<Record<FaultKind, FaultCounts>>;
  /** Failure points reached, by point. */
  points: Record<FailurePoint, number>;
}

export class FaultBoard {
  readonly words: Int32Array;

  constructor(readonly sab: SharedArrayBuffer = new SharedArrayBuffer(WORDS * 4)) {
    this.words = new Int32Array(sab);
  }

  injected(kind: FaultKind): void {
    Atomics.add(this.words, FAULT_KINDS.indexOf(kind) * KIND_WORDS, 1);
  }

  /** Add `n` to reaction `name` of `kind`. */
  react(kind: FaultKind, name: string, n = 1): void {
    const r = REACTIONS[kind].indexOf(name);
    if (r < 0) throw new RangeError(`${kind} has no reaction ${name}`);
    Atomics.add(this.words, FAULT_KINDS.indexOf(kind) * KIND_WORDS + 1 + r, Math.round(n));
  }

  /** Point reached: returns its ordinal over the whole run (1 = the first time). */
  reached(point: FailurePoint): number {
    return Atomics.add(this.words, POINTS_AT + FAILURE_POINTS.indexOf(point), 1) + 1;
  }

  /** Everything counted so far; kinds never injected are left out. */
  tally(): FaultTally {
    const w = this.words;
    const byKind: FaultTally['byKind'] = {};
    FAULT_KINDS.forEach((kind, k) => {
      const injected = Atomics.load(w, k * KIND_WORDS);
      if (injected === 0) return;
      const c: FaultCounts = { injected };
      REACTIONS[kind].forEach((name, r) => (c[name] = Atomics.load(w, k * KIND_WORDS + 1 + r)));
      byKind[kind] = c;
    });
    const points = Object.fromEntries(FAILURE_POINTS.map((p, i) => [p, Atomics.load(w, POINTS_AT + i)])) as Record<FailurePoint, number>;
    return { byKind, points };
  }

  /** Faults injected so far, all kinds. */
  totalInjected(): number {
    let n = 0;
    for (let k = 0; k < FAULT_KINDS.length; k++) n += Atomics.load(this.words, k * KIND_WORDS);
    return n;
  }
}
