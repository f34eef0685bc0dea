// What a DMA policy is, to the rest of the lab. Everything the roles, the orchestrator, the config,
// the CLI, the cost model, the tables and the explorer ask of a design, it declares here; nobody
// outside its folder asks for it by name.
import type { GuestDmaPolicy } from '../core/guest-dma-policy.js';
import type { Histogram } from '../core/latency.js';
import type { Oracle } from '../core/oracle.js';
import type { UnmapLog } from '../core/protection.js';
import type { GuestClock, HostClock } from '../core/virtual-time.js';
import type { Scenario } from '../core/scenario.js';
import type { ConfigSection } from '../core/settings.js';
import type { BaseScenario, CostTable, NotifyPath, SectionBag } from '../core/types.js';
import type { MachineSpec } from '../machine/layout.js';
import type { Machine } from '../machine/machine.js';
import type { SharedMem } from '../machine/shared-mem.js';
import type { IoPageFaults } from '../mem/dma.js';
import type { HostMemory } from '../mem/host-memory.js';
import type { RequestServer } from '../notify/host-service.js';
import type { Lock } from '../notify/lock.js';

export type Scenario_ = BaseScenario & SectionBag;

/** What a vCPU's half of a policy is built from. */
export interface GuestContext {
  mem: SharedMem;
  m: Machine;
  cfg: Scenario_;
  vcpu: number;
  /** The vCPU's stats block. */
  stats: Float64Array;
  /** How long the vCPU spins on an answer before it parks (0 on the trap path: the exit stops it). */
  spinUs: number;
  /** A host that has not answered after this long is declared stuck. */
  timeoutMs: number;
  /** Round trips to the host, by kind (`pinRequest`, `invSubmit`), in ns. */
  latency: Record<'pinRequest' | 'invSubmit', Histogram>;
  /** Protection oracle: told when a DMA address becomes mapped again. */
  unmapLog?: UnmapLog;
  /** The vCPU's virtual clock: local work advances it, requests hand the host its time. */
  clock?: GuestClock;
  /** bare: the host's half run inline by this vCPU (a native OS programs its IOMMU itself). */
  inlineHost?: RequestServer;
}

/** What the host's half of a policy is built from (one per host thread: hypervisor, sidecore). */
export interface HostContext {
  mem: SharedMem;
  m: Machine;
  cfg: Scenario_;
  stats: Float64Array;
  host: HostMemory;
  /** The pin-state lock (NO_LOCK for the planted bug). */
  lock: Lock;
  timeoutMs: number;
  /** The host thread's virtual clock: the work of each request is charged to it. */
  clock?: HostClock;
}

/** Something teardown found still mapped, queued or raised. */
export type Leftover = (what: string, gfn?: number, frame?: number) => void;

/** The host's half: serve requests, periodic work, its share of accounting and teardown. */
export interface HostPolicy extends RequestServer {
  /** Periodic work on the host's timer (coIOMMU: one lazy unpin scan round). */
  periodic?(): void;
  /** Memory pressure: give up the pin on g if the guest does not need it. */
  forceUnpin?(g: number): boolean;
  /** The policy's own record of whether page g is pinned (DTT PINNED, shadow references). */
  pinnedFor?(g: number): boolean;
  /** Extra accounting rules of the policy's own structures; false when broken. */
  checkAccounting?(oracle: Oracle): boolean;
  /** Teardown, before anything is unpinned: what is still queued or live. */
  checkTeardown?(leftover: Leftover): void;
  /** Teardown, before the host unpins frame f of page g: clear the policy's state for it. */
  releasePage?(g: number, frame: number, leftover: Leftover): void;
  /** Teardown, after every frame is unpinned: clear the policy's tables, report what was left. */
  clearTables?(leftover: Leftover): void;
}

/** Counts from a run that the cost model prices. */
export interface CostCounts {
  notify: NotifyPath;
  dmaOps: number;
  dttOps: number;
  pinRequests: number;
  invSubmits: number;
  pins: number;
  unpins: number;
  walkReads: number;
  /** vIOMMU submissions that tore a mapping down, and IO page-table entries written or cleared. */
  teardownSubmits: number;
  ptWrites: number;
}

export interface DeviceIotlb {
  /** The table the IOMMU walks on a miss: DMA page -> host frame + 1. */
  table: Int32Array;
  entries: number;
  ways: number;
}

/** What the device's half of a policy is built from (the device role's worker). */
export interface DeviceContext {
  mem: SharedMem;
  m: Machine;
  cfg: Scenario_;
  stats: Float64Array;
  timeoutMs: number;
}

/** The device's half of a policy that takes I/O page faults, with its histograms for the report. */
export interface DevicePolicy extends IoPageFaults {
  histograms?(): Record<string, string>;
}

/** What the guest (or, iopf, the device) sends the host per request (for the report: which latency figures apply). */
export type RequestKind = 'none' | 'pin' | 'invalidation' | 'fault';

export interface Policy {
  name: string;
  /** Policies that share a config section and a help paragraph (`viommu`). */
  family: string;
  /** One paragraph for --help (lines of at most 60 characters after the name column). */
  help: string;
  /** Notify paths it runs on; the first is the one compare uses when it has only one. */
  notifyPaths: readonly NotifyPath[];
  /** Notify paths in the default comparison (`compare`, `npm start`). */
  compareOn: readonly NotifyPath[];
  /** The host pins all guest memory at VM creation. */
  pinsAtCreation: boolean;
  /** What the guest asks the host (a sidecore runs only when it asks something). */
  requests: RequestKind;
  /** The DMA address is the guest page (the protection oracle forgets a page when it is mapped). */
  identityDma: boolean;
  /** The device translates through an IOTLB of this size over this table (absent: the host IOMMU table directly). */
  deviceIotlb?(m: Machine, cfg: Scenario_): DeviceIotlb;
  /** Its config section (shared within a family). */
  config?: ConfigSection;
  /** Extra machine regions it needs. */
  machine?(cfg: Scenario_): Partial<MachineSpec>;
  /** The host's timer period (periodic work, reclaimer), in ms; default 50. */
  hostTimerMs?(cfg: Scenario_): number;
  /** The longest a vCPU may nap between its timers (deferred teardown), in ms. */
  guestTimerMs?(cfg: Scenario_): number;
  /** Threads that poll steadily besides the sidecore and vCPUs on the sidecore path (the device). */
  extraSpinners?: number;
  guest(ctx: GuestContext): GuestDmaPolicy;
  host?(ctx: HostContext): HostPolicy;
  /** The device's half (iopf: what it does on a translation miss). */
  device?(ctx: DeviceContext): DevicePolicy;
  /** Extra report keys from the machine's counters and the device's histograms (iopf: faults, shootdowns). */
  report?(m: Machine, deviceHistograms: Record<string, string>): Record<string, unknown>;
  /** Modeled cycles per DMA, by term (`m`: the run's machine, for counters of the policy's own). */
  cost(c: CostCounts, t: CostTable, m?: Machine): Record<string, number>;
  /** A footer line for the compare table (its settings), once per family. */
  footer?(cfg: Scenario_): string;
  /** Explorer scenarios and the planted bugs (`variant` names) they expose. */
  scenarios?: readonly Scenario[];
  variants?: Readonly<Record<string, string>>;
}
