// A trace streamed event by event: lines read in constant memory, parsed, and malformed ones
// either stop the stream with the file, the line number and what was expected, or (skipBad) are
// counted and passed over.
import { ConfigError } from '../../core/errors.js';
import type { TraceEvent } from './event.js';
import { LineReader } from './line-reader.js';
import { newParsedLine, parseLine } from './parse.js';

export interface StreamCounts {
  lines: number;
  badLines: number;
  lostEvents: number;
  /** Event lines of other events (sched, irq, ...) passed over. */
  otherEvents: number;
  bytes: number;
}

/** The error a malformed line raises: exit 2, naming the file, the line and what was expected. */
export function badLineError(file: string, lineNo: number, expected: string, text: string, field = '--trace'): ConfigError {
  const shown = text.length > 160 ? `${text.slice(0, 160)}...` : text;
  return new ConfigError(field, file, `line ${lineNo}: expected ${expected}; got "${shown}" (--trace-skip-bad counts such lines and goes on)`);
}

export class TraceStream {
  private readonly reader: LineReader;
  private readonly parsed = newParsedLine();
  readonly counts: StreamCounts = { lines: 0, badLines: 0, lostEvents: 0, otherEvents: 0, bytes: 0 };

  constructor(
    readonly file: string,
    private readonly skipBad: boolean,
    /** What the error calls the file (a flag or an argument). */
    private readonly field = '--trace',
  ) {
    this.reader = new LineReader(file);
  }

  /** The next event (the same object each time: copy what you keep), or undefined at the end. */
  next(): TraceEvent | undefined {
    for (;;) {
      const line = this.reader.read();
      this.counts.bytes = this.reader.bytes;
      if (line === undefined) return undefined;
      this.counts.lines++;
      const kind = parseLine(line, this.parsed);
      if (kind === 'event') return this.parsed.event;
      if (kind === 'lost') this.counts.lostEvents += this.parsed.lost;
      else if (kind === 'bad') {
        if (!this.skipBad) {
          this.reader.close();
          throw badLineError(this.file, this.reader.lineNo, this.parsed.expected, line, this.field);
        }
        this.counts.badLines++;
      } else if (line.trim() !== '' && !line.trimStart().startsWith('#')) this.counts.otherEvents++;
    }
  }

  close(): void {
    this.reader.close();
  }
}
