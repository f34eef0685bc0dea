// The run session's bounds: a phase's bound ends with the phase, and a failure cuts every wait.
import { describe, expect, it } from 'vitest';
import { RunError } from '../src/core/errors.js';
import { RunSession } from '../src/lab/run-session.js';
import { Machine } from '../src/machine/machine.js';

const session = () => new RunSession(Machine.create({ guestPages: 16, vcpus: 1, hostFrames: 16, dataFrames: 16, ringEntries: 4 }));

describe('run session', () => {
  it("a phase that finished in time is not failed later by its bound's timer", async () => {
    const s = session();
    await s.bounded(Promise.resolve('done'), 20, 'a quick phase');
    await s.sleep(80); // a later phase that outlives the first one's bound
    expect(s.failure).toBeUndefined();
    await s.close();
  });

  it('a phase that overruns its bound fails the run, naming the phase', async () => {
    const s = session();
    await expect(s.bounded(new Promise(() => {}), 20, 'VM teardown', 'hypervisor')).rejects.toThrow(/VM teardown did not finish within 20 ms/);
    expect(s.failure).toBeInstanceOf(RunError);
    expect(s.failure?.role).toBe('hypervisor');
    await s.close();
  });

  it('a failure cuts a long sleep short', async () => {
    const s = session();
    const long = s.sleep(600_000);
    s.fail(new RunError('device crashed', 'device'));
    await expect(long).rejects.toThrow(/device crashed/);
    await s.close();
  });
});
