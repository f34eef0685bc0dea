// Long searches that survive: the search state (strategy position, partial result) is written to
// a file every few seconds and at the end, and a search can resume from it. Before each schedule
// runs, its forced prefix (or seed) goes to FILE.running, so a crash of the explorer itself leaves
// the schedule that was running behind, ready to replay.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

/** Where a strategy stands: its loop index, the repeats it ran, and its own search state. */
export interface Position {
  next: number;
  repeats: number;
  search?: unknown;
}

/** O: the search options, R: the partial result (explore.ts's types; generic to keep this file below it). */
export interface CheckpointState<O = unknown, R = unknown> extends Position {
  version: 1;
  options: O;
  result: R;
  firstChoices?: number[];
}

export class CheckpointError extends Error {}

/** Order-dependent hash of the counted schedules (FNV-1a over the choices, chained). */
export function scheduleDigest(h: number, choices: readonly number[]): number {
  let x = (h ^ 0x811c9dc5) >>> 0;
  for (const c of choices) x = Math.imul(x ^ (c + 1), 0x01000193) >>> 0;
  return Math.imul(x ^ choices.length, 0x01000193) >>> 0;
}

export function readCheckpoint<O, R>(file: string): CheckpointState<O, R> {
  let s: CheckpointState<O, R>;
  try {
    s = JSON.parse(readFileSync(file, 'utf8')) as CheckpointState<O, R>;
  } catch (e) {
    throw new CheckpointError(`cannot read checkpoint ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (s.version !== 1 || !s.options || !s.result) throw new CheckpointError(`${file} is not an explorer checkpoint`);
  return s;
}

export class Checkpoint<O = unknown, R = unknown> {
  private lastSave = performance.now();
  private result?: R;
  private firstChoices: () => number[] | undefined = () => undefined;

  constructor(
    readonly file: string,
    private readonly options: O,
    readonly resumed?: CheckpointState<O, R>,
    private readonly everyMs = 2000,
  ) {}

  attach(result: R, firstChoices: () => number[] | undefined): void {
    this.result = result;
    this.firstChoices = firstChoices;
  }

  /** The schedule about to run (a replayable prefix or a seed), written before it runs. */
  running(text: string): void {
    writeFileSync(`${this.file}.running`, `${text}\n`);
  }

  /** Save the state when the interval has passed (or `force`). */
  tick(position: () => Position, force = false): void {
    if (!this.result || (!force && performance.now() - this.lastSave < this.everyMs)) return;
    this.lastSave = performance.now();
    const state: CheckpointState<O, R> = { version: 1, options: this.options, ...position(), result: this.result, firstChoices: this.firstChoices() };
    writeFileSync(`${this.file}.tmp`, JSON.stringify(state));
    renameSync(`${this.file}.tmp`, this.file); // never a half-written checkpoint
  }
}
