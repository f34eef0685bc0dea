// The fault plan's syntax and checks: every bad --fault names the flag, the value and what is
// allowed (exit 2), and a soak's random plan is a function of its seed that always passes them.
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { ConfigError } from '../src/core/errors.js';
import { parseFault } from '../src/core/faults/plan.js';
import { resolveScenario } from '../src/lab/config.js';
import { randomFaultPlan } from '../src/lab/fault-plan-random.js';
import { soakCombos } from '../src/lab/soak.js';

async function cli(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s), stderrIsTTY: false });
  return { code, stdout, stderr };
}

describe('--fault syntax', () => {
  it('parses kinds, targets, parameters and the three WHENs', () => {
    expect(parseFault('pin-fail@p=0.01')).toMatchObject({ kind: 'pin-fail', target: 'host', when: { p: 0.01 } });
    expect(parseFault('preempt:sidecore:20ms@every 500ms')).toMatchObject({ kind: 'preempt', target: 'sidecore', param: 20, when: { every: 500 } });
    expect(parseFault('hang:vcpu3@2s')).toMatchObject({ kind: 'hang', target: 'guest', index: 3, when: { at: 2000 } });
    expect(parseFault('slow-host:exp(1ms)@p=0.5')).toMatchObject({ delay: { exp: 1 }, param: 1 });
    expect(parseFault('slow-host:uniform(100us,2ms)@1s')).toMatchObject({ delay: { uniform: [0.1, 2] } });
    expect(parseFault('balloon:128@every 1s')).toMatchObject({ param: 128, target: 'hypervisor' });
  });

  it.each([
    ['pin-fail', 'missing "@WHEN"'],
    ['melt@1s', 'unknown fault kind "melt": allowed kinds are pin-fail'],
    ['pin-fail@p=2', 'probability after "p=" must be in (0, 1]'],
    ['pin-fail@every 0ms', 'must be above 0'],
    ['pin-fail@soon', 'WHEN "soon" must be a duration'],
    ['ring-full:vcpu1@1s', 'ring-full cannot target "vcpu1": allowed targets are device'],
    ['rogue-dma:5ms@1s', 'rogue-dma takes no parameter'],
    ['balloon:lots@1s', "balloon's parameter is a page count"],
    ['slow-host:uniform(2ms,1ms)@1s', 'uniform(LO,HI) with LO <= HI'],
  ])('%s is refused: %s', (raw, why) => {
    let err: unknown;
    try {
      parseFault(raw);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).field).toBe('--fault');
    expect((err as ConfigError).value).toBe(raw);
    expect((err as ConfigError).message).toContain(why);
  });

  it.each([
    [['--policy', 'static', '--fault', 'pin-fail@p=0.1'], 'pin-fail needs a policy whose guest asks the host to pin'],
    [['--policy', 'viommu-strict', '--fault', 'slot-busy@p=0.1'], 'slot-busy needs a policy whose guest asks the host to pin (coiommu)'],
    [['--policy', 'coiommu', '--fault', 'queue-error@p=0.1'], 'queue-error needs a policy whose guest submits to an invalidation queue'],
    [['--policy', 'viommu-strict', '--notify', 'bare', '--fault', 'host-oom@p=0.1'], 'has no host to fail'],
    [['--policy', 'coiommu', '--notify', 'trap', '--fault', 'preempt:sidecore@1s'], 'runs no sidecore thread'],
    [['--policy', 'coiommu', '--notify', 'sidecore', '--fault', 'slow-host:hypervisor:1ms@1s'], 'serves requests on the sidecore'],
    [['--vcpus', '2', '--fault', 'crash:vcpu2@1s'], 'vcpu0..vcpu1'],
    [['--duration', '1s', '--fault', 'crash:device@5s'], 'before the run ends'],
    [['--fault', 'preempt:device:2s@1s'], 'would be taken for a hang'],
    [['--fault', 'nope@1s'], 'unknown fault kind'],
  ])('run %j exits 2 naming --fault: %s', async (args, why) => {
    const r = await cli(['run', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('invalid --fault "');
    expect(r.stderr).toContain(why);
  });

  it('soak and faults sweep refuse bad input with exit 2', async () => {
    expect((await cli(['soak', '--duration', 'forever'])).stderr).toContain('invalid --duration "forever"');
    const only = await cli(['soak', '--only', 'coiommu/bare']);
    expect(only.code).toBe(2);
    expect(only.stderr).toContain('invalid --only "coiommu/bare"');
    const sweep = await cli(['faults', 'sweep', '--scenario', 'nope']);
    expect(sweep.code).toBe(2);
    expect(sweep.stderr).toContain('allowed scenarios are coiommu-map');
  });

  it('faults list names every kind', async () => {
    const r = await cli(['faults', 'list']);
    expect(r.code).toBe(0);
    for (const k of ['pin-fail', 'host-oom', 'slot-busy', 'slow-host', 'preempt', 'spurious-wake', 'ring-full', 'balloon', 'rogue-dma', 'queue-error', 'crash', 'hang']) expect(r.stdout).toContain(k);
  });
});

describe("the soak's random plans", () => {
  it('are the same for the same seed, and every spec passes the --fault checks of its combination', () => {
    for (const [policy, notify, workload] of soakCombos()) {
      const cfg = resolveScenario({ policy, notify, workload, durationMs: 5000 });
      for (const seed of [1, 2, 3]) {
        const plan = randomFaultPlan(cfg, seed);
        expect(plan).toEqual(randomFaultPlan(cfg, seed));
        expect(plan.length).toBeGreaterThan(0);
        expect(() => resolveScenario({ policy, notify, workload, durationMs: 5000, faults: { plan } })).not.toThrow();
      }
    }
  });
});
