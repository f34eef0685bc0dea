// A short soak through the command line: four combinations under random fault plans, every
// invariant held, a JUnit test case per combination, the series as CSV.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';

describe('soak', () => {
  it('20 s over four combinations: no violation, nothing lost, every plan injected, JUnit and CSV written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'soak-'));
    const xml = join(dir, 'soak.xml');
    const csv = join(dir, 'series.csv');
    let stdout = '';
    let stderr = '';
    const only = 'coiommu/trap,coiommu/sidecore,viommu-strict/trap,viommu-lazy/sidecore';
    const args = ['soak', '--duration', '20s', '--seed', '7', '--only', only, '--guest-mem', '64MiB', '--junit', xml, '--series', csv, '--json'];
    const code = await main(args, { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s), stderrIsTTY: false });
    expect(stderr).not.toContain('failed');
    expect(code).toBe(0);
    const r = JSON.parse(stdout) as { combos: { combo: string; injected: number; survived: number; violations: number; lostPayloads: number; dmaOps: number; plan: string[] }[] };
    expect(r.combos.map((c) => c.combo)).toEqual(only.split(',').map((c) => `${c}/net`));
    for (const c of r.combos) {
      expect(c.violations).toBe(0);
      expect(c.lostPayloads).toBe(0);
      expect(c.dmaOps).toBeGreaterThan(0);
      expect(c.injected).toBeGreaterThan(0);
      expect(c.survived).toBe(c.injected);
    }
    const junit = readFileSync(xml, 'utf8');
    expect(junit.match(/<testcase /g)).toHaveLength(4);
    expect(junit).not.toContain('<failure');
    const rows = readFileSync(csv, 'utf8').trim().split('\n');
    expect(rows[0]).toBe('seconds,combination,dma_per_s,rss_mb,pinned,resident,faults,violations');
    expect(rows.length).toBeGreaterThan(8);
  });
});
