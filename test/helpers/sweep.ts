// Helpers for the sweep, experiment and HTML tests: the command line in-process, a stand-in report,
// and results.csv read back.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { main, type RunScenario } from '../../src/cli/main.js';
import type { RunReport } from '../../src/core/types.js';
import type { ScenarioConfig } from '../../src/lab/scenario.js';
import type { SweepResults } from '../../src/lab/sweep/results.js';

export async function cli(argv: string[], runScenario?: RunScenario) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s), stderrIsTTY: false, runScenario });
  return { code, stdout, stderr };
}

/** A report whose figures follow the config (so plots have shape), without running anything. */
export function fakeReport(cfg: ScenarioConfig): RunReport {
  const p = { p50: 0.4, p99: 3.2, max: 40 };
  const reuse = (cfg as unknown as { net: { reuseDistance: number } }).net.reuseDistance;
  const ops = 1000 * (reuse + 1) * cfg.vcpus + cfg.seed;
  return {
    policy: cfg.policy, notify: cfg.notify, workload: cfg.workload, variant: cfg.variant, guestPages: cfg.guestPages, vcpus: cfg.vcpus,
    dmaOps: 10_000, seconds: 1, opsPerSecond: ops / 10, exits: 20, exitsPer1kDma: 2, pinRequests: 20, mapFailures: 0, pins: 20, unpins: 10,
    pinnedPages: { peak: 32, end: 16 },
    host: { residentPeak: 400, residentEnd: 300, reclaimed: 0, restored: 0, forceUnpins: 0, reclaimablePagesEnd: 80 },
    violations: { dmaToUnpinned: 0, lostPayloads: 0, accounting: 0 },
    latencyUs: { map: p, pinRequest: p, invSubmit: p },
    invalidations: 0, invSubmits: 0, invQueueLockWaits: 0,
    iotlb: { hits: 0, misses: 0, walkReads: 0 },
    protection: { probes: 10, leaks: 10, windowUs: { p50: 5, max: 50 } },
    exitsPerDma: 0.002,
    modeled: { cyclesPerDma: 1234.5, costTable: cfg.costTable, breakdown: { dtt: 120 }, virtualSeconds: 0.5, opsPerSecond: ops, gbps: 9.5, lineRatePercent: 95, latencyUs: { map: { p50: 0.1, p99: 12 } } },
    parallelism: { cores: 2, threads: 4, spinners: 0, oversubscribed: false },
    teardownLeftovers: [],
    config: cfg,
    machine: { loadAverage1m: 0.25, cores: 2 },
  };
}

export const readResults = (dir: string): SweepResults => JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as SweepResults;

/** results.csv as header + rows of cells (the lab writes no quoted commas in these tests). */
export function readCsv(dir: string): { header: string[]; rows: Record<string, string>[] } {
  const lines = readFileSync(join(dir, 'results.csv'), 'utf8').trimEnd().split('\n');
  const header = lines[0].split(',');
  return { header, rows: lines.slice(1).map((l) => Object.fromEntries(l.split(',').map((c, i) => [header[i], c]))) };
}
