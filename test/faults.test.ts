// A role that crashes or hangs ends the run with an error naming it, and no worker survives.
import { describe, expect, it } from 'vitest';
import { RunError } from '../src/core/errors.js';
import { runScenario } from '../src/lab/orchestrator.js';
import { smallScenario } from './helpers/scenario.js';

describe('fault injection', () => {
  it.each(['device', 'hypervisor', 'guest'] as const)('a %s that crashes mid-run fails the run, naming it', async (role) => {
    const t0 = performance.now();
    const run = runScenario(
      smallScenario({ policy: 'coiommu', notify: 'trap', durationMs: 600_000, faults: { crash: { role, afterMs: 200 } } }),
    );
    await expect(run).rejects.toThrow(RunError);
    await expect(run).rejects.toThrow(new RegExp(`${role}.*injected crash in ${role}`));
    // it stopped at the crash, not after the 10 minutes it was given (a margin no load can eat)
    expect(performance.now() - t0).toBeLessThan(60_000);
  });

  it.each(['device', 'sidecore'] as const)('a %s that hangs is named by the watchdog', async (role) => {
    const run = runScenario(
      smallScenario({
        policy: 'coiommu',
        notify: 'sidecore',
        durationMs: 5000,
        watchdogMs: 500,
        faults: { hang: { role, afterMs: 200 } },
      }),
    );
    await expect(run).rejects.toThrow(new RegExp(`${role}.*(no progress|not answered|hung|stuck)`));
  });
});
