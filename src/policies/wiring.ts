// The one wiring of a host and of a vCPU's DMA policy. The roles, the explorer's scenarios, the
// benchmarks and the test helpers all build their parts here.
import type { GuestDmaPolicy } from '../core/guest-dma-policy.js';
import { newHistogram } from '../core/latency.js';
import { CTL } from '../machine/layout.js';
import type { Machine } from '../machine/machine.js';
import type { SharedMem } from '../machine/shared-mem.js';
import { Balloon } from '../mem/balloon.js';
import { HostMemory } from '../mem/host-memory.js';
import { Reclaimer } from '../mem/reclaimer.js';
import { NO_LOCK, PinStateLock, type Lock } from '../notify/lock.js';
import type { HostClock } from '../core/virtual-time.js';
import { Oracle } from '../core/oracle.js';
import { Reliance } from '../core/reliance.js';
import type { RoleName } from '../core/types.js';
import { RelianceChecked } from './reliance-guest.js';
import type { GuestContext, HostPolicy, Policy, Scenario_ } from './policy.js';

export interface HostParts {
  host: HostMemory;
  lock: Lock;
  /** The policy's host half (absent for policies whose guest asks the host nothing). */
  policy?: HostPolicy;
  reclaimer: Reclaimer;
  /** The --balloon event (nothing to do when none was asked for). */
  balloon: Balloon;
}

/** The pin-state lock, or none for the planted bug `no-pin-lock`. A lock held past `timeoutMs` is a hang. */
export function pinStateLock(mem: SharedMem, m: Machine, variant: string, timeoutMs: number): Lock {
  return variant === 'no-pin-lock' ? NO_LOCK : new PinStateLock(mem, m.control, CTL.PIN_LOCK, timeoutMs, undefined, variant !== 'unlock-no-wake');
}

/** Host memory, the pin-state lock, the policy's host half and the reclaimer, over one stats block. */
export function buildHost(
  p: Pick<Policy, 'host'>,
  mem: SharedMem,
  m: Machine,
  cfg: Scenario_,
  stats: Float64Array,
  timeoutMs = cfg.watchdogMs,
  /** The host thread's virtual clock (absent: no virtual time, as in the explorer's scenarios). */
  clock?: HostClock,
  /** Who reports the reliance oracle's findings (default: a hypervisor oracle timed from now). */
  oracle: Oracle = defaultOracle(m, 'hypervisor'),
): HostParts {
  const host = new HostMemory(mem, m, stats);
  host.reliance = new Reliance(m, oracle);
  const lock = pinStateLock(mem, m, cfg.variant, timeoutMs);
  const policy = p.host?.({ mem, m, cfg, stats, host, lock, timeoutMs, clock });
  const force = policy?.forceUnpin ? (g: number) => policy.forceUnpin!(g) : undefined;
  const reclaimer = new Reclaimer(mem, m, host, lock, cfg.host?.memoryPages ?? 0, stats, force);
  const balloon = new Balloon(mem, m, host, lock, stats, cfg.host?.balloonPages ?? 0, cfg.host?.balloonAtMs ?? 0, force);
  return { host, lock, policy, reclaimer, balloon };
}

export type GuestOptions = Partial<Pick<GuestContext, 'latency' | 'unmapLog' | 'spinUs' | 'timeoutMs' | 'clock' | 'inlineHost'>> & {
  /** Who reports the reliance oracle's findings (default: a guest oracle timed from now). */
  oracle?: Oracle;
};

function defaultOracle(m: Machine, role: RoleName): Oracle {
  return new Oracle(m.control, role, performance.timeOrigin + performance.now());
}

/** One vCPU's half of the policy. On the trap path the vCPU never spins: the exit stops it. */
export function buildGuest(p: Pick<Policy, 'guest'> & Partial<Pick<Policy, 'requests'>>, mem: SharedMem, m: Machine, cfg: Scenario_, vcpu: number, stats: Float64Array, o: GuestOptions = {}): GuestDmaPolicy {
  const spinUs = o.spinUs ?? (cfg.notify === 'sidecore' ? cfg.notifyPath.spinUs : 0);
  const latency = o.latency ?? { pinRequest: newHistogram(), invSubmit: newHistogram() };
  // a guest's own wait outlasts the watchdog, which names the host that stopped answering
  const timeoutMs = o.timeoutMs ?? 2 * cfg.watchdogMs;
  const policy = p.guest({ mem, m, cfg, vcpu, stats, spinUs, timeoutMs, latency, unmapLog: o.unmapLog, clock: o.clock, inlineHost: o.inlineHost });
  // every map the guest relies on is checked against the host (src/core/reliance.ts); under I/O
  // page faults a map promises nothing (the page is made resident when the device touches it)
  if (p.requests === 'fault') return policy;
  return new RelianceChecked(policy, new Reliance(m, o.oracle ?? defaultOracle(m, 'guest')), m.iovaPages === 0);
}
