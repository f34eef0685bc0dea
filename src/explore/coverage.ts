// Coverage of the protocol code by the explorer: every shared-memory operation site (file:line of
// a SharedMem call) in the protocol, notify and memory code, and which of them some scenario's
// schedule executed. The reached sites come from the controlled executor: before each operation
// it asks the recorder, which reads the caller's file:line off the stack (source-mapped, so a run
// from dist/ names the .ts lines too). Only a coverage run pays for that.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url)); // .../src/explore or .../dist/src/explore
const root = join(here, '..', '..', ...(here.includes(`${join('dist', 'src')}`) ? ['..'] : []));

/** Folders and files whose SharedMem sites count: the protocols, not the harness around them. */
const PROTOCOL_DIRS = ['src/notify', 'src/mem', 'src/policies/coiommu', 'src/policies/viommu', 'src/workloads/net'];
/** Harness and scenario code (their sites are the explorer's own, not protocol steps). */
const NOT_PROTOCOL = /(scenario|scenarios[-\w]*|scenario-parts|ring-dma-kit|index|config)\.ts$/;
const SITE = /\bmem\.(load|store|add|sub|or|and|compareExchange|wait|notify)\(/;

/** Every protocol site: `src/...ts:line` of each line with a SharedMem call (with the line's text). */
export function protocolSites(): string[] {
  return [...siteTexts().keys()];
}

function siteTexts(): Map<string, string> {
  const out = new Map<string, string>();
  for (const dir of PROTOCOL_DIRS) {
    for (const f of readdirSync(join(root, dir)).sort()) {
      if (!f.endsWith('.ts') || NOT_PROTOCOL.test(f)) continue;
      const lines = readFileSync(join(root, dir, f), 'utf8').split('\n');
      lines.forEach((l, i) => {
        if (SITE.test(l) && !l.trimStart().startsWith('//') && !l.trimStart().startsWith('*')) out.set(`${dir}/${f}:${i + 1}`, l);
      });
    }
  }
  return out;
}

/** Records the protocol line of each operation the controlled executor runs. */
export class SiteRecorder {
  readonly sites = new Set<string>();

  constructor() {
    process.setSourceMapsEnabled(true);
  }

  hit(): void {
    const stack = new Error().stack ?? '';
    for (const line of stack.split('\n').slice(2)) {
      const m = /\(?(?:file:\/\/)?([^()\s]+):(\d+):\d+\)?$/.exec(line.trim());
      if (!m || m[1].includes('/explore/controlled-mem') || m[1].includes('/explore/coverage')) continue;
      const file = relative(root, m[1]).replace(/^dist\//, '').replace(/\.js$/, '.ts');
      this.sites.add(`${file}:${m[2]}`);
      return;
    }
  }
}

export interface Coverage {
  sites: number;
  reached: number;
  percent: number;
  unreached: string[];
  /** Unreached sites the lab documents as out of the explorer's reach, with why. */
  exceptions: Record<string, string>;
}

/** The figure over `reached` (sites seen by any run), with the documented exceptions left out of the count. */
export function coverageOf(reached: Iterable<string>, exceptions: Record<string, string> = {}): Coverage {
  const seen = new Set(reached);
  const texts = siteTexts();
  const all = [...texts.keys()];
  const unreached = all.filter((s) => !seen.has(s));
  const why = (s: string) => exceptionFor(s, texts.get(s) ?? '', exceptions);
  const excused = Object.fromEntries(unreached.filter((s) => why(s)).map((s) => [s, why(s)!]));
  const hit = all.length - unreached.length;
  return {
    sites: all.length,
    reached: hit,
    percent: all.length === 0 ? 100 : Math.round((1000 * hit) / all.length) / 10,
    unreached: unreached.filter((s) => !(s in excused)),
    exceptions: excused,
  };
}

/** An exception names a file (every site in it), or `file~text`: the file's sites whose line contains text. */
function exceptionFor(site: string, text: string, exceptions: Record<string, string>): string | undefined {
  const file = site.replace(/:\d+$/, '');
  if (exceptions[file]) return exceptions[file];
  for (const [k, why] of Object.entries(exceptions)) {
    const [f, part] = k.split('~');
    if (part !== undefined && f === file && text.includes(part)) return why;
  }
  return undefined;
}

/** Exceptions that excuse no protocol site at all (stale: the line they named has changed or gone). */
export function staleExceptions(exceptions: Record<string, string>): string[] {
  const texts = siteTexts();
  return Object.keys(exceptions).filter((k) => ![...texts].some(([site, text]) => exceptionFor(site, text, { [k]: exceptions[k] })));
}
