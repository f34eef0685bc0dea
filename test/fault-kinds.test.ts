// Every survivable fault kind, injected in real workers over real shared memory: the run goes on,
// the oracle sees no violation, and the protocol reacts as documented (src/core/faults/kinds.ts).
// Fatal faults end the run with an error that names the stuck role.
import { describe, expect, it } from 'vitest';
import { RunError } from '../src/core/errors.js';
import type { RunReport } from '../src/core/types.js';
import { runScenario } from '../src/lab/orchestrator.js';
import type { ScenarioConfig } from '../src/lab/config.js';
import { smallScenario } from './helpers/scenario.js';

function expectClean(r: RunReport): void {
  expect(r.violations).toEqual({ dmaToUnpinned: 0, lostPayloads: 0, accounting: 0, unpinnedWhileMapped: 0, lostWakeups: 0, mapFailures: 0, undrainedUnpins: 0 });
  expect(r.teardownLeftovers).toEqual([]);
  expect(r.dmaOps).toBeGreaterThan(0); // a count of work done, not a speed: this machine may be loaded
}

const run = (plan: string[], over: Partial<ScenarioConfig> = {}) =>
  runScenario(smallScenario({ policy: 'coiommu', notify: 'trap', durationMs: 600, ...over, net: { rotateMs: 20 } as ScenarioConfig['net'], faults: { plan } }));

const counts = (r: RunReport, kind: string) => r.injectedFaults?.byKind[kind as keyof NonNullable<RunReport['injectedFaults']>['byKind']];

describe('survivable faults (coIOMMU unless said)', () => {
  it.each([
    ['pin-fail', 'pin-fail@p=0.05'],
    ['host-oom', 'host-oom@p=0.3'],
    ['slot-busy', 'slot-busy@p=0.05'],
  ])('%s: every injected failure is one clean map failure (the driver retries the buffer)', async (kind, spec) => {
    const r = await run([spec]);
    expectClean(r);
    const c = counts(r, kind)!;
    expect(c.injected).toBeGreaterThan(5);
    // one vCPU, one page per request: the guest's re-check sees PINNED clear and undoes exactly once
    expect(r.mapFailures).toBe(c.injected);
  });

  it('slow-host: the handler is delayed by the distribution, requests still complete', async () => {
    const r = await run(['slow-host:uniform(100us,2ms)@p=0.05'], { notify: 'sidecore' });
    expectClean(r);
    const c = counts(r, 'slow-host')!;
    expect(c.injected).toBeGreaterThan(0);
    expect(c.delayedUs).toBeGreaterThanOrEqual(c.injected * 100);
    expect(c.delayedUs).toBeLessThanOrEqual(c.injected * 2000 + 1);
  });

  it('preempt: a vCPU, the sidecore and the device each stop mid-protocol and the run goes on', async () => {
    const r = await run(['vcpu0', 'sidecore', 'device'].map((t) => `preempt:${t}:30ms@every 150ms`), { notify: 'sidecore' });
    expectClean(r);
    const c = counts(r, 'preempt')!;
    expect(c.injected).toBeGreaterThanOrEqual(6);
    expect(c.stoppedMs).toBe(30 * c.injected);
  });

  it('spurious-wake: the host and the vCPU are woken with nothing to do, and go back to sleep', async () => {
    const r = await run(['spurious-wake:hypervisor@every 2ms', 'spurious-wake:vcpu0@every 2ms']);
    expectClean(r);
    expect(counts(r, 'spurious-wake')!.injected).toBeGreaterThan(20);
  });

  it('ring-full: completions back up, the vCPU waits, nothing is lost', async () => {
    const r = await run(['ring-full:40ms@every 150ms']);
    expectClean(r);
    const c = counts(r, 'ring-full')!;
    expect(c.injected).toBeGreaterThanOrEqual(2);
    expect(c.heldMs).toBe(40 * c.injected);
  });

  it('balloon (the --balloon mechanism, repeated): pages are released, mapped ones refused, contents come back', async () => {
    // each inflation asks for all guest memory, so it always reaches the pages of the buffers in
    // flight (asking for 64, it was sometimes satisfied by idle frames alone: refusedMapped 0)
    const r = await run(['balloon:1048576@every 50ms'], { host: { memoryPages: 0, dataFrames: 1 << 20 } as ScenarioConfig['host'] });
    expectClean(r);
    const c = counts(r, 'balloon')!;
    expect(c.injected).toBeGreaterThan(3);
    expect(c.released).toBeGreaterThan(0);
    expect(c.refusedMapped).toBeGreaterThan(0); // buffers in flight are mapped: coIOMMU refuses them
    expect(r.host.forceUnpins).toBeLessThanOrEqual(c.released); // released: idle resident frames, then force-unpinned ones
  });

  it('rogue-dma: coIOMMU lets a just-unmapped (lazily still pinned) page through and blocks a never-given one', async () => {
    const r = await run(['rogue-dma@every 1ms']);
    expectClean(r);
    const c = counts(r, 'rogue-dma')!;
    expect(c.blocked + c.unprotected).toBe(c.injected);
    expect(c.blocked).toBeGreaterThan(0);
    expect(c.unprotected).toBeGreaterThan(0);
  });

  it('rogue-dma: viommu-strict blocks every one', async () => {
    const r = await run(['rogue-dma@every 1ms'], { policy: 'viommu-strict' });
    expectClean(r);
    const c = counts(r, 'rogue-dma')!;
    expect(c.injected).toBeGreaterThan(20);
    expect(c.blocked).toBe(c.injected);
  });
});

describe('survivable faults under a vIOMMU: the host pins as it shadows a map', () => {
  const vrun = (plan: string[], over: Partial<ScenarioConfig> = {}) =>
    runScenario(smallScenario({ policy: 'viommu-strict', notify: 'trap', durationMs: 600, ...over, net: { rotateMs: 20 } as ScenarioConfig['net'], faults: { plan } }));

  it('pin-fail, host-oom: the wait descriptor completes with an error, the guest undoes its map, the driver retries', async () => {
    const r = await vrun(['pin-fail@p=0.05', 'host-oom@p=0.2']);
    expectClean(r); // no shadow entry, pin or queued descriptor is left over at teardown
    const failed = counts(r, 'pin-fail')!.injected + counts(r, 'host-oom')!.injected;
    expect(counts(r, 'pin-fail')!.injected).toBeGreaterThan(5);
    expect(counts(r, 'host-oom')!.injected).toBeGreaterThan(0);
    // one-page buffers, one submission per map: each failed pin is exactly one failed map
    expect(r.pinFailures?.hostMapFailures).toBe(failed);
    expect(r.mapFailures).toBe(failed);
  });

  it('queue-error: a refused map submission fails the map, a refused teardown is submitted again', async () => {
    const r = await vrun(['queue-error:vcpu0@p=0.05'], { policy: 'viommu-lazy', notify: 'sidecore' });
    expectClean(r);
    const c = counts(r, 'queue-error')!;
    expect(c.injected).toBeGreaterThan(5);
    expect(c.resubmitted).toBeGreaterThan(0); // the flush queue's batches and the undo of a failed map
    expect(r.mapFailures).toBeGreaterThan(0);
    expect(r.mapFailures + c.resubmitted).toBe(c.injected);
  });
});

describe('fatal faults name the stuck role, not the one waiting for it', () => {
  it.each([
    ['hang:hypervisor@200ms', 'trap', 'hypervisor'],
    ['hang:sidecore@200ms', 'sidecore', 'sidecore'],
    ['crash:vcpu1@200ms', 'trap', 'guest vCPU 1'],
  ] as const)('%s on %s', async (spec, notify, who) => {
    const p = runScenario(smallScenario({ policy: 'coiommu', notify, vcpus: 2, durationMs: 5000, watchdogMs: 600, faults: { plan: [spec] } }));
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RunError);
    expect((err as RunError).role).toBe(who);
    expect((err as RunError).message.startsWith(who) || (err as RunError).message.startsWith(`watchdog: ${who}`)).toBe(true);
  });
});
