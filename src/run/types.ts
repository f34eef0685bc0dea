// The scenario a run executes and the report it produces. These two shapes are the contract
// between the CLI, the orchestrator and scripts that read `--json`.

export const POLICIES = ['static', 'coiommu', 'passthrough', 'viommu-strict', 'viommu-lazy', 'viommu-optimistic'] as const;
export type Policy = (typeof POLICIES)[number];

/** The emulated VT-d family (caching mode): every map and unmap goes through the invalidation queue. */
export const VIOMMU_POLICIES = ['viommu-strict', 'viommu-lazy', 'viommu-optimistic'] as const;
export type ViommuPolicy = (typeof VIOMMU_POLICIES)[number];
export const isViommu = (p: Policy): p is ViommuPolicy => (VIOMMU_POLICIES as readonly string[]).includes(p);
/** Policies whose host pins all guest memory at VM creation. */
export const pinsAllMemory = (p: Policy): boolean => p === 'static' || p === 'passthrough';
/** Policies whose guest requests reach a host thread (so a sidecore runs in sidecore mode). */
export const hasHostRequests = (p: Policy): boolean => p === 'coiommu' || isViommu(p);
/** Policies whose device translates through an IOTLB (the vIOMMU family, passthrough included). */
export const usesIotlb = (p: Policy): boolean => p === 'passthrough' || isViommu(p);

export const PROBE_MODES = ['off', 'unmapped'] as const;
export type ProbeMode = (typeof PROBE_MODES)[number];

export const NOTIFY_PATHS = ['trap', 'sidecore'] as const;
export type NotifyPath = (typeof NOTIFY_PATHS)[number];

/**
 * The default comparison (`compare`, `npm start`): every policy on each notify path it has. Static
 * pinning and passthrough send the host no requests, so they run once.
 */
export const COMPARISON_PAIRS: readonly (readonly [Policy, NotifyPath])[] = [
  ['static', 'trap'],
  ['passthrough', 'trap'],
  ['coiommu', 'trap'],
  ['coiommu', 'sidecore'],
  ['viommu-strict', 'trap'],
  ['viommu-strict', 'sidecore'],
  ['viommu-lazy', 'trap'],
  ['viommu-lazy', 'sidecore'],
  ['viommu-optimistic', 'trap'],
  ['viommu-optimistic', 'sidecore'],
];

export const WORKLOADS = ['net'] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

export const ROLES = ['guest', 'hypervisor', 'sidecore', 'device'] as const;
export type RoleName = (typeof ROLES)[number];

/** Deliberately broken protocol variants (DESIGN 1.1 "planted bugs"); `none` is the real protocol. */
export const VARIANTS = [
  'none',
  'pinned-check-before-add', // guest tests PINNED before it raises the map count
  'unpin-load-store', // unpin scan uses load-then-store instead of compareExchange
  'pinned-before-map', // host sets PINNED before the host IOMMU mapping exists
  'no-pin-lock', // pin and unpin without the pin-state lock
  'wait-before-flush', // vIOMMU host completes the wait descriptor before it flushes the device IOTLB
  'doorbell-without-bump', // a trapping vCPU notifies the host without bumping the doorbell: a lost wake-up
] as const;
export type Variant = (typeof VARIANTS)[number];

/** Cycle costs of the modeled clock. Defaults come from the papers (DESIGN section 2). */
export interface CostTable {
  /** CPU frequency used to turn nanosecond figures into cycles. */
  cpuGhz: number;
  /** Guest-side DTT update per page (a few atomic instructions). */
  dttUpdateCycles: number;
  /** Bare-metal IOMMU map or unmap of one page (vIOMMU, ATC'11: 6,909). */
  iommuMapCycles: number;
  /** Direct cost of one VM exit (~2,000). */
  exitCycles: number;
  /** A request delivered by trap-and-emulate, on top of the exit and the work itself (34,969 - 6,909 - 2,000). */
  trapRequestCycles: number;
  /** A request delivered to a polling sidecore, on top of the work itself (9,225 - 6,909). */
  sidecoreRequestCycles: number;
  /** Host pin of one page: fault in + get_user_pages-like accounting, without the IOMMU map. */
  pinPageCycles: number;
  /** One IOTLB miss costs this many memory reads' worth of ns (F&S, SOSP'24: ~197 ns each). */
  iotlbMissReadNs: number;
  /** One I/O page fault (SCIMITAR-style designs). */
  ioPageFaultNs: number;
}

export interface NetWorkloadConfig {
  /** Receive buffers in flight per vCPU. */
  queueDepth: number;
  /** Descriptors posted (and completions reaped) per ring doorbell. */
  batch: number;
  /** Guest pages per buffer. */
  bufferPages: number;
  /** How many other buffers are mapped before a freed buffer is mapped again. */
  reuseDistance: number;
  /** Move the buffer pool to fresh guest memory every this many ms (0 = never). */
  rotateMs: number;
}

export interface CoiommuConfig {
  unpinIntervalMs: number;
  unpinGenThreshold: number;
  /** Maximum unpins per scan round; 0 = no limit. */
  unpinLimit: number;
  /** Also pin this many neighbouring pages on a pin request (0 = off). */
  speculativePages: number;
}

export interface ViommuConfig {
  /** Descriptors in the invalidation queue (a power of two). */
  queueEntries: number;
  /** Device IOTLB entries and associativity (entries / ways sets, a power of two). */
  iotlbEntries: number;
  iotlbWays: number;
  /** viommu-lazy: the flush queue is flushed at this many deferred unmaps ... */
  flushQueueEntries: number;
  /** ... or when its oldest entry is this old, whichever comes first. */
  flushTimeoutMs: number;
  /** viommu-optimistic: an unmapped buffer stays mapped this long, waiting to be re-mapped ... */
  optimisticTimeoutMs: number;
  /** ... and at most this many such stale mappings per vCPU. */
  optimisticQuota: number;
}

export interface ProtectionConfig {
  /** `unmapped`: the device also probes recently unmapped DMA addresses (DESIGN 3.2). */
  probe: ProbeMode;
}

export interface HostConfig {
  /** Resident host frames the reclaimer tries to stay under; 0 = no memory pressure. */
  memoryPages: number;
  /** Data frames for payloads: only pages that DMA actually touches get one. */
  dataFrames: number;
}

export interface NotifyConfig {
  /** Modeled exit delay, busy-waited by the host before it handles a trapped request. */
  exitDelayUs: number;
  /** How long a waiting role spins before it parks in Atomics.wait. */
  spinUs: number;
}

export interface FaultInjection {
  role: RoleName;
  afterMs: number;
}

export interface ScenarioConfig {
  policy: Policy;
  notify: NotifyPath;
  workload: WorkloadName;
  guestPages: number;
  vcpus: number;
  durationMs: number;
  seed: number;
  net: NetWorkloadConfig;
  coiommu: CoiommuConfig;
  viommu: ViommuConfig;
  protection: ProtectionConfig;
  host: HostConfig;
  notifyPath: NotifyConfig;
  /** A role whose heartbeat stalls this long is declared hung. */
  watchdogMs: number;
  /** Idle time after the guests stop, during which lazy unpinning keeps running. */
  drainMs: number;
  costTable: CostTable;
  faults: { crash?: FaultInjection; hang?: FaultInjection };
  variant: Variant;
}

export interface Percentiles {
  p50: number;
  p99: number;
  max: number;
}

export interface ViolationRecord {
  kind: 'dmaToUnpinned' | 'lostPayloads' | 'accounting';
  role: RoleName;
  gfn: number;
  frame: number;
  atMs: number;
  detail: string;
}

export interface RunReport {
  policy: Policy;
  notify: NotifyPath;
  workload: WorkloadName;
  variant: Variant;
  guestPages: number;
  vcpus: number;
  dmaOps: number;
  seconds: number;
  opsPerSecond: number;
  exits: number;
  exitsPer1kDma: number;
  pinRequests: number;
  /** Maps the policy refused (no host frame to pin, IOVA space exhausted): the buffer waited. */
  mapFailures: number;
  pins: number;
  unpins: number;
  pinnedPages: { peak: number; end: number };
  host: {
    residentPeak: number;
    residentEnd: number;
    reclaimed: number;
    restored: number;
    forceUnpins: number;
    reclaimablePagesEnd: number;
  };
  staticPin?: { pages: number; ms: number; modeledMs: number };
  violations: { dmaToUnpinned: number; lostPayloads: number; accounting: number; first?: ViolationRecord };
  latencyUs: { map: Percentiles; pinRequest: Percentiles; invSubmit: Percentiles };
  /** IOTLB invalidation descriptors the host processed (vIOMMU; 0 otherwise). */
  invalidations: number;
  /** Invalidation-queue submissions (each: descriptors + one wait descriptor). */
  invSubmits: number;
  /** Submissions that found the invalidation queue's lock held by another vCPU. */
  invQueueLockWaits: number;
  /** Device IOTLB: hits, misses and the (modeled) memory reads of the walks on misses. */
  iotlb: { hits: number; misses: number; walkReads: number };
  /** Protection oracle: probes of recently unmapped DMA addresses, how many got through, for how long. */
  protection: { probes: number; leaks: number; windowUs: { p50: number; max: number } };
  exitsPerDma: number;
  modeled: { cyclesPerDma: number; costTable: CostTable; breakdown: Record<string, number> };
  parallelism: { cores: number; threads: number; spinners: number; oversubscribed: boolean };
  /** What teardown found still mapped, queued or raised (each is also an accounting violation). */
  teardownLeftovers: string[];
  config: ScenarioConfig;
}
