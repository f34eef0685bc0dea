// Sizes (binary units) and durations as people type them on a command line.
import { ConfigError } from './errors.js';

const SIZE_UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };
export const SIZE_SYNTAX = 'a whole number of bytes like 4096, 4k, 4KiB, 512MiB, 1G, 128GiB (binary units)';

/** Bytes from `4096`, `4k`, `4KiB`, `512MiB`, `1G`, `1GiB`: binary units, case-insensitive, optional `B`. */
export function parseSize(text: string, field = 'size'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:([kmgt])(i?b?)|(b))?\s*$/i.exec(text);
  const unit = m ? SIZE_UNITS[(m[2] ?? '').toLowerCase()] : undefined;
  const bytes = m && unit !== undefined ? Number(m[1]) * unit : NaN;
  if (!Number.isSafeInteger(bytes)) throw new ConfigError(field, text, `must be ${SIZE_SYNTAX}`);
  return bytes;
}

// Exact integer factors in ns, so `5us` -> 5 us and `250us` -> 0.25 ms come out without float noise.
const DURATION_NS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, m: 60e9, min: 60e9, h: 3600e9 };
export const DURATION_SYNTAX = 'a duration like 3s, 500ms, 2m, 1.5s, 250us (a bare number is ms)';

/** A duration in ms (or in `unit`), fractional allowed: `3s`, `500ms`, `2m`, `1.5s`, `250us`, `1h`; bare number = ms. */
export function parseDuration(text: string, field = 'duration', unit: 'ms' | 'us' = 'ms'): number {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ns|us|µs|ms|s|m|min|h)?\s*$/i.exec(text);
  const factor = m ? DURATION_NS[(m[2] ?? 'ms').toLowerCase()] : undefined;
  if (!m || factor === undefined) throw new ConfigError(field, text, `must be ${DURATION_SYNTAX}`);
  return (Number(m[1]) * factor) / DURATION_NS[unit];
}

const trim = (n: number, digits: number) => String(Number(n.toFixed(digits)));

/** `1 GiB`, `512 MiB`, `1.5 GiB`, `4 KiB`, `100 B`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (i < units.length - 1 && Math.abs(bytes) >= 1024 ** (i + 1)) i++;
  return `${trim(bytes / 1024 ** i, 2)} ${units[i]}`;
}

/** `250 µs`, `500 ms`, `1.5 s`, `2 min`, `1.5 h` from a duration in ms. */
export function formatDuration(ms: number): string {
  const a = Math.abs(ms);
  if (a === 0) return '0 ms';
  if (a < 1) return `${trim(ms * 1000, 2)} µs`;
  if (a < 1000) return `${trim(ms, 2)} ms`;
  if (a < 60_000) return `${trim(ms / 1000, 3)} s`;
  if (a < 3_600_000) return `${trim(ms / 60_000, 2)} min`;
  return `${trim(ms / 3_600_000, 2)} h`;
}
