// The `net` workload, device half: a NIC that takes receive descriptors from every vCPU's ring,
// translates each page through the host IOMMU table, writes a stamped payload and posts a
// completion.
import { RING, STAT } from '../../machine/layout.js';
import type { Machine } from '../../machine/machine.js';
import type { SharedMem } from '../../machine/shared-mem.js';
import { DmaEngine, type IoPageFaults } from '../../mem/dma.js';
import type { Iotlb } from '../../mem/iotlb.js';
import { deviceDoorbell } from '../../notify/delivery.js';
import type { Doorbell } from '../../notify/doorbell.js';
import { SpscRing } from '../../notify/ring.js';
import type { Oracle } from '../../core/oracle.js';
import type { Prober } from '../../core/protection.js';
import type { WorkloadDevice } from '../workload.js';
import type { CostTable } from '../../core/types.js';
import { DeviceClock } from '../../core/virtual-time.js';
import { COMP, DESC } from './guest.js';

export class NetDevice implements WorkloadDevice {
  private readonly desc: SpscRing[] = [];
  private readonly comp: SpscRing[] = [];
  readonly dma: DmaEngine;
  private readonly bell: Doorbell;
  /** The completion being posted, by COMP field. */
  private readonly entry = new Int32Array(RING.ENTRY_WORDS);

  private readonly ringEntries: number;
  /** The device's virtual clocks: when each queue is free to start its next DMA. */
  private readonly clock: DeviceClock;

  constructor(
    mem: SharedMem,
    private readonly m: Machine,
    private readonly costs: CostTable,
    private readonly stats: Float64Array,
    oracle: Oracle,
    iotlb?: Iotlb,
    /** The protection oracle's probes, run after each batch of DMAs. */
    private readonly prober?: Prober,
    faults?: IoPageFaults,
  ) {
    this.dma = new DmaEngine(mem, m, stats, oracle, iotlb, faults);
    this.bell = deviceDoorbell(mem, m);
    this.ringEntries = m.spec.ringEntries;
    this.clock = new DeviceClock(m);
    for (let v = 0; v < m.spec.vcpus; v++) {
      this.desc.push(new SpscRing(mem, m.descRing(v), m.spec.ringEntries));
      this.comp.push(new SpscRing(mem, m.compRing(v), m.spec.ringEntries));
    }
  }

  /** Serve every ring once. Returns descriptors processed. */
  poll(): number {
    let total = 0;
    for (let v = 0; v < this.desc.length; v++) {
      const d = this.desc[v];
      const c = this.comp[v];
      const n = Math.min(d.available(), c.space());
      if (n === 0) continue;
      for (let i = 0; i < n; i++) this.complete(v, d, i, c);
      d.release(n);
      c.publish();
      this.stats[STAT.COMPLETIONS] += n;
      c.published.wake();
      total += n;
    }
    if (this.prober) this.prober.poll(total > 0 ? 4 : 16);
    return total;
  }

  /**
   * Do the DMA descriptor i of ring v asks for and write its completion. On the virtual clock the
   * device starts it at max(its post time, the device's free time) and serves each page in
   * l0 + M x l_m (F&S's model; M = the memory reads of its IOTLB misses).
   */
  private complete(v: number, d: SpscRing, i: number, c: SpscRing): void {
    const dma = d.peek(i, DESC.DMA);
    const gfn = d.peek(i, DESC.GFN);
    const pages = d.peek(i, DESC.PAGES);
    const stamp = d.peek(i, DESC.STAMP);
    const reads = this.stats[STAT.IOTLB_WALK_READS];
    const stalled = this.dma.faults?.stalledNs ?? 0;
    let dropped = false; // iopf --fault-mode drop: a page fault drops the descriptor, the guest re-posts it
    for (let k = 0; k < pages && !dropped; k++) dropped = !this.dmaWrite(dma + k, gfn + k, stamp) && this.dma.faults !== undefined;
    const base = v * this.ringEntries;
    const start = Math.max(this.m.descVt[base + d.indexOf(i)], this.clock.freeAt(v));
    const walkNs = (this.stats[STAT.IOTLB_WALK_READS] - reads) * this.costs.iotlbMissReadNs;
    const stallNs = (this.dma.faults?.stalledNs ?? 0) - stalled; // I/O page faults (iopf)
    const done = start + pages * this.costs.dmaPageNs + walkNs + stallNs;
    this.clock.setFreeAt(v, done);
    this.m.compVt[base + c.nextIndex()] = done;
    const e = this.entry;
    e[COMP.GFN] = gfn;
    e[COMP.PAGES] = dropped ? -pages : pages; // negative: dropped
    e[COMP.STAMP] = stamp;
    e[COMP.DMA] = dma;
    c.put(e);
  }

  /** Any descriptor waiting? (re-checked after raising the parked flag) */
  pending(): boolean {
    for (const d of this.desc) if (d.available() > 0) return true;
    return false;
  }

  /** Sleep on the device doorbell until a guest kicks it or sliceMs passes. */
  park(sliceMs: number): void {
    this.bell.sleep(() => this.pending(), sliceMs);
  }

  /** One page of DMA (see DmaEngine). */
  dmaWrite(dmaPage: number, gfn: number, stamp: number): boolean {
    return this.dma.write(dmaPage, gfn, stamp);
  }
}
