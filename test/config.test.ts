import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  DEFAULT_COST_TABLE,
  defaultScenario,
  loadConfigFile,
  resolveScenario,
  type PartialScenario,
} from '../src/lab/config.js';
import { scenarioSchema } from '../src/lab/scenario.js';

/** The ConfigError a call throws (fails the test if it does not throw one). */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

const bad = (partial: unknown) => configError(() => resolveScenario(partial as PartialScenario));

describe('defaults', () => {
  it('are valid and match the design', () => {
    const d = defaultScenario();
    expect(scenarioSchema().safeParse(d).success).toBe(true);
    expect(resolveScenario({})).toEqual(d);
    expect(d.guestPages * 4096).toBe(2 ** 30);
    expect(d.costTable).toEqual(DEFAULT_COST_TABLE);
    expect(DEFAULT_COST_TABLE.exitCycles + DEFAULT_COST_TABLE.trapRequestCycles).toBe(34_969 - 6_909);
    expect(DEFAULT_COST_TABLE.sidecoreRequestCycles).toBe(9_225 - 6_909);
  });

  it('hands out independent copies', () => {
    const a = defaultScenario();
    a.net.queueDepth = 1;
    a.costTable.exitCycles = 1;
    expect(defaultScenario().net.queueDepth).toBe(64);
    expect(DEFAULT_COST_TABLE.exitCycles).toBe(2000);
  });
});

describe('resolveScenario', () => {
  it('deep-merges nested objects over the base', () => {
    const cfg = resolveScenario({ policy: 'static', net: { queueDepth: 128 }, costTable: { exitCycles: 1500 } });
    expect(cfg.policy).toBe('static');
    expect(cfg.net).toEqual({ ...defaultScenario().net, queueDepth: 128 });
    expect(cfg.costTable).toEqual({ ...DEFAULT_COST_TABLE, exitCycles: 1500 });
  });

  it('merges over a given base without changing it', () => {
    const base = resolveScenario({ vcpus: 2 });
    const cfg = resolveScenario({ net: { batch: 8 } }, base);
    expect(cfg.vcpus).toBe(2);
    expect(cfg.net.batch).toBe(8);
    expect(base.net.batch).toBe(16);
  });

  it('accepts fault injections', () => {
    const cfg = resolveScenario({ faults: { crash: { role: 'device', afterMs: 300 } } });
    expect(cfg.faults.crash).toEqual({ role: 'device', afterMs: 300 });
  });

  it.each([
    [{ guestPages: 0 }, 'guestPages', '0'],
    [{ guestPages: 33_554_433 }, 'guestPages', '33554433'],
    [{ guestPages: 1.5 }, 'guestPages', '1.5'],
    [{ vcpus: 9 }, 'vcpus', '9'],
    [{ vcpus: 0 }, 'vcpus', '0'],
    [{ durationMs: 0 }, 'durationMs', '0'],
    [{ durationMs: 86_400_001 }, 'durationMs', '86400001'],
    [{ net: { queueDepth: 1025 } }, 'net.queueDepth', '1025'],
    [{ net: { batch: 0 } }, 'net.batch', '0'],
    [{ net: { batch: 257, queueDepth: 1024 } }, 'net.batch', '257'],
    [{ net: { bufferPages: 17 } }, 'net.bufferPages', '17'],
    [{ net: { reuseDistance: 65_537 } }, 'net.reuseDistance', '65537'],
    [{ net: { rotateMs: -1 } }, 'net.rotateMs', '-1'],
    [{ coiommu: { unpinIntervalMs: 0 } }, 'coiommu.unpinIntervalMs', '0'],
    [{ coiommu: { unpinIntervalMs: 600_001 } }, 'coiommu.unpinIntervalMs', '600001'],
    [{ coiommu: { unpinGenThreshold: 1001 } }, 'coiommu.unpinGenThreshold', '1001'],
    [{ coiommu: { unpinLimit: -1 } }, 'coiommu.unpinLimit', '-1'],
    [{ coiommu: { speculativePages: 65 } }, 'coiommu.speculativePages', '65'],
    [{ host: { memoryPages: -1 } }, 'host.memoryPages', '-1'],
    [{ host: { dataFrames: 0 } }, 'host.dataFrames', '0'],
    [{ host: { dataFrames: 2 ** 24 + 1 } }, 'host.dataFrames', '16777217'],
    [{ notifyPath: { exitDelayUs: 100_001 } }, 'notifyPath.exitDelayUs', '100001'],
    [{ notifyPath: { spinUs: -1 } }, 'notifyPath.spinUs', '-1'],
    [{ watchdogMs: 99 }, 'watchdogMs', '99'],
    [{ drainMs: 60_001 }, 'drainMs', '60001'],
    [{ costTable: { cpuGhz: 0 } }, 'costTable.cpuGhz', '0'],
    [{ costTable: { exitCycles: -1 } }, 'costTable.exitCycles', '-1'],
    [{ seed: -1 }, 'seed', '-1'],
    [{ policy: 'foo' }, 'policy', 'foo'],
    [{ notify: 'poll' }, 'notify', 'poll'],
    [{ workload: 'disk' }, 'workload', 'disk'],
    [{ variant: 'oops' }, 'variant', 'oops'],
    [{ faults: { hang: { role: 'cpu', afterMs: 1 } } }, 'faults.hang.role', 'cpu'],
    [{ vcpus: '2' }, 'vcpus', '2'],
    [{ viommu: { queueEntries: 100 } }, 'viommu.queueEntries', '100'],
    [{ viommu: { iotlbEntries: 0 } }, 'viommu.iotlbEntries', '0'],
    [{ viommu: { iotlbWays: 3 } }, 'viommu.iotlbWays', '3'],
    [{ viommu: { flushQueueEntries: 0 } }, 'viommu.flushQueueEntries', '0'],
    [{ viommu: { flushTimeoutMs: 0 } }, 'viommu.flushTimeoutMs', '0'],
    [{ viommu: { optimisticTimeoutMs: -2 } }, 'viommu.optimisticTimeoutMs', '-2'],
    [{ viommu: { optimisticQuota: 1.5 } }, 'viommu.optimisticQuota', '1.5'],
    [{ protection: { probe: 'all' } }, 'protection.probe', 'all'],
  ])('rejects %j naming %s', (partial, field, value) => {
    const e = bad(partial);
    expect(e.field).toBe(field);
    expect(e.value).toBe(value);
    expect(e.message).toContain(`invalid ${field} "${value}"`);
    expect(e.allowed).toMatch(/must be|allowed values/);
  });

  it('accepts the vIOMMU policies, the wait-before-flush variant and a sidecore fault for viommu/sidecore', () => {
    const cfg = resolveScenario({
      policy: 'viommu-strict',
      notify: 'sidecore',
      variant: 'wait-before-flush',
      viommu: { iotlbEntries: 32, iotlbWays: 32 },
      faults: { crash: { role: 'sidecore', afterMs: 10 } },
    });
    expect(cfg.variant).toBe('wait-before-flush');
    expect(cfg.viommu.iotlbWays).toBe(32);
    expect(() => resolveScenario({ policy: 'passthrough', notify: 'sidecore', faults: { crash: { role: 'sidecore', afterMs: 10 } } })).toThrow(
      /runs no sidecore thread/,
    );
  });

  it('says what is allowed', () => {
    expect(bad({ vcpus: 9 }).message).toBe('invalid vcpus "9": must be an integer between 1 and 8');
    expect(bad({ policy: 'foo' }).message).toBe('invalid policy "foo": allowed values are static, coiommu, passthrough, viommu-strict, viommu-lazy, viommu-optimistic, iopf');
  });

  it('rejects unknown keys at any depth, listing the allowed ones', () => {
    const top = bad({ polcy: 'static' });
    expect(top.field).toBe('polcy');
    expect(top.message).toContain('unknown key');
    expect(top.allowed).toContain('policy');
    const nested = bad({ coiommu: { unpinInterval: 5 } });
    expect(nested.field).toBe('coiommu.unpinInterval');
    expect(nested.allowed).toContain('unpinIntervalMs');
    expect(bad({ costTable: { exitCost: 1 } }).allowed).toContain('exitCycles');
  });

  it('rejects a non-object where an object belongs', () => {
    expect(bad({ net: 5 }).field).toBe('net');
    expect(bad(5).message).toContain('must be a JSON object');
  });

  it('reports a missing field of a fault', () => {
    const e = bad({ faults: { crash: { role: 'device' } } });
    expect(e.field).toBe('faults.crash.afterMs');
    expect(e.message).toMatch(/^missing faults\.crash\.afterMs/);
  });

  it('requires batch <= queue depth', () => {
    const e = bad({ net: { queueDepth: 8, batch: 16 } });
    expect(e.field).toBe('net.batch');
    expect(e.message).toContain('net.queueDepth (8)');
    // Only the queue depth was changed: blame it.
    expect(bad({ net: { queueDepth: 8 } }).field).toBe('net.queueDepth');
  });

  it('requires every vCPU buffer pool to fit in guest memory', () => {
    const e = bad({ guestPages: 1000, vcpus: 4 }); // 4 * (256 + 64) * 1 = 1280 pages
    expect(e.field).toBe('guestPages');
    expect(e.message).toContain('1280');
    for (const f of ['guestPages', 'vcpus', 'net.reuseDistance', 'net.queueDepth', 'net.bufferPages']) {
      expect(e.message).toContain(f);
    }
    // A pool exactly the size of guest memory fits.
    expect(resolveScenario({ guestPages: 1280, vcpus: 4 }).guestPages).toBe(1280);
    // Blame what the user changed.
    expect(bad({ net: { bufferPages: 4, reuseDistance: 65_536 } }).field).toBe('net.reuseDistance');
  });

  it('requires faults to fire within the run', () => {
    const e = bad({ durationMs: 1000, faults: { crash: { role: 'device', afterMs: 1200 } } });
    expect(e.field).toBe('faults.crash.afterMs');
    expect(e.message).toContain('1200 ms');
  });

  it('rejects faults aimed at a role the scenario does not run', () => {
    const hang = { role: 'sidecore', afterMs: 100 } as const;
    expect(bad({ notify: 'trap', faults: { hang } }).field).toBe('faults.hang.role');
    expect(bad({ policy: 'static', faults: { hang } }).message).toContain('static/sidecore runs no sidecore');
    expect(resolveScenario({ faults: { hang } }).faults.hang).toEqual(hang);
  });

  it('uses the labeler to name fields and show raw text', () => {
    const e = configError(() =>
      resolveScenario({ durationMs: 90_000_000 }, defaultScenario(), (p) =>
        p === 'durationMs' ? { field: '--duration', raw: '25h', given: true } : { field: p, given: false },
      ),
    );
    expect(e.message).toMatch(/^invalid --duration "25h": /);
    expect(e.path).toBe('durationMs');
  });
});

describe('loadConfigFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'viommu-lab-config-'));
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('reads a partial scenario', () => {
    const p = file('ok.json', JSON.stringify({ policy: 'static', coiommu: { unpinIntervalMs: 20 } }));
    const partial = loadConfigFile(p);
    expect(partial).toEqual({ policy: 'static', coiommu: { unpinIntervalMs: 20 } });
    expect(resolveScenario(partial).coiommu.unpinIntervalMs).toBe(20);
  });

  it('names a missing file', () => {
    const p = join(dir, 'absent.json');
    const e = configError(() => loadConfigFile(p));
    expect(e.field).toBe('--config');
    expect(e.message).toContain(p);
    expect(e.message).toContain('file not found');
  });

  it('names a file that is not JSON', () => {
    const p = file('bad.json', '{ "policy": ');
    const e = configError(() => loadConfigFile(p));
    expect(e.message).toContain(p);
    expect(e.message).toContain('not valid JSON');
  });

  it('rejects JSON that is not an object', () => {
    expect(configError(() => loadConfigFile(file('arr.json', '[1, 2]'))).message).toContain('JSON object');
  });

  it('names the file and the JSON path of a bad field', () => {
    const p = file('x.json', JSON.stringify({ coiommu: { unpinIntervalMs: 0 } }));
    const e = configError(() => loadConfigFile(p));
    expect(e.field).toBe('coiommu.unpinIntervalMs');
    expect(e.source).toBe(p);
    expect(e.message).toBe(`invalid coiommu.unpinIntervalMs "0" in config file ${p}: must be a number between 1 ms and 600000 ms`);
  });

  it('rejects unknown keys in the file', () => {
    const p = file('unknown.json', JSON.stringify({ net: { depth: 4 } }));
    const e = configError(() => loadConfigFile(p));
    expect(e.field).toBe('net.depth');
    expect(e.message).toContain(`in config file ${p}`);
  });
});
