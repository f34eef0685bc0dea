// What every policy's explorer scenarios share: the mailbox words, a tiny scenario config, and
// the host thread, which runs the hypervisor's real trap service (TrapService), not a copy.
import type { ThreadCtx } from '../core/scenario.js';
import type { Variant } from '../core/types.js';
import { hostDoorbell } from '../notify/delivery.js';
import { TrapService, type RequestServer } from '../notify/host-service.js';
import type { Scenario_ } from './policy.js';

/** Scratch words shared by the scenarios. */
export const SCRATCH = {
  /** vCPUs that have finished (the host thread leaves when all have). */
  DONE: 0,
} as const;

/** A lock or a host answer held this long under the explorer means a real deadlock, not a slow schedule. */
export const SCENARIO_TIMEOUT_MS = 30_000;

/**
 * The few settings the scenario threads read (the planted bug, the trap path, the policy's own
 * section); a scenario runs no workload, no reclaimer timer and no watchdog.
 */
export function scenarioConfig(variant: Variant, sections: Record<string, unknown>): Scenario_ {
  return {
    variant,
    notify: 'trap',
    watchdogMs: SCENARIO_TIMEOUT_MS,
    host: { memoryPages: 0, dataFrames: 1 },
    notifyPath: { exitDelayUs: 0, spinUs: 0 },
    ...sections,
  } as unknown as Scenario_;
}

/** A vCPU is done: count it and ring the host, as a trapping vCPU does. */
export function vcpuDone(ctx: ThreadCtx): void {
  ctx.mem.add(ctx.scratch, SCRATCH.DONE, 1);
  hostDoorbell(ctx.mem, ctx.m).ring();
}

/** The hypervisor's trap service over `server` until `vcpus` vCPUs are done. Returns requests served. */
export function hostThread(ctx: ThreadCtx, vcpus: number, server: RequestServer): number {
  const { mem, scratch } = ctx;
  const allDone = () => mem.load(scratch, SCRATCH.DONE) >= vcpus;
  const trap = new TrapService(server, hostDoorbell(mem, ctx.m), 0, allDone);
  let served = 0;
  for (;;) {
    const n = trap.serve();
    served += n;
    if (allDone()) return served;
    if (n === 0) trap.sleep(1000);
  }
}
