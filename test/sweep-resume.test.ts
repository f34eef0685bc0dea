// The sweep's bookkeeping with a stand-in runner (no workers): the plan, bad input, a failed point
// and an interruption keep the finished points on disk, and --resume runs only the rest.
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ScenarioConfig } from '../src/lab/scenario.js';
import { CSV_COLUMNS } from '../src/lab/sweep/csv.js';
import { cli, fakeReport, readCsv, readResults } from './helpers/sweep.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'viommu-sweep-'));
const BASE = ['sweep', '--policies', 'coiommu/trap,static/trap', '--vary', 'reuse-distance=16,64,256', '--trials', '2', '--threads', '2'];
const pointsOnDisk = (dir: string) => readdirSync(join(dir, 'points')).filter((f) => f.endsWith('.json')).length;

describe('sweep (stand-in runs)', () => {
  it('runs pairs x values x trials, writes the three files, and the CSV has the documented columns', async () => {
    const out = tmp();
    const seen: ScenarioConfig[] = [];
    const r = await cli([...BASE, '--vary', 'vcpus=1,2', '--out', out], async (cfg) => (seen.push(cfg), fakeReport(cfg)));
    expect(r.code, r.stderr).toBe(0);
    expect(seen).toHaveLength(2 * 3 * 2 * 2);
    for (const f of ['results.json', 'results.csv', 'report.html', 'sweep.json']) expect(existsSync(join(out, f))).toBe(true);
    const res = readResults(out);
    expect(res.complete).toBe(true);
    expect(res.groups).toHaveLength(12);
    expect(res.manifest.command).toBe(`viommu-lab ${[...BASE, '--vary', 'vcpus=1,2', '--out', out].join(' ')}`);
    expect(res.groups.every((g) => g.trials === 2)).toBe(true);
    // trial k runs with seed + k: the two trials differ, so the interval is not a point
    expect(new Set(seen.map((c) => c.seed))).toEqual(new Set([1, 2]));
    const csv = readCsv(out);
    expect(csv.header).toEqual(CSV_COLUMNS.map((c) => c.name));
    expect(csv.rows).toHaveLength(24);
    const row = csv.rows.find((x) => x.pair === 'coiommu/trap' && x.value1 === '64' && x.value2 === '2' && x.trial === '1')!;
    expect(row.vary1).toBe('reuse-distance');
    expect(Number(row.modeled_ops_per_second)).toBe(1000 * 65 * 2 + 2);
    expect(r.stdout).toContain('reuse-distance');
  });

  it('rejects bad input with exit 2, naming the field', async () => {
    const cases: [string[], string][] = [
      [['sweep', '--vary', 'nope=1,2', '--out', tmp()], 'unknown setting "nope"'],
      [['sweep', '--vary', 'vcpus=1', '--vary', 'seed=1', '--vary', 'ops=1', '--out', tmp()], 'at most two'],
      [['sweep', '--vary', 'vcpus', '--out', tmp()], 'KEY=v1,v2'],
      [['sweep', '--vary', 'vcpus=1,2'], 'missing --out'],
      [['sweep', '--vary', 'vcpus=1,,2', '--out', tmp()], 'distinct, non-empty'],
      [['sweep', '--vary', 'vcpus=1,999', '--out', tmp()], '--vcpus'],
      [['sweep', '--shard', '2/2', '--out', tmp()], '--shard'],
      [['sweep', '--threads', '0', '--out', tmp()], '--threads'],
      [['experiment', 'fands', '--out', tmp()], 'issue 11'],
      [['experiment', 'line-rate', '--trace', 'examples/recorded-storage-coiommu.trace', '--out', tmp()], 'only locality'],
      [['experiment', 'locality', '--trace', 'no-such.trace', '--out', tmp()], 'readable trace file'],
      [['experiment', 'nope', '--out', tmp()], 'line-rate'],
    ];
    for (const [argv, text] of cases) {
      const r = await cli(argv, async (cfg) => fakeReport(cfg));
      expect(r.code, `${argv.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(text);
    }
  });

  it('a failed point stops the sweep with every finished point on disk; --resume runs only the rest', async () => {
    const out = tmp();
    let calls = 0;
    const failing = await cli([...BASE, '--threads', '1', '--out', out], async (cfg) => {
      if (++calls === 5) throw new Error('planted failure');
      return fakeReport(cfg);
    });
    expect(failing.code).toBe(1);
    expect(failing.stderr).toContain('planted failure');
    expect(readResults(out).complete).toBe(false);
    expect(readResults(out).failed?.error).toBe('planted failure');
    const finished = readResults(out).points.filter((p) => p.report).length;
    expect(finished).toBe(4);
    const again = await cli([...BASE, '--out', out], async (cfg) => fakeReport(cfg));
    expect(again.code, again.stderr).toBe(2); // the folder holds a sweep: --resume or another folder
    let resumed = 0;
    const ok = await cli([...BASE, '--resume', '--out', out], async (cfg) => (resumed++, fakeReport(cfg)));
    expect(ok.code, ok.stderr).toBe(0);
    expect(resumed).toBe(12 - 4);
    expect(readResults(out).complete).toBe(true);
    // a resume of a different sweep is refused
    const other = await cli([...BASE.slice(0, -4), '--trials', '3', '--resume', '--out', out], async (cfg) => fakeReport(cfg));
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('different sweep');
  });

  it('SIGINT stops it: finished points stay, exit 130, --resume completes it', async () => {
    const out = tmp();
    let calls = 0;
    const r = await cli([...BASE, '--threads', '1', '--out', out], async (cfg) => {
      if (++calls === 3) process.emit('SIGINT');
      return fakeReport(cfg);
    });
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('--resume');
    expect(pointsOnDisk(out)).toBe(3);
    expect(readResults(out).missing).toHaveLength(9);
    const ok = await cli([...BASE, '--resume', '--out', out], async (cfg) => fakeReport(cfg));
    expect(ok.code, ok.stderr).toBe(0);
    expect(readResults(out).points).toHaveLength(12);
  });

  it('shards: each runs its share, merge refuses a duplicate or missing shard and gives the whole plan', async () => {
    const dir = tmp();
    const ran: number[][] = [[], [], []];
    for (const i of [0, 1, 2]) {
      const r = await cli([...BASE, '--shard', `${i}/3`, '--out', join(dir, `s${i}`)], async (cfg) => (ran[i].push(cfg.seed), fakeReport(cfg)));
      expect(r.code, r.stderr).toBe(0);
    }
    expect(ran.map((x) => x.length)).toEqual([4, 4, 4]);
    const idx = [0, 1, 2].map((i) => readResults(join(dir, `s${i}`)).points.map((p) => p.index));
    expect(idx.flat().sort((a, b) => a - b)).toEqual([...Array(12).keys()]);
    const dup = await cli(['merge', join(dir, 's0'), join(dir, 's1'), join(dir, 's1'), '--out', join(dir, 'm')]);
    expect(dup.code).toBe(2);
    expect(dup.stderr).toContain('is shard 1/3 again');
    const missing = await cli(['merge', join(dir, 's2'), join(dir, 's0'), '--out', join(dir, 'm')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('miss shard(s) 1/3');
    const ok = await cli(['merge', join(dir, 's2'), join(dir, 's0'), join(dir, 's1'), '--out', join(dir, 'm')]);
    expect(ok.code, ok.stderr).toBe(0);
    const merged = readResults(join(dir, 'm'));
    expect(merged.points.map((p) => p.index)).toEqual([...Array(12).keys()]);
    expect(merged.groups).toHaveLength(6);
    expect(readCsv(join(dir, 'm')).rows).toHaveLength(12);
  });

  it('wall-clock points run one at a time unless --parallel-wall; virtual-clock points side by side', async () => {
    const peak = async (extra: string[]) => {
      let now = 0;
      let most = 0;
      const r = await cli(['sweep', '--policies', 'coiommu/trap', '--vary', 'reuse-distance=1,2,3,4', '--threads', '2', '--out', tmp(), ...extra], async (cfg) => {
        most = Math.max(most, ++now);
        await new Promise((ok) => setTimeout(ok, 30));
        now--;
        return fakeReport(cfg);
      });
      expect(r.code, r.stderr).toBe(0);
      return { most };
    };
    expect((await peak([])).most).toBe(2);
    expect((await peak(['--clock', 'wall'])).most).toBe(1);
    expect((await peak(['--clock', 'wall', '--parallel-wall'])).most).toBe(2);
  });
});
