// The host threads' service steps, over any policy's request server. The hypervisor role and the
// sidecore role loop over these, and so do the explorer's scenario threads: one copy of the logic.
import type { SharedMem } from '../machine/shared-mem.js';
import type { Doorbell } from './doorbell.js';
import { busyDelayUs } from './park.js';

/** A policy's host half as the notify paths see it. */
export interface RequestServer {
  /** Is a request waiting? (re-checked after the parked flag is raised) */
  pending(): boolean;
  /** Serve every waiting request once; `beforeEach` runs first for each (a modeled exit's cost). */
  serve(beforeEach?: () => void): number;
}

/** The hypervisor's trap service: serve what rang, paying the modeled exit delay per request. */
function serveTrapped(server: RequestServer, exitDelayUs: number): number {
  return server.serve(exitDelayUs > 0 ? () => busyDelayUs(exitDelayUs) : undefined);
}

/**
 * The sidecore's poll step: serve, or after `spinMs` without work park on its doorbell. Returns
 * the time of the last work (performance.now()) for the next step.
 */
export function sidecorePoll(mem: SharedMem, server: RequestServer, bell: Doorbell, lastWork: number, spinMs: number): { served: number; lastWork: number } {
  const served = server.serve();
  if (served > 0) return { served, lastWork: performance.now() };
  if (mem.scheduled || performance.now() - lastWork > spinMs) {
    bell.sleep(() => server.pending(), 20);
    return { served, lastWork: performance.now() };
  }
  return { served, lastWork };
}

/**
 * The hypervisor's trap service: serve what rang (the modeled exit delay first), and with nothing
 * served sleep on the host doorbell until it rings, `alsoWake` holds, or the slice passes.
 */
export class TrapService {
  constructor(
    private readonly server: RequestServer | undefined,
    private readonly bell: Doorbell,
    private readonly exitDelayUs: number,
    private readonly alsoWake?: () => boolean,
  ) {}

  serve(): number {
    return this.server ? serveTrapped(this.server, this.exitDelayUs) : 0;
  }

  sleep(sliceMs: number): void {
    this.bell.sleep(() => (this.server?.pending() ?? false) || (this.alsoWake?.() ?? false), sliceMs);
  }
}
