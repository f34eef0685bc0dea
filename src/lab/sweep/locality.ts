// A sweep point whose scenario records its trace (--record-trace; only recipes set it, it is a
// run-only flag) gets the reuse-distance figures of its own maps in its report: the point records
// into a fresh temporary file, the lab merges the vCPUs' parts, analyzes them in one pass and
// deletes the file. Its identity in the plan (and so --resume and merge) is the recipe's path.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { DmaLocality, HistogramBucket, RunReport, SectionBag } from '../../core/types.js';
import { analyzeTrace } from '../../workloads/trace/analyze.js';
import { finishRecording, recordFileOf } from '../../workloads/trace/recorder.js';
import type { ScenarioConfig } from '../scenario.js';

type Run = (cfg: ScenarioConfig, signal: AbortSignal) => Promise<RunReport>;

/** The run's locality from a finished recording. */
export function localityOf(file: string, guestPages: number): DmaLocality {
  const a = analyzeTrace(file, { skipBad: false, windowMs: 100, recentMs: [], keepMs: {}, guestPages });
  return { pageMaps: a.pageMaps, distinctPages: a.distinctPages, firstTouches: a.firstTouches, reuseDistanceMaps: a.reuseDistanceMaps, reuseDistanceUs: a.reuseDistanceUs };
}

/** `run`, and for a point that records its trace: record it aside and add `locality` to its report. */
export function withLocality(run: Run): Run {
  return async (cfg, signal) => {
    const record = recordFileOf(cfg);
    if (!record) return run(cfg, signal);
    const dir = mkdtempSync(join(tmpdir(), 'viommu-lab-locality-'));
    try {
      const file = join(dir, basename(record));
      const trace = (cfg as SectionBag).trace as object;
      const report = await run({ ...cfg, trace: { ...trace, record: file } } as ScenarioConfig, signal);
      finishRecording(file, cfg.vcpus);
      return { ...report, config: cfg, locality: localityOf(file, cfg.guestPages) };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

/** The smallest bucket bound below which a share q of the reuses fall (undefined: no reuse). */
export function reuseQuantile(b: readonly HistogramBucket[], q: number): number | undefined {
  const total = b.reduce((s, x) => s + x.count, 0);
  if (total === 0) return undefined;
  let seen = 0;
  for (const x of b) if ((seen += x.count) >= q * total) return x.to;
  return b[b.length - 1].to;
}

/** Share (%) of the reuses with a distance below `bound` (a power of two). */
export function reusedWithin(b: readonly HistogramBucket[], bound: number): number | undefined {
  const total = b.reduce((s, x) => s + x.count, 0);
  return total === 0 ? undefined : (100 * b.filter((x) => x.to <= bound).reduce((s, x) => s + x.count, 0)) / total;
}
