// The scenario a run executes and the report it produces. These two shapes are the contract
// between the CLI, the orchestrator and scripts that read `--json`.

/** A policy's name (`coiommu`, `viommu-strict`, ...): the registry in src/policies/ knows them all. */
import type { FailurePoint } from './faults/kinds.js';
import type { FaultTally } from './faults/board.js';
export type PolicyName = string;
/** A workload's name (`net`, ...): the registry in src/workloads/ knows them all. */
export type WorkloadName = string;
/** A planted protocol bug's name (`none` = the real protocol); each policy declares its own. */
export type Variant = string;

export const PROBE_MODES = ['off', 'unmapped'] as const;
export type ProbeMode = (typeof PROBE_MODES)[number];

/** How a guest's request reaches the host: an exit, a polling sidecore, or (bare) no host at all: the native OS programs a physical IOMMU itself. */
export const NOTIFY_PATHS = ['trap', 'sidecore', 'bare'] as const;
export type NotifyPath = (typeof NOTIFY_PATHS)[number];

export const ROLES = ['guest', 'hypervisor', 'sidecore', 'device'] as const;
export type RoleName = (typeof ROLES)[number];

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
  /** A DMA of one page without protection, in ns (F&S, SOSP'24: l0 = 65). */
  dmaPageNs: number;
  /** Writing or clearing one IO page-table entry, with its IOVA allocation. */
  ioPageTableCycles: number;
  /** iopf: the host's handling of an I/O page fault on a resident page (minor), without the pin and map. */
  iopfMinorCycles: number;
  /** iopf: what a fault on a swapped-out page adds (major: the page is read back from swap). */
  iopfMajorCycles: number;
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
  /** Host frames that can back guest pages (0 = one per guest page; fewer: pins can fail). */
  frames: number;
  /** The balloon event (--balloon size@time): pages the host asks back at balloonAtMs; 0 = none. */
  balloonPages: number;
  balloonAtMs: number;
}

export interface NotifyConfig {
  /** Modeled exit delay, busy-waited by the host before it handles a trapped request. */
  exitDelayUs: number;
  /** How long a waiting role spins before it parks in Atomics.wait. */
  spinUs: number;
  /**
   * A wait that timed out on a changed word with no notify is a lost wake-up unless a notify comes
   * within this grace (a waker descheduled between its store and its notify); 0 turns the check off.
   */
  wakeGraceMs: number;
}

export interface FaultInjection {
  role: RoleName;
  afterMs: number;
}

/**
 * The part of a scenario every layer knows. Policies and workloads add their own sections
 * (`coiommu`, `viommu`, `net`, ...) under their config key; src/lab/scenario.ts has the full type.
 */
export interface BaseScenario {
  policy: PolicyName;
  notify: NotifyPath;
  workload: WorkloadName;
  guestPages: number;
  vcpus: number;
  durationMs: number;
  /** End the run after this many DMAs (0: run for durationMs). */
  ops: number;
  /** `virtual`: the policies' timers run on the modeled clock (default); `wall`: on this machine's. */
  clock: 'virtual' | 'wall';
  seed: number;
  protection: ProtectionConfig;
  host: HostConfig;
  notifyPath: NotifyConfig;
  /** A role whose heartbeat stalls this long is declared hung. */
  watchdogMs: number;
  /** Idle time after the guests stop, during which lazy unpinning keeps running. */
  drainMs: number;
  costTable: CostTable;
  /** --inject-crash / --inject-hang, the --fault plan (raw specs, src/core/faults/plan.ts), the fail-nth sweep's point. */
  faults: { crash?: FaultInjection; hang?: FaultInjection; plan?: string[]; failNth?: { point: FailurePoint; n: number } };
  variant: Variant;
}

export interface Percentiles {
  p50: number;
  p99: number;
  max: number;
}

export interface ViolationRecord {
  kind: 'dmaToUnpinned' | 'lostPayloads' | 'accounting' | 'unpinnedWhileMapped' | 'lostWakeups' | 'mapFailures' | 'undrainedUnpins';
  role: RoleName;
  gfn: number;
  frame: number;
  atMs: number;
  detail: string;
}

export interface RunReport {
  policy: PolicyName;
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
  /** Why pin requests failed (coIOMMU as shipped): slot busy, guest timeout, host IOMMU map failed, request refused. */
  pinFailures?: { slotBusy: number; timeouts: number; hostMapFailures: number; rejected: number };
  /** The multi-level DTT: pages the shrinker freed, unmaps that found a zero count, times the unpin worker was parked. */
  dtt?: { pagesFreed: number; countUnderflows: number; unpinParked: number };
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
    /** The --balloon event: pages asked for, taken back, and refused (pinned and in use: the policy would not let go). */
    balloon?: { requested: number; released: number; refused: number; atMs: number };
  };
  /** I/O page faults (iopf): raised by the device, answered by the host, minor / major, dropped descriptors, stall. */
  faults?: { raised: number; answered: number; minor: number; major: number; invalid: number; dropped: number; reposted: number; stalledUs: { p50: number; p99: number } };
  /** Device-TLB shootdowns the host completed before it took a page back (iopf). */
  shootdowns?: number;
  staticPin?: { pages: number; ms: number; modeledMs: number };
  violations: {
    dmaToUnpinned: number;
    lostPayloads: number;
    accounting: number;
    /** Reliance oracle (src/core/reliance.ts): the host took away a page or IOVA the guest held mapped. */
    unpinnedWhileMapped?: number;
    lostWakeups?: number;
    /** Maps that failed although no host pin failed meanwhile. */
    mapFailures?: number;
    /** Unpins before the device-IOTLB flush covering the page drained. */
    undrainedUnpins?: number;
    first?: ViolationRecord;
  };
  latencyUs: { map: Percentiles; pinRequest: Percentiles; invSubmit: Percentiles };
  /** IOTLB invalidation descriptors the host processed (vIOMMU; 0 otherwise). */
  invalidations: number;
  /** Invalidation-queue submissions (each: descriptors + one wait descriptor). */
  invSubmits: number;
  /** Submissions that found the invalidation queue's lock held by another vCPU. */
  invQueueLockWaits: number;
  /**
   * Device IOTLB: hits, misses, the memory reads of the walks on misses, the page-table caches'
   * misses by level, M = walk reads per page of DMA (F&S, SOSP'24), and the times the flush log
   * lapped the device (it fell IOTLB_LOG.SIZE flushes behind, or met a log it cannot trust, and dropped everything).
   */
  iotlb: { hits: number; misses: number; walkReads: number; ptcacheMisses?: { l1: number; l2: number; l3: number }; readsPerPage?: number; laps?: number };
  /** The vIOMMU family's invalidation strategy (`linux`, `fands`); absent for other policies. */
  invalidation?: string;
  /** Protection oracle: probes of recently unmapped DMA addresses, how many got through, for how long. */
  protection: { probes: number; leaks: number; windowUs: { p50: number; max: number } };
  exitsPerDma: number;
  modeled: {
    cyclesPerDma: number;
    costTable: CostTable;
    breakdown: Record<string, number>;
    /** The virtual clock: the longest vCPU's virtual time, and DMAs per virtual second. */
    virtualSeconds: number;
    opsPerSecond: number;
    /** Bits moved per virtual second, and as a share of the link (workloads with a line rate). */
    gbps?: number;
    lineRatePercent?: number;
    /** Map latency on the virtual clock. */
    latencyUs: { map: { p50: number; p99: number } };
    /** F&S's model from M: the device's per-page time l0 + M x l_m and T = 4 KiB / that, in Gbit/s. */
    translation?: { readsPerPage: number; pageNs: number; modelGbps: number };
  };
  parallelism: { cores: number; threads: number; spinners: number; oversubscribed: boolean };
  /**
   * The lost-wake-up check (--wake-grace): waits that timed out on a changed word whose notify came
   * late, within the grace (a waker descheduled between its store and its notify). Lost ones are
   * `violations.lostWakeups`.
   */
  wakeCheck?: { graceMs: number; lateWakes: number };
  /** What teardown found still mapped, queued or raised (each is also an accounting violation). */
  teardownLeftovers: string[];
  /** Injected faults (with --fault or a fail-nth sweep): per kind, injected and what the protocol did; failure points reached. */
  injectedFaults?: FaultTally;
  /** DMA temporal locality of the run's own maps (a sweep point that recorded its trace: `experiment locality`). */
  locality?: DmaLocality;
  /** The whole scenario: the base fields plus every section. */
  config: BaseScenario & SectionBag;
  /** The 1-minute load average and the cores when the run started (recorded by the command line). */
  machine?: MachineLoad;
  /** How many trials of this configuration the report aggregates (run, compare: always set). */
  trials?: number;
  /** The median and 95% bootstrap interval of the headline figures over the trials. */
  ci95?: TrialIntervals;
  /** Every trial's own report, in the order they ran (this report is a copy of the median one). */
  trialReports?: RunReport[];
}

/** One bucket of a log2 histogram: values in [from, to). */
export interface HistogramBucket {
  from: number;
  to: number;
  count: number;
}

/** The reuse distance of a run's page maps (the coIOMMU paper's DMA temporal locality). */
export interface DmaLocality {
  /** Pages mapped (a buffer of n pages counts n), distinct pages, and first touches (no reuse distance). */
  pageMaps: number;
  distinctPages: number;
  firstTouches: number;
  /** Maps between two maps of the same page, and the virtual time between them (µs). */
  reuseDistanceMaps: HistogramBucket[];
  reuseDistanceUs: HistogramBucket[];
}

export interface MachineLoad {
  loadAverage1m: number;
  cores: number;
}

/** A figure over the trials: its median and the 95% confidence interval of the median. */
export interface TrialInterval {
  median: number;
  lo: number;
  hi: number;
}

export interface TrialIntervals {
  opsPerSecond: TrialInterval;
  /** Only when every trial's report has `modeled.opsPerSecond`. */
  modeledOpsPerSecond?: TrialInterval;
  exitsPerDma: TrialInterval;
  mapP50Us: TrialInterval;
}

/** Policy and workload sections of a scenario, by config key (typed in src/lab/scenario.ts). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type SectionBag = { [section: string]: any };
