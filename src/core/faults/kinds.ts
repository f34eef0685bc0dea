// The fault kinds a run can inject, what each targets, and the failure points of the protocols.
// Survivable kinds must leave every invariant intact; fatal kinds end the run naming the role.

export const SURVIVABLE_FAULTS = [
  'pin-fail',
  'host-oom',
  'slot-busy',
  'slow-host',
  'preempt',
  'spurious-wake',
  'ring-full',
  'balloon',
  'rogue-dma',
  'queue-error',
] as const;
export const FATAL_FAULTS = ['crash', 'hang'] as const;
export const FAULT_KINDS = [...SURVIVABLE_FAULTS, ...FATAL_FAULTS] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * Failure points (the fail-nth sweep counts and fails them): a host pin (the VFIO pin), the host
 * IOMMU map that follows it, a host frame allocation, a guest's notify-slot write, an invalidation
 * queue submission (refused: a map's fails the map, a teardown's is submitted again).
 */
export const FAILURE_POINTS = ['pin', 'iommu-map', 'frame-alloc', 'slot-write', 'queue-submit'] as const;
export type FailurePoint = (typeof FAILURE_POINTS)[number];

/** The kind a failure at each point counts as. */
export const POINT_KIND: Record<FailurePoint, FaultKind | undefined> = {
  pin: 'pin-fail',
  'iommu-map': 'pin-fail',
  'frame-alloc': 'host-oom',
  'slot-write': 'slot-busy',
  'queue-submit': 'queue-error',
};

/** Roles a fault may target; `guest` is every vCPU, `vcpuN` one. `host` = hypervisor or sidecore. */
export type TargetRole = 'guest' | 'hypervisor' | 'sidecore' | 'device' | 'host';
export const TARGET_SYNTAX = 'vcpuN, guest, hypervisor, sidecore, device or host';

export interface KindInfo {
  help: string;
  /** Roles the fault may be aimed at, the first is the default. */
  targets: readonly TargetRole[];
  /** What its parameter is: a duration, a delay distribution, a page count, or none. */
  param: 'duration' | 'distribution' | 'pages' | 'none';
  /** The parameter's default (ms, or pages). */
  defaultParam?: number;
  /**
   * The requests a policy's guest must make for this fault's path to exist: `pin` (coIOMMU's pin
   * requests), `invalidation` (the vIOMMU's queue, whose host pins when it shadows a map).
   */
  needs?: readonly ('pin' | 'invalidation')[];
}

const PINS: KindInfo['needs'] = ['pin', 'invalidation'];

const ANY: readonly TargetRole[] = ['guest', 'hypervisor', 'sidecore', 'device'];

export const KIND_INFO: Record<FaultKind, KindInfo> = {
  'pin-fail': { help: "the host's pin or IOMMU map fails (coIOMMU's pin, the vIOMMU's shadow pin): the guest's map fails cleanly, the driver retries the buffer", targets: ['host', 'hypervisor', 'sidecore'], param: 'none', needs: PINS },
  'host-oom': { help: 'no free host frame: the pin fails, the map fails cleanly', targets: ['host', 'hypervisor', 'sidecore'], param: 'none', needs: PINS },
  'slot-busy': { help: "the vCPU's notify slot is still busy: the guest returns without pinning, the map fails", targets: ['guest'], param: 'none', needs: ['pin'] },
  'slow-host': { help: 'the host handler is delayed by a distribution (1ms, exp(1ms), uniform(100us,2ms))', targets: ['host', 'hypervisor', 'sidecore'], param: 'distribution', defaultParam: 1 },
  preempt: { help: 'the role stops for a while at a random point, mid-protocol (default 50ms)', targets: ['guest', 'hypervisor', 'sidecore', 'device'], param: 'duration', defaultParam: 50 },
  'spurious-wake': { help: 'the role is woken with nothing to do (doorbells, notifies)', targets: ANY, param: 'none' },
  'ring-full': { help: 'completions back up: the device cannot post for a while (default 20ms)', targets: ['device'], param: 'duration', defaultParam: 20 },
  balloon: { help: 'memory pressure: the host takes back N pages (default 64), as --balloon does; mapped ones are refused', targets: ['hypervisor'], param: 'pages', defaultParam: 64 },
  'rogue-dma': { help: 'the device DMAs to an address never given or unmapped a moment ago: strict blocks it, others count it unprotected', targets: ['device'], param: 'none' },
  'queue-error': { help: "the invalidation queue refuses a vCPU's submission (nothing queued): a map's fails the map cleanly, a teardown's is submitted again", targets: ['guest'], param: 'none', needs: ['invalidation'] },
  crash: { help: 'the role throws (fatal)', targets: ANY, param: 'none' },
  hang: { help: 'the role stops for good, no heartbeat (fatal)', targets: ANY, param: 'none' },
};

/** Reaction counters kept per kind (beside `injected`), by name. */
export const REACTIONS: Record<FaultKind, readonly string[]> = {
  // the guest's reaction to these three is a clean map failure: the report's mapFailures
  'pin-fail': [],
  'host-oom': [],
  'slot-busy': [],
  'slow-host': ['delayedUs'],
  preempt: ['stoppedMs'],
  'spurious-wake': ['wakes'],
  'ring-full': ['heldMs'],
  balloon: ['released', 'refusedMapped', 'refusals'],
  'rogue-dma': ['blocked', 'unprotected'],
  // a refused map submission is a failed map (mapFailures); a refused teardown is resubmitted
  'queue-error': ['resubmitted'],
  crash: [],
  hang: [],
};
