// The whole trace checked once before a replay starts (in the main thread): a malformed line is an
// error then, not in a worker; its counts (events, anomalies, time span) go in the report's line.
import { statSync } from 'node:fs';
import { TraceLedger, type TraceAnomalies } from './ledger.js';
import { TraceStream } from './stream.js';

export interface TraceScan {
  maps: number;
  unmaps: number;
  firstTime: number;
  spanS: number;
  cpus: number;
  anomalies: TraceAnomalies;
  liveAtEnd: number;
}

const cache = new Map<string, TraceScan>();

export function scanTrace(file: string, skipBad: boolean): TraceScan {
  const st = statSync(file);
  const key = `${file}|${st.size}|${st.mtimeMs}|${skipBad}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const stream = new TraceStream(file, skipBad);
  const ledger = new TraceLedger();
  let first = NaN;
  let last = 0;
  let cpus = 0;
  for (let e = stream.next(); e; e = stream.next()) {
    const t = ledger.time(e);
    if (Number.isNaN(first)) first = t;
    last = t;
    cpus = Math.max(cpus, e.cpu + 1);
    if (e.kind === 'map') ledger.map(e, t);
    else ledger.unmap(e);
  }
  const anomalies = { ...ledger.anomalies, badLines: stream.counts.badLines, lostEvents: stream.counts.lostEvents };
  const scan = { maps: ledger.maps, unmaps: ledger.unmaps, firstTime: Number.isNaN(first) ? 0 : first, spanS: Number.isNaN(first) ? 0 : last - first, cpus, anomalies, liveAtEnd: ledger.live.size };
  cache.set(key, scan);
  return scan;
}
