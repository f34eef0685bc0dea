// Every recipe on its --quick setting, real runs: each prints its table and writes results.json,
// results.csv (the documented columns) and report.html, with no oracle violation. One point at a
// time: under heavy load two runs starting side by side can miss the orchestrator's 30 s start-up
// bound (seen at load 25 on 2 cores); the pool's parallelism is covered by sweep-merge.test.ts.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { experimentNames } from '../src/lab/experiments/index.js';
import { CSV_COLUMNS } from '../src/lab/sweep/csv.js';
import { cli, readCsv, readResults } from './helpers/sweep.js';

const dir = mkdtempSync(join(tmpdir(), 'viommu-exp-'));

describe('experiment --quick', () => {
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
    });
  }
});
