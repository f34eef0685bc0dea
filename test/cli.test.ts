import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main, type RunScenario } from '../src/cli/main.js';
import type { RunReport } from '../src/core/types.js';
import type { ScenarioConfig } from '../src/lab/scenario.js';

const root = fileURLToPath(new URL('..', import.meta.url));

async function cli(argv: string[], runScenario?: RunScenario) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: (s) => void (stdout += s),
    stderr: (s) => void (stderr += s),
    stderrIsTTY: false,
    runScenario,
  });
  return { code, stdout, stderr };
}

/** A plausible report for a config, without running anything. */
function fakeReport(cfg: ScenarioConfig): RunReport {
  const p = { p50: 0.4, p99: 3.2, max: 40 };
  return {
    policy: cfg.policy,
    notify: cfg.notify,
    workload: cfg.workload,
    variant: cfg.variant,
    guestPages: cfg.guestPages,
    vcpus: cfg.vcpus,
    dmaOps: 1_234_567,
    seconds: 3,
    opsPerSecond: 411_522.3,
    exits: cfg.notify === 'trap' ? 320 : 0,
    exitsPer1kDma: cfg.notify === 'trap' ? 0.26 : 0,
    pinRequests: 320,
    mapFailures: 0,
    pins: 320,
    unpins: 100,
    pinnedPages: { peak: 320, end: 220 },
    host: { residentPeak: 400, residentEnd: 300, reclaimed: 0, restored: 0, forceUnpins: 0, reclaimablePagesEnd: 80 },
    staticPin: cfg.policy === 'static' ? { pages: cfg.guestPages, ms: 812.5, modeledMs: 1000 } : undefined,
    violations: { dmaToUnpinned: 0, lostPayloads: 0, accounting: 0 },
    latencyUs: { map: p, pinRequest: p, invSubmit: p },
    invalidations: 0,
    invSubmits: 0,
    invQueueLockWaits: 0,
    iotlb: { hits: 0, misses: 0, walkReads: 0 },
    protection: { probes: 10, leaks: 10, windowUs: { p50: 5, max: 50 } },
    exitsPerDma: cfg.notify === 'trap' ? 0.00026 : 0,
    modeled: { cyclesPerDma: 1234.5, costTable: cfg.costTable, breakdown: { dtt: 120, pin: 1000 }, virtualSeconds: 0.5, opsPerSecond: 290_000, gbps: 9.5, lineRatePercent: 95, latencyUs: { map: { p50: 0.1, p99: 12 } } },
    parallelism: { cores: 2, threads: 4, spinners: cfg.notify === 'sidecore' ? 3 : 0, oversubscribed: cfg.notify === 'sidecore' },
    teardownLeftovers: [],
    config: cfg,
    // the stand-in's own load figure, so this machine's load never reaches the output
    machine: { loadAverage1m: 0.25, cores: 2 },
  };
}

/** Usage errors: exit 2, one `viommu-lab:` message naming flag and value, a hint, no stack trace. */
async function expectUsageError(argv: string[], ...fragments: string[]) {
  const r = await cli(argv);
  expect(r.code, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/^viommu-lab: /);
  expect(r.stderr).toMatch(/\nsee: viommu-lab( \w+)? --help\n$/);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  for (const f of fragments) expect(r.stderr).toContain(f);
  return r.stderr;
}

describe('usage errors exit 2 and name the flag and the value', () => {
  it('unknown policy', async () => {
    const msg = await expectUsageError(['run', '--policy', 'foo'], '--policy "foo"', 'static, coiommu');
    expect(msg).toBe(
      'viommu-lab: invalid --policy "foo": allowed values are static, coiommu, passthrough, viommu-strict, viommu-lazy, viommu-optimistic, iopf\nsee: viommu-lab run --help\n',
    );
  });
  it('unknown notify path', () => expectUsageError(['run', '--notify', 'irq'], '--notify "irq"', 'trap, sidecore'));
  it('unknown workload', () => expectUsageError(['run', '--workload', 'disk'], '--workload "disk"', 'net'));
  it('negative size', () => expectUsageError(['run', '--guest-mem', '-4k'], '--guest-mem "-4k"'));
  it('non-numeric size', () => expectUsageError(['run', '--guest-mem', 'lots'], '--guest-mem "lots"'));
  it('size not a multiple of 4 KiB', () => expectUsageError(['run', '--guest-mem', '6000'], '--guest-mem "6000"', 'multiple of 4 KiB'));
  it('guest memory above 128 GiB', () =>
    expectUsageError(['run', '--guest-mem', '200GiB'], 'invalid --guest-mem "200GiB": must be a multiple of 4 KiB between 4 KiB and 128 GiB'));
  it('bad host memory', () => expectUsageError(['run', '--host-mem', '-1'], '--host-mem "-1"'));
  it('bad duration', () => expectUsageError(['run', '--duration', '3 weeks'], '--duration "3 weeks"', '500ms'));
  it('duration out of range', () => expectUsageError(['run', '--duration', '25h'], '--duration "25h"', '24 h'));
  it('bad exit delay', () => expectUsageError(['run', '--exit-delay', 'soon'], '--exit-delay "soon"'));
  it('non-numeric count', () => expectUsageError(['run', '--vcpus', 'two'], '--vcpus "two"', 'between 1 and 8'));
  it('count out of range', () => expectUsageError(['run', '--queue-depth', '0'], '--queue-depth "0"', 'between 1 and 1024'));
  it('batch larger than the queue', () => expectUsageError(['run', '--batch', '128'], '--batch "128"', '--queue-depth (64)'));
  it('buffer pool larger than guest memory', async () => {
    const msg = await expectUsageError(['run', '--guest-mem', '1MiB'], '--guest-mem "1MiB"', '320 guest pages');
    expect(msg).toContain('--reuse-distance');
  });
  it('unknown flag', () => expectUsageError(['run', '--polcy', 'static'], "unknown option '--polcy'"));
  it('unknown command', () => expectUsageError(['frobnicate'], "unknown command 'frobnicate'"));
  it('missing option argument', () => expectUsageError(['run', '--seed'], '--seed'));
  it('excess arguments', () => expectUsageError(['run', 'static'], 'too many arguments'));
  it('bad --cost key', async () => {
    const msg = await expectUsageError(['run', '--cost', 'exitCost=5'], '--cost "exitCost=5"', 'exitCycles');
    expect(msg).toContain('trapRequestCycles');
  });
  it('bad --cost value', () => expectUsageError(['run', '--cost', 'exitCycles=lots'], '--cost "exitCycles=lots"'));
  it('negative --cost value', () => expectUsageError(['run', '--cost', 'exitCycles=-1'], '--cost "exitCycles=-1"', '>= 0'));
  it('bad --inject-crash role', () =>
    expectUsageError(['run', '--inject-crash', 'nic@300ms'], '--inject-crash "nic@300ms"', 'guest, hypervisor, sidecore, device'));
  it('bad --inject-crash format', () => expectUsageError(['run', '--inject-crash', 'device'], '--inject-crash "device"'));
  it('--inject-hang after the run ends', () =>
    expectUsageError(['run', '--inject-hang', 'device@10s'], '--inject-hang "device@10s"', 'before the run ends'));
  it('--inject-crash on a role the scenario lacks', () =>
    expectUsageError(['run', '--notify', 'trap', '--inject-crash', 'sidecore@1s'], '--inject-crash "sidecore@1s"', 'no sidecore'));
  it('unknown variant', () => expectUsageError(['run', '--variant', 'racy'], '--variant "racy"', 'no-pin-lock'));
  it('bad --policies pair', () =>
    expectUsageError(['compare', '--policies', 'static/trap,coiommu/irq'], '--policies "coiommu/irq"', 'see: viommu-lab compare --help'));
  it('compare shares the scenario options', () => expectUsageError(['compare', '--vcpus', '9'], '--vcpus "9"'));
  it('IOTLB sets not a power of two', () =>
    expectUsageError(['run', '--iotlb-entries', '48', '--iotlb-ways', '4'], '--iotlb-ways "4"', '--iotlb-entries / --iotlb-ways sets', 'power of two'));
  it('IOTLB ways above the entries', () => expectUsageError(['run', '--iotlb-entries', '4', '--iotlb-ways', '8'], 'power of two'));
  it('IOTLB size zero', () => expectUsageError(['run', '--iotlb-entries', '0'], '--iotlb-entries "0"', 'between 1 and 65536'));
  it('IOTLB ways not a number', () => expectUsageError(['run', '--iotlb-ways', 'many'], '--iotlb-ways "many"', 'integer'));
  it('queue entries not a power of two', () => expectUsageError(['run', '--queue-entries', '100'], '--queue-entries "100"', 'power of two'));
  it('flush queue size zero', () => expectUsageError(['run', '--flush-queue', '0'], '--flush-queue "0"', 'between 1 and 65536'));
  it('flush timeout not a duration', () => expectUsageError(['run', '--flush-timeout', 'soon'], '--flush-timeout "soon"'));
  it('flush timeout zero', () => expectUsageError(['run', '--flush-timeout', '0ms'], '--flush-timeout "0ms"', '> 0 ms'));
  it('optimistic time limit too long', () =>
    expectUsageError(['run', '--optimistic-timeout', '2m'], '--optimistic-timeout "2m"', '60000 ms'));
  it('optimistic quota negative', () => expectUsageError(['run', '--optimistic-quota', '-1'], '--optimistic-quota "-1"', 'between 1 and 65536'));
  it('unknown probe mode', () => expectUsageError(['run', '--probe', 'all'], '--probe "all"', 'allowed values are off, unmapped'));

  it('config file errors name the file and the JSON path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'viommu-lab-cli-'));
    const file = join(dir, 'x.json');
    writeFileSync(file, JSON.stringify({ coiommu: { unpinIntervalMs: 0 } }));
    await expectUsageError(['run', '--config', file], `invalid coiommu.unpinIntervalMs "0" in config file ${file}`);
    await expectUsageError(['run', '--config', join(dir, 'none.json')], '--config', 'file not found');
    // A flag overrides the file, and errors about file values that flags did not touch name the file.
    writeFileSync(file, JSON.stringify({ net: { queueDepth: 8 } }));
    await expectUsageError(['run', '--config', file, '--batch', '32'], '--batch "32"', `net.queueDepth (8)`);
  });
});

describe('help', () => {
  it('is printed when no command is given', async () => {
    const r = await cli([]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: viommu-lab');
    expect(r.stdout).toContain('compare');
  });

  it.each(['run', 'compare'])('%s --help teaches policies, notify paths, units and examples', async (cmd) => {
    const r = await cli([cmd, '--help']);
    expect(r.code).toBe(0);
    const teach = ['static', 'coiommu', 'passthrough', 'viommu-strict', 'viommu-lazy', 'viommu-optimistic', 'Linux forces strict mode'];
    for (const s of [...teach, 'trap', 'sidecore', '4KiB', '500ms', 'Examples:', `viommu-lab ${cmd} `, '--iotlb-ways', '--probe']) {
      expect(r.stdout).toContain(s);
    }
    expect(r.stdout).not.toContain('--variant');
  });
});

describe('runs (with a stand-in orchestrator)', () => {
  it('run --json prints exactly one JSON report', async () => {
    const seen: ScenarioConfig[] = [];
    const r = await cli(['run', '--json', '--policy', 'static', '--guest-mem', '64MiB', '--exit-delay', '5us', '--cost', 'exitCycles=1500'], async (cfg) => {
      seen.push(cfg);
      return fakeReport(cfg);
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout) as RunReport;
    expect(report.policy).toBe('static');
    expect(seen[0].guestPages).toBe(16_384);
    expect(seen[0].notifyPath.exitDelayUs).toBe(5);
    expect(seen[0].costTable.exitCycles).toBe(1500);
  });

  it('run prints a grouped report', async () => {
    const r = await cli(['run', '--no-progress'], async (cfg) => fakeReport(cfg));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/throughput:\n\s+DMA ops:\s+1,234,567/);
    expect(r.stdout).toContain('oversubscribed');
  });

  it('compare runs the default pairs (every policy) on the same base and prints the table', async () => {
    const seen: string[] = [];
    const r = await cli(['compare', '--duration', '1s', '--vcpus', '2'], async (cfg) => {
      seen.push(`${cfg.policy}/${cfg.notify}/${cfg.durationMs}/${cfg.vcpus}`);
      return fakeReport(cfg);
    });
    expect(r.code, r.stderr).toBe(0);
    expect(seen).toEqual([
      'static/trap/1000/2',
      'passthrough/trap/1000/2',
      'coiommu/trap/1000/2',
      'coiommu/sidecore/1000/2',
      'viommu-strict/trap/1000/2',
      'viommu-strict/sidecore/1000/2',
      'viommu-lazy/trap/1000/2',
      'viommu-lazy/sidecore/1000/2',
      'viommu-optimistic/trap/1000/2',
      'viommu-optimistic/sidecore/1000/2',
      'iopf/trap/1000/2',
      'iopf/sidecore/1000/2',
    ]);
    expect(r.stdout).toMatch(/^policy\s+notify\s+DMA ops\/s/);
    expect(r.stdout).toContain('411,522');
    expect(r.stdout).toContain('WARNING: coiommu/sidecore was oversubscribed');
    expect(r.stdout).toContain('static pin:');
    expect(r.stdout).toContain('exitCycles 2,000');
    expect(r.stdout).toContain('leaks/probes');
    expect(r.stdout).toContain('Linux forces strict');
  });

  it('compare runs 2 s per scenario unless --duration says otherwise', async () => {
    const seen: number[] = [];
    const r = await cli(['compare', '--policies', 'viommu-lazy/sidecore'], async (cfg) => {
      seen.push(cfg.durationMs);
      return fakeReport(cfg);
    });
    expect(r.code, r.stderr).toBe(0);
    expect(seen).toEqual([2000]);
  });

  it('new vIOMMU flags reach the scenario', async () => {
    const seen: ScenarioConfig[] = [];
    const argv = ['run', '--json', '--policy', 'viommu-optimistic', '--iotlb-entries', '128', '--iotlb-ways', '8', '--queue-entries', '64'];
    argv.push('--flush-queue', '32', '--flush-timeout', '5ms', '--optimistic-timeout', '3ms', '--optimistic-quota', '16', '--probe', 'off');
    const r = await cli(argv, async (cfg) => {
      seen.push(cfg);
      return fakeReport(cfg);
    });
    expect(r.code, r.stderr).toBe(0);
    expect(seen[0].viommu).toEqual({
      queueEntries: 64,
      iotlbEntries: 128,
      iotlbWays: 8,
      flushQueueEntries: 32,
      flushTimeoutMs: 5,
      optimisticTimeoutMs: 3,
      optimisticQuota: 16,
    });
    expect(seen[0].protection.probe).toBe('off');
    const report = JSON.parse(r.stdout) as Record<string, unknown>;
    for (const k of ['invalidations', 'iotlb', 'protection', 'exitsPerDma']) expect(report).toHaveProperty(k);
  });

  it('compare --policies --json prints an array', async () => {
    const r = await cli(['compare', '--json', '--policies', 'coiommu/trap,coiommu/sidecore'], async (cfg) => fakeReport(cfg));
    expect(r.code).toBe(0);
    const reports = JSON.parse(r.stdout) as RunReport[];
    expect(reports.map((x) => x.notify)).toEqual(['trap', 'sidecore']);
  });

  it('a run failure exits 1 with the message and no stack', async () => {
    const r = await cli(['run'], async () => {
      throw new Error('device worker crashed: boom');
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('viommu-lab: run failed: device worker crashed: boom\n');
  });

  it('a failed run --json still prints one JSON object, with the error', async () => {
    const r = await cli(['run', '--json', '--policy', 'coiommu'], async () => {
      throw new Error('watchdog: sidecore made no progress');
    });
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as { error: string; policy: string };
    expect(out.error).toContain('watchdog: sidecore');
    expect(out.policy).toBe('coiommu');
  });

  it('compare keeps and prints the runs that finished before one failed, and marks the failed row', async () => {
    const r = await cli(['compare', '--policies', 'static/trap,coiommu/trap,coiommu/sidecore'], async (cfg) => {
      if (cfg.policy === 'coiommu' && cfg.notify === 'trap') throw new Error('guest vCPU 0 crashed');
      return fakeReport(cfg);
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^static\s+-\s+411,522/m);
    expect(r.stdout).toMatch(/^coiommu\s+trap\s+FAILED/m);
    expect(r.stdout).not.toMatch(/coiommu\s+sidecore/);
    expect(r.stderr).toContain('coiommu/trap: guest vCPU 0 crashed');
  });

  it('refuses a notify path the policy does not have', async () => {
    await expectUsageError(['compare', '--policies', 'static/sidecore'], '--policies "static/sidecore"', 'static runs on trap only');
    await expectUsageError(['run', '--policy', 'passthrough', '--notify', 'sidecore'], '--notify "sidecore"', 'trap only');
    // without --notify, a policy that sends the host nothing simply runs on its own path
    const seen: string[] = [];
    const r = await cli(['run', '--policy', 'static', '--json'], async (cfg) => (seen.push(cfg.notify), fakeReport(cfg)));
    expect(r.code).toBe(0);
    expect(seen).toEqual(['trap']);
  });

  it('prints - for figures that do not apply to the policy', async () => {
    const r = await cli(['run', '--policy', 'viommu-strict', '--notify', 'trap'], async (cfg) => fakeReport(cfg));
    expect(r.stdout).toMatch(/pin request:\s+-\n/);
    expect(r.stdout).toMatch(/pin requests:\s+-\n/);
    const c = await cli(['run', '--policy', 'coiommu', '--notify', 'trap'], async (cfg) => fakeReport(cfg));
    expect(c.stdout).toMatch(/inval submit:\s+-\n/);
  });
});

describe('trials (with a stand-in orchestrator)', () => {
  /** A stand-in whose DMA ops/s per policy are `ops[policy]` plus a small wobble per call, which records the order. */
  function standIn(ops: Record<string, number>, machine = { loadAverage1m: 0.5, cores: 2 }) {
    const seen: string[] = [];
    let n = 0;
    const run: RunScenario = async (cfg) => {
      seen.push(`${cfg.policy}/${cfg.notify}`);
      const r = fakeReport(cfg);
      const wobble = [0, 1, -1, 2, -2][n++ % 5] * 500;
      return { ...r, opsPerSecond: ops[cfg.policy] + wobble, machine };
    };
    return { run, seen };
  }
  const pairs = ['--policies', 'static/trap,coiommu/trap,coiommu/sidecore'];

  it('runs every configuration --trials times, interleaved, never twice in a row, the same order for the same seed', async () => {
    const ops = { static: 400_000, coiommu: 300_000 };
    const a = standIn(ops);
    expect((await cli(['compare', ...pairs, '--trials', '3', '--seed', '5'], a.run)).code).toBe(0);
    expect(a.seen).toHaveLength(9);
    for (const p of ['static/trap', 'coiommu/trap', 'coiommu/sidecore']) expect(a.seen.filter((x) => x === p)).toHaveLength(3);
    for (let i = 1; i < a.seen.length; i++) expect(a.seen[i]).not.toBe(a.seen[i - 1]);
    const b = standIn(ops);
    await cli(['compare', ...pairs, '--trials', '3', '--seed', '5'], b.run);
    expect(b.seen).toEqual(a.seen);
  });

  it('compare --trials runs 0.5 s per scenario unless --duration says otherwise', async () => {
    const seen: number[] = [];
    const run: RunScenario = async (cfg) => (seen.push(cfg.durationMs), fakeReport(cfg));
    expect((await cli(['compare', '--policies', 'static/trap', '--trials', '2'], run)).code).toBe(0);
    expect((await cli(['compare', '--policies', 'static/trap', '--trials', '2', '--duration', '3s'], run)).code).toBe(0);
    expect(seen).toEqual([500, 500, 3000, 3000]);
    const help = await cli(['compare', '--help']);
    expect(help.stdout).toContain('--trials <n>');
    expect(help.stdout).toContain('0.5s with --trials');
  });

  it('--json: each report has trials, ci95.*.{median,lo,hi} and trialReports', async () => {
    const { run } = standIn({ static: 400_000, coiommu: 300_000 });
    const r = await cli(['compare', ...pairs, '--trials', '3', '--json'], run);
    expect(r.code, r.stderr).toBe(0);
    const reports = JSON.parse(r.stdout) as RunReport[];
    expect(reports.map((x) => `${x.policy}/${x.notify}`)).toEqual(['static/trap', 'coiommu/trap', 'coiommu/sidecore']);
    for (const x of reports) {
      expect(x.trials).toBe(3);
      expect(x.trialReports).toHaveLength(3);
      for (const k of ['opsPerSecond', 'exitsPerDma', 'mapP50Us'] as const) {
        const ci = x.ci95![k];
        expect(Object.keys(ci).sort()).toEqual(['hi', 'lo', 'median']);
        expect(ci.lo).toBeLessThanOrEqual(ci.median);
        expect(ci.hi).toBeGreaterThanOrEqual(ci.median);
      }
      expect(x.ci95!.opsPerSecond.median).toBe(x.opsPerSecond); // a copy of the median trial
      expect(x.machine).toEqual({ loadAverage1m: 0.5, cores: 2 });
    }
    const one = await cli(['run', '--json', '--trials', '3'], run);
    const report = JSON.parse(one.stdout) as RunReport;
    expect(report.trials).toBe(3);
    expect(report.trialReports).toHaveLength(3);
  });

  it('says "within noise" for overlapping intervals and not for clearly separated ones', async () => {
    const close = await cli(['compare', ...pairs, '--trials', '3'], standIn({ static: 400_000, coiommu: 400_200 }).run);
    expect(close.code, close.stderr).toBe(0);
    expect(close.stdout).toContain('within noise: static/trap vs coiommu/trap, coiommu/sidecore');
    expect(close.stdout).toMatch(/trials:\s+3 per configuration, interleaved in a shuffled order \(seed 1\)/);
    expect(close.stdout).toMatch(/^static\s+-\s+[\d,]+ ±[\d,]+/m);
    const apart = await cli(['compare', '--policies', 'static/trap,coiommu/trap', '--trials', '3'], standIn({ static: 400_000, coiommu: 200_000 }).run);
    expect(apart.stdout).not.toContain('within noise');
    expect(apart.stdout).toContain('no two DMA ops/s intervals overlap');
  });

  it('one trial prints no ±, no trials line', async () => {
    const { run } = standIn({ static: 400_000, coiommu: 300_000 });
    for (const argv of [['compare', ...pairs], ['compare', ...pairs, '--trials', '1'], ['run'], ['run', '--trials', '1']]) {
      const r = await cli(argv, run);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).not.toContain('±');
      expect(r.stdout).not.toContain('trials:');
    }
  });

  it('run --trials prints medians with ± and every trial', async () => {
    const r = await cli(['run', '--trials', '3'], standIn({ coiommu: 300_000 }).run);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/DMA ops\/s:\s+300,000 ±500\n/);
    expect(r.stdout).toMatch(/per trial:\s+300,000, 300,500, 299,500 DMA ops\/s/);
    expect(r.stdout).toMatch(/trials:\s+3;/);
  });

  it('warns in the table and on stderr when the load average was above the cores', async () => {
    const busy = standIn({ static: 400_000, coiommu: 300_000 }, { loadAverage1m: 3.5, cores: 2 });
    const c = await cli(['compare', ...pairs, '--trials', '2'], busy.run);
    expect(c.code).toBe(0);
    expect(c.stdout).toContain('WARNING: the 1-minute load average was 3.50 when the command started, above the 2 cores');
    expect(c.stderr).toContain('viommu-lab: warning: the 1-minute load average was 3.50 when the command started');
    const r = await cli(['run'], busy.run);
    expect(r.stdout).toMatch(/load:\s+1-minute load average 3.50 on 2 cores at the start\n/);
    expect(r.stdout).toContain('WARNING: the 1-minute load average was 3.50 when the command started, above the 2 cores');
    const calm = await cli(['compare', ...pairs, '--trials', '2'], standIn({ static: 400_000, coiommu: 300_000 }).run);
    expect(calm.stdout).not.toContain('load average');
    expect(calm.stderr).toBe('');
  });

  it('a failed trial keeps the finished ones: compare prints them and a FAILED row, run --json an object with error', async () => {
    let calls = 0;
    const failing: RunScenario = async (cfg) => {
      if (cfg.policy === 'coiommu' && cfg.notify === 'trap' && ++calls === 2) throw new Error('guest vCPU 0 crashed');
      return fakeReport(cfg);
    };
    const c = await cli(['compare', ...pairs, '--trials', '3', '--seed', '2'], failing);
    expect(c.code).toBe(1);
    expect(c.stdout).toMatch(/^coiommu\s+trap\s+FAILED/m);
    expect(c.stdout).toMatch(/^static\s+-\s+411,522/m);
    expect(c.stderr).toContain('coiommu/trap trial 2/3: guest vCPU 0 crashed');
    calls = 0;
    const j = await cli(['compare', ...pairs, '--trials', '3', '--seed', '2', '--json'], failing);
    const arr = JSON.parse(j.stdout) as Record<string, unknown>[];
    const last = arr[arr.length - 1] as { error: string; trialReports: RunReport[] };
    expect(last.error).toContain('trial 2/3');
    expect(last.trialReports).toHaveLength(1);
    calls = 0;
    const r = await cli(['run', '--policy', 'coiommu', '--notify', 'trap', '--trials', '3', '--json'], failing);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as { error: string; trialReports: RunReport[] };
    expect(out.error).toBe('coiommu/trap trial 2/3: guest vCPU 0 crashed');
    expect(out.trialReports).toHaveLength(1);
  });

  it('refuses a bad --trials', async () => {
    await expectUsageError(['compare', '--trials', '0'], '--trials "0"', 'between 1 and 100');
    await expectUsageError(['run', '--trials', 'three'], '--trials "three"');
    await expectUsageError(['run', '--trials', '1.5'], '--trials "1.5"');
  });
});

describe('version and benchmarks', () => {
  it('--version prints the package version', async () => {
    const r = await cli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('bench --list names the benchmarks', async () => {
    const r = await cli(['bench', '--list']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('net-dma');
  });
});

describe('the bin launcher', () => {
  it('exits 2 with the message for a bad policy', () => {
    // Without a build (dist/ absent) this goes through tsx; with one, through the compiled CLI.
    const r = spawnSync(process.execPath, [join(root, 'bin/viommu-lab.js'), 'run', '--policy', 'nope'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('viommu-lab: invalid --policy "nope": allowed values are static, coiommu');
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('a failed run exits as soon as the failure is known, not when --duration is over', () => {
    const args = ['run', '--policy', 'coiommu', '--notify', 'trap', '--guest-mem', '16MiB', '--duration', '10m', '--inject-crash', 'device@300ms', '--json'];
    const r = spawnSync(process.execPath, [join(root, 'bin/viommu-lab.js'), ...args], { cwd: root, encoding: 'utf8', timeout: 45_000 });
    expect(r.signal, 'still running after 45 s of a 10 min run').toBeNull();
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout).error).toMatch(/device.*injected crash/);
  });

  it('stops quietly when its reader goes away (| head)', () => {
    const r = spawnSync('bash', ['-c', `node ${join(root, 'bin/viommu-lab.js')} run --help | head -1`], { cwd: root, encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(0);
    expect(r.stderr).not.toMatch(/EPIPE|Error/);
    expect(r.stdout).toContain('Usage: viommu-lab run');
  });
});
