// Drives Debian's headless Chromium over the DevTools protocol on a pipe (--remote-debugging-pipe:
// JSON messages, NUL-terminated, on fds 3 and 4), so the test needs no browser-download package.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';

/** The Chromium binary: $CHROMIUM, or Debian's package. */
export function chromiumPath(): string | undefined {
  return [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p): p is string => !!p && existsSync(p));
}

type Message = { id?: number; method?: string; params?: Record<string, unknown>; result?: Record<string, unknown>; error?: { message: string }; sessionId?: string };

export interface Page {
  /** Console errors, uncaught exceptions and failed loads seen so far. */
  errors: string[];
  evaluate<T>(expression: string): Promise<T>;
  close(): Promise<void>;
}

class Cdp {
  private next = 1;
  private pending = new Map<number, { ok: (r: Record<string, unknown>) => void; fail: (e: Error) => void }>();
  private buffer = '';
  readonly events: Message[] = [];
  private waiters: { method: string; sessionId: string; resolve: () => void }[] = [];

  constructor(private input: Writable, output: Readable) {
    output.setEncoding('utf8');
    output.on('data', (chunk: string) => {
      this.buffer += chunk;
      let end: number;
      while ((end = this.buffer.indexOf('\0')) >= 0) {
        this.dispatch(JSON.parse(this.buffer.slice(0, end)) as Message);
        this.buffer = this.buffer.slice(end + 1);
      }
    });
  }

  private dispatch(m: Message): void {
    if (m.id !== undefined) {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.error) p?.fail(new Error(m.error.message));
      else p?.ok(m.result ?? {});
      return;
    }
    this.events.push(m);
    this.waiters = this.waiters.filter((w) => (w.method === m.method && w.sessionId === m.sessionId ? (w.resolve(), false) : true));
  }

  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    const id = this.next++;
    this.input.write(`${JSON.stringify({ id, method, params, ...(sessionId && { sessionId }) })}\0`);
    return new Promise((ok, fail) => this.pending.set(id, { ok, fail }));
  }

  once(method: string, sessionId: string): Promise<void> {
    return new Promise((resolve) => this.waiters.push({ method, sessionId, resolve }));
  }
}

function errorsOf(events: Message[]): string[] {
  const out: string[] = [];
  for (const e of events) {
    const p = e.params ?? {};
    if (e.method === 'Runtime.exceptionThrown') out.push(`exception: ${JSON.stringify((p.exceptionDetails as { text?: string })?.text ?? p)}`);
    if (e.method === 'Runtime.consoleAPICalled' && (p.type === 'error' || p.type === 'assert')) out.push(`console.${p.type}: ${JSON.stringify(p.args)}`);
    if (e.method === 'Log.entryAdded' && (p.entry as { level?: string })?.level === 'error') out.push(`log: ${(p.entry as { text?: string }).text}`);
  }
  return out;
}

export interface Browser {
  /** Opens a local HTML file in a new tab and waits for its load event. */
  open(file: string): Promise<Page>;
  close(): Promise<void>;
}

/** Starts a fresh headless Chromium with a throw-away profile. */
export async function launch(binary: string): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'viommu-chromium-'));
  const args = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--no-default-browser-check', '--remote-debugging-pipe', `--user-data-dir=${profile}`, 'about:blank'];
  const proc: ChildProcess = spawn(binary, args, { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const cdp = new Cdp(proc.stdio[3] as Writable, proc.stdio[4] as Readable);
  const open = async (file: string): Promise<Page> => {
    const { targetId } = await cdp.send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = (await cdp.send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
    for (const d of ['Runtime.enable', 'Log.enable', 'Page.enable']) await cdp.send(d, {}, sessionId);
    const loaded = cdp.once('Page.loadEventFired', sessionId);
    await cdp.send('Page.navigate', { url: pathToFileURL(file).href }, sessionId);
    await loaded;
    return {
      get errors() {
        return errorsOf(cdp.events.filter((e) => e.sessionId === sessionId));
      },
      evaluate: async <T>(expression: string) => {
        const r = (await cdp.send('Runtime.evaluate', { expression, returnByValue: true }, sessionId)) as { result: { value: T }; exceptionDetails?: unknown };
        if (r.exceptionDetails) throw new Error(`evaluate failed: ${JSON.stringify(r.exceptionDetails)}`);
        return r.result.value;
      },
      close: async () => void (await cdp.send('Target.closeTarget', { targetId })),
    };
  };
  const close = async () => {
    await Promise.race([cdp.send('Browser.close').catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
    if (proc.exitCode === null) proc.kill('SIGKILL');
    await exited;
    try {
      rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    } catch {
      // a helper process of Chromium (crashpad) may still write into the profile as it exits: a
      // leftover temp directory is no test failure
    }
  };
  return { open, close };
}
