// Lines of a file, read synchronously in fixed chunks: memory stays constant however large the
// trace, and the role workers (whose loops never yield to the event loop) can read it too.
import { closeSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

const CHUNK = 1 << 20;

export class LineReader {
  private readonly fd: number;
  private readonly buf = Buffer.allocUnsafe(CHUNK);
  private readonly decoder = new StringDecoder('utf8');
  private lines: string[] = [];
  private next = 0;
  private rest = '';
  private eof = false;
  /** Number of the line last returned (1-based). */
  lineNo = 0;
  /** Bytes read so far. */
  bytes = 0;

  constructor(readonly file: string) {
    this.fd = openSync(file, 'r');
  }

  /** The next line without its end-of-line, or undefined at the end (the file is then closed). */
  read(): string | undefined {
    while (this.next >= this.lines.length) {
      if (this.eof) return undefined;
      this.fill();
    }
    this.lineNo++;
    return this.lines[this.next++];
  }

  private fill(): void {
    const n = readSync(this.fd, this.buf, 0, CHUNK, null);
    this.bytes += n;
    this.next = 0;
    if (n === 0) {
      this.eof = true;
      closeSync(this.fd);
      const last = this.rest + this.decoder.end();
      this.lines = last.length > 0 ? [last.replace(/\r$/, '')] : [];
      this.rest = '';
      return;
    }
    const text = this.rest + this.decoder.write(this.buf.subarray(0, n));
    const parts = text.split('\n');
    this.rest = parts.pop()!;
    this.lines = parts.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  }

  /** Stop early: close the file. */
  close(): void {
    if (!this.eof) closeSync(this.fd);
    this.eof = true;
    this.lines = [];
  }
}
