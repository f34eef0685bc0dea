// run's --series and --timeline flags: files and sampling intervals (wall clock).
import type { Command } from 'commander';
import { ConfigError } from '../core/errors.js';
import { parseDuration } from '../core/units.js';
import type { WatchOptions } from '../lab/timeline/observer.js';
import { MAX_EVENTS } from '../lab/timeline/trace.js';
import type { Opts } from './context.js';

export function addWatchOptions(cmd: Command): Command {
  return cmd
    .option('--series <file>', 'write a time series (JSON lines: throughput, exits/s, pinned, resident, RSS, violations so far) every --series-interval')
    .option('--series-interval <d>', 'time between two series lines, 10ms..1h (default 1s)')
    .option('--timeline <file>', `write a Chrome trace-event timeline (ui.perfetto.dev): a track per role, sampled slices and counters, at most ${MAX_EVENTS.toLocaleString('en-US')} events`)
    .option('--timeline-interval <d>', 'timeline sampling period, 1ms..10s (default 10ms)');
}

function interval(o: Opts, key: string, flag: string, def: number, min: number, max: number): number {
  const raw = o[key];
  if (raw === undefined) return def;
  const allowed = `must be a duration between ${min} ms and ${max / 1000} s, e.g. 500ms or 2s`;
  let ms: number;
  try {
    ms = parseDuration(String(raw), flag);
  } catch {
    throw new ConfigError(flag, String(raw), allowed);
  }
  if (!(ms >= min && ms <= max)) throw new ConfigError(flag, String(raw), allowed);
  return ms;
}

export function watchOptions(o: Opts, trials: number): WatchOptions {
  const w: WatchOptions = {};
  const seriesMs = interval(o, 'seriesInterval', '--series-interval', 1000, 10, 3_600_000);
  const timelineMs = interval(o, 'timelineInterval', '--timeline-interval', 10, 1, 10_000);
  if (typeof o.series === 'string') w.series = { file: o.series, intervalMs: seriesMs };
  if (typeof o.timeline === 'string') w.timeline = { file: o.timeline, intervalMs: timelineMs };
  if ((w.series || w.timeline) && trials > 1) throw new ConfigError('--trials', String(trials), '--series and --timeline record one run: use --trials 1');
  return w;
}
