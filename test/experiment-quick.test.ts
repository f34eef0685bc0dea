// Every recipe on its --quick setting, real runs: each prints its table and writes results.json,
// results.csv (the documented columns) and report.html, with no oracle violation; the recipes whose
// figures have a known shape are held to it. One point at a time: under heavy load two runs
// starting side by side can miss the orchestrator's 30 s start-up bound (seen at load 25 on 2
// cores); the pool's parallelism is covered by sweep-merge.test.ts.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recipeConfig } from '../src/lab/experiments/experiment.js';
import { experimentNames } from '../src/lab/experiments/index.js';
import { CSV_COLUMNS } from '../src/lab/sweep/csv.js';
import type { SweepResults } from '../src/lab/sweep/results.js';
import { cli, readCsv, readResults } from './helpers/sweep.js';

const dir = mkdtempSync(join(tmpdir(), 'viommu-exp-'));

type Csv = ReturnType<typeof readCsv>;
const median = (r: SweepResults, key: string, pair: string, vary: Record<string, string> = {}) =>
  r.groups.find((g) => g.pair === pair && Object.entries(vary).every(([k, v]) => g.vary[k] === v))?.figures[key]?.median;

/** What each recipe's figures must look like, beyond the files. */
const SHAPE: Record<string, (r: SweepResults, csv: Csv) => void> = {
  overcommit: (r, csv) => {
    // every balloon fired mid-run: static pinning keeps everything, the others give back nearly all
    for (const row of csv.rows) expect(row.reclaimable_percent, row.pair).not.toBe('');
    for (const p of ['static/trap']) expect(median(r, 'reclaimablePct', p), p).toBe(0);
    for (const p of ['coiommu/trap', 'iopf/trap', 'viommu-strict/trap']) expect(median(r, 'reclaimablePct', p), p).toBeGreaterThan(95);
    expect(median(r, 'balloonRefused', 'iopf/trap')).toBe(0); // iopf shoots the translation down and lets go of every page
    expect(median(r, 'balloonReleased', 'coiommu/trap')).toBeGreaterThan(0);
  },
  locality: (r, csv) => {
    for (const row of csv.rows) expect(Number(row.distinct_pages), row.value1).toBeGreaterThan(0);
    // net reuses a buffer after --reuse-distance (256) others and its queue (64): every reuse is in [256, 512)
    const net = r.points.find((p) => p.vary.workload === 'net')!.report!.locality!;
    expect(net.reuseDistanceMaps.filter((b) => b.count > 0).map((b) => b.from)).toEqual([256]);
    // zipf picks popular blocks again sooner than uniform
    expect(median(r, 'reusedWithin64Pct', 'coiommu/trap', { workload: 'storage-zipf:1.2' })!).toBeGreaterThan(median(r, 'reusedWithin64Pct', 'coiommu/trap', { workload: 'storage-uniform' })!);
  },
  footprint: (r) => {
    for (const w of ['net', 'storage']) {
      expect(median(r, 'pinnedPeakPct', 'static/trap', { 'guest-mem': '64MiB', workload: w }), w).toBe(100);
      expect(median(r, 'pinnedEndPct', 'coiommu/trap', { 'guest-mem': '64MiB', workload: w }), w).toBe(0);
    }
    // storage's requests touch its whole page cache; net reuses a small pool
    expect(median(r, 'pinnedPeakPct', 'coiommu/trap', { 'guest-mem': '64MiB', workload: 'storage' })!).toBeGreaterThan(median(r, 'pinnedPeakPct', 'coiommu/trap', { 'guest-mem': '64MiB', workload: 'net' })!);
  },
};

describe('experiment --quick', () => {
  it("a recipe's pair keeps its third part (the policy's pair setting)", () => {
    const cfg = recipeConfig({ workload: 'net' }, 'viommu-strict/bare/fands', [], 0) as unknown as { viommu: { invalidation: string }; notify: string };
    expect(cfg.notify).toBe('bare');
    expect(cfg.viommu.invalidation).toBe('fands');
  });

  for (const name of experimentNames()) {
    it(name, async () => {
      const out = join(dir, name);
      const r = await cli(['experiment', name, '--quick', '--threads', '1', '--no-progress', '--out', out]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(name);
      for (const f of ['results.json', 'results.csv', 'report.html']) expect(existsSync(join(out, f)), f).toBe(true);
      const res = readResults(out);
      expect(res.complete).toBe(true);
      expect(res.manifest.experiment).toBe(name);
      const csv = readCsv(out);
      expect(csv.header).toEqual(CSV_COLUMNS.map((c) => c.name));
      expect(csv.rows).toHaveLength(res.manifest.planPoints);
      for (const row of csv.rows) {
        expect(row.error).toBe('');
        expect(Number(row.violations)).toBe(0);
        expect(Number(row.dma_ops)).toBeGreaterThan(0);
      }
      SHAPE[name]?.(res, csv);
    });
  }
});
