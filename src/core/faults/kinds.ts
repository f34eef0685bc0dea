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
] as const;
export const FATAL_FAULTS = ['crash', 'hang'] as const;
export const FAULT_KINDS = [...SURVIVABLE_FAULTS, ...FATAL_FAULTS] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * Failure points (the fail-nth sweep counts and fails them): a host pin (the VFIO pin), the host
 * IOMMU map that follows it, a host frame allocation, a guest's notify-slot write, an invalidation
 * queue submission (counted; the vIOMMU protocol has no failure path for it).
 */
export const FAILURE_POINTS = ['pin', 'iommu-map', 'frame-alloc', 'slot-write', 'queue-submit'] as const;
export type FailurePoint = (typeof FAILURE_POINTS)[number];

/** The kind a failure at each point counts as. */
export const POINT_KIND: Record<FailurePoint, FaultKind | undefined> = {
  pin: 'pin-fail',
  'iommu-map': 'pin-fail',
  'frame-alloc': 'host-oom',
  'slot-write': 'slot-busy',
  'queue-submit': undefined,
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
  /** Only policies whose guest asks the host to pin (coIOMMU) have the path this fault exercises. */
  pinRequestsOnly?: boolean;
}

const ANY: readonly TargetRole[] = ['guest', 'hypervisor', 'sidecore', 'device'];

export const KIND_INFO: Record<FaultKind, KindInfo> = {
  'pin-fail': { help: "the host's pin or IOMMU map fails: the guest's map fails cleanly, the driver retries the buffer", targets: ['host', 'hypervisor', 'sidecore'], param: 'none', pinRequestsOnly: true },
  'host-oom': { help: 'no free host frame: the pin fails, the map fails cleanly', targets: ['host', 'hypervisor', 'sidecore'], param: 'none', pinRequestsOnly: true },
  'slot-busy': { help: "the vCPU's notify slot is still busy: the guest returns without pinning, the map fails", targets: ['guest'], param: 'none', pinRequestsOnly: true },
  'slow-host': { help: 'the host handler is delayed by a distribution (1ms, exp(1ms), uniform(100us,2ms))', targets: ['host', 'hypervisor', 'sidecore'], param: 'distribution', defaultParam: 1 },
  preempt: { help: 'the role stops for a while at a random point, mid-protocol (default 50ms)', targets: ['guest', 'hypervisor', 'sidecore', 'device'], param: 'duration', defaultParam: 50 },
  'spurious-wake': { help: 'the role is woken with nothing to do (doorbells, notifies)', targets: ANY, param: 'none' },
  'ring-full': { help: 'completions back up: the device cannot post for a while (default 20ms)', targets: ['device'], param: 'duration', defaultParam: 20 },
  balloon: { help: 'memory pressure: the host takes back N pages (default 64), as --balloon does; mapped ones are refused', targets: ['hypervisor'], param: 'pages', defaultParam: 64 },
  'rogue-dma': { help: 'the device DMAs to an address never given or unmapped a moment ago: strict blocks it, others count it unprotected', targets: ['device'], param: 'none' },
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
  balloon: ['released', 'refusedMapped'],
  'rogue-dma': ['blocked', 'unprotected'],
  crash: [],
  hang: [],
};
