// What a workload is, to the rest of the lab: a guest driver half (one per vCPU) that maps buffers
// through the DMA policy, a device half that serves them, its config section and its report line.
import type { DmaDirection, GuestDmaPolicy } from '../core/guest-dma-policy.js';
import type { Histogram } from '../core/latency.js';
import type { Oracle } from '../core/oracle.js';
import type { Prober, UnmapLog } from '../core/protection.js';
import type { ConfigSection } from '../core/settings.js';
import type { BaseScenario, SectionBag } from '../core/types.js';
import type { Machine } from '../machine/machine.js';
import type { SharedMem } from '../machine/shared-mem.js';
import type { IoPageFaults } from '../mem/dma.js';
import type { Iotlb } from '../mem/iotlb.js';
import type { GuestClock } from '../core/virtual-time.js';

type Cfg = BaseScenario & SectionBag;

export interface WorkloadGuestContext {
  mem: SharedMem;
  m: Machine;
  cfg: Cfg;
  vcpu: number;
  policy: GuestDmaPolicy;
  stats: Float64Array;
  oracle: Oracle;
  /** Map latency, in ns. */
  mapLatency: Histogram;
  unmapLog?: UnmapLog;
  /** The policy's DMA address is the guest page (the protection oracle forgets it when mapped again). */
  identityDma: boolean;
  /** The vCPU's virtual clock; with `virtual`, the workload's timers and completions follow it. */
  clock: GuestClock;
  virtual: boolean;
  /** Map latency on the virtual clock, in ns. */
  mapVirtualLatency: Histogram;
  /** Buffers this vCPU may post in all (its share of --ops; Infinity: no limit). */
  quota: number;
  /** The run is stopping: a wait for the device gives up. */
  stopped(): boolean;
}

export interface WorkloadDeviceContext {
  mem: SharedMem;
  m: Machine;
  cfg: Cfg;
  stats: Float64Array;
  oracle: Oracle;
  iotlb?: Iotlb;
  prober?: Prober;
  /** The policy's I/O page faults (iopf): hand them to the DMA engine. */
  faults?: IoPageFaults;
}

/** The guest driver of one vCPU. */
export interface WorkloadGuest {
  /** Post up to one batch of buffers; returns how many. */
  post(): number;
  /** Reap completions (verify, unmap, recycle); returns how many. */
  reap(): number;
  /** Nothing to do: spin briefly, then sleep up to sliceMs for a completion. */
  idle(sliceMs: number): void;
  /** Buffers posted and not yet reaped. */
  readonly inflight: number;
  /** Its share of --ops is posted. */
  readonly quotaDone: boolean;
  /**
   * Virtual clock: the next time something happens for the driver (its oldest completion's time,
   * its own timers); NaN while that completion is not yet known (wait for the device first).
   */
  nextEventNs(): number;
}

/** The device. */
export interface WorkloadDevice {
  /** Serve every queue once; returns descriptors processed. */
  poll(): number;
  /** Sleep until a guest kicks the device or sliceMs passes. */
  park(sliceMs: number): void;
}

export interface Workload {
  name: string;
  /** One paragraph for --help. */
  help: string;
  config: ConfigSection;
  /** Entries of each descriptor / completion ring. */
  ringEntries(cfg: Cfg): number;
  guest(ctx: WorkloadGuestContext): WorkloadGuest;
  device(ctx: WorkloadDeviceContext): WorkloadDevice;
  /** The report's workload line: its name and settings. */
  describe(cfg: Cfg): string;
  /** Bytes one DMA op moves and the link's rate, for the modeled Gbit/s and % of line rate. */
  lineRate?(cfg: Cfg): { bytesPerOp: number; gbps: number };
  /** The direction of a map that does not say (default FROM_DEVICE: the device writes, as net's receive). */
  dmaDirection?: DmaDirection;
  /** Its guests end by themselves (quotaDone without --ops): the run ends when they all have. */
  finite?(cfg: Cfg): boolean;
}
