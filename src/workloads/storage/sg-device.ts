// The device half of a scatter-gather queue (storage and trace replay): per vCPU a submission
// ring and a completion ring. For each segment it DMAs every page in the direction the descriptor
// says: it writes a stamped payload (DMA_FROM_DEVICE) or reads the page and checks that it holds
// what the guest wrote (DMA_TO_DEVICE). The DMA engine runs the oracle's safety check on both.
import { DETAIL, type Oracle } from '../../core/oracle.js';
import type { Prober } from '../../core/protection.js';
import type { CostTable } from '../../core/types.js';
import { DeviceClock } from '../../core/virtual-time.js';
import { RING, STAT } from '../../machine/layout.js';
import type { Machine } from '../../machine/machine.js';
import type { SharedMem } from '../../machine/shared-mem.js';
import { DmaEngine, READ_FAULT, type IoPageFaults } from '../../mem/dma.js';
import type { Iotlb } from '../../mem/iotlb.js';
import { deviceDoorbell } from '../../notify/delivery.js';
import type { Doorbell } from '../../notify/doorbell.js';
import { SpscRing } from '../../notify/ring.js';
import type { WorkloadDevice } from '../workload.js';
import { SG_COMP, SG_DESC, SG_FLAG } from './sg-ring.js';

export class SgDevice implements WorkloadDevice {
  private readonly desc: SpscRing[] = [];
  private readonly comp: SpscRing[] = [];
  readonly dma: DmaEngine;
  private readonly bell: Doorbell;
  private readonly entry = new Int32Array(RING.ENTRY_WORDS);
  private readonly clock: DeviceClock;

  constructor(
    mem: SharedMem,
    private readonly m: Machine,
    private readonly costs: CostTable,
    private readonly stats: Float64Array,
    private readonly oracle: Oracle,
    /** The device's own time per request before its data moves (a flash read, say), in ns. */
    private readonly requestNs: number,
    iotlb?: Iotlb,
    private readonly prober?: Prober,
    /** The policy's I/O page faults (iopf): the device stalls on a fault and goes on. */
    faults?: IoPageFaults,
  ) {
    this.dma = new DmaEngine(mem, m, stats, oracle, iotlb, faults);
    this.bell = deviceDoorbell(mem, m);
    this.clock = new DeviceClock(m);
    for (let v = 0; v < m.spec.vcpus; v++) {
      this.desc.push(new SpscRing(mem, m.descRing(v), m.spec.ringEntries));
      this.comp.push(new SpscRing(mem, m.compRing(v), m.spec.ringEntries));
    }
  }

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
   * Segment i of ring v: its DMA and its completion. On the virtual clock it starts at max(post
   * time, the queue's free time), plus the request's own latency on its first segment, and moves
   * each page in l0 + M x l_m, as net's device does.
   */
  private complete(v: number, d: SpscRing, i: number, c: SpscRing): void {
    const dma = d.peek(i, SG_DESC.DMA);
    const gfn = d.peek(i, SG_DESC.GFN);
    const flags = d.peek(i, SG_DESC.FLAGS);
    const stamp = d.peek(i, SG_DESC.STAMP);
    const pages = flags & SG_FLAG.PAGES;
    const reads = this.stats[STAT.IOTLB_WALK_READS];
    const stalled = this.dma.faults?.stalledNs ?? 0;
    for (let k = 0; k < pages; k++) this.transfer(dma + k, gfn + k, stamp, flags);
    const base = v * this.m.spec.ringEntries;
    let start = Math.max(this.m.descVt[base + d.indexOf(i)], this.clock.freeAt(v));
    if (flags & SG_FLAG.FIRST) start += this.requestNs;
    const walkNs = (this.stats[STAT.IOTLB_WALK_READS] - reads) * this.costs.iotlbMissReadNs;
    const stallNs = (this.dma.faults?.stalledNs ?? 0) - stalled; // I/O page faults (iopf)
    const done = start + pages * this.costs.dmaPageNs + walkNs + stallNs;
    this.clock.setFreeAt(v, done);
    this.m.compVt[base + c.nextIndex()] = done;
    const e = this.entry;
    e[SG_COMP.GFN] = gfn;
    e[SG_COMP.FLAGS] = flags;
    e[SG_COMP.STAMP] = stamp;
    e[SG_COMP.DMA] = dma;
    c.put(e);
  }

  /** One page, in the descriptor's direction. */
  private transfer(dmaPage: number, gfn: number, stamp: number, flags: number): void {
    if ((flags & SG_FLAG.DEVICE_READS) === 0) {
      this.dma.write(dmaPage, gfn, stamp);
      return;
    }
    const got = this.dma.read(dmaPage, gfn);
    // nothing lost: the device reads back what the guest wrote (a fault is already reported)
    if (got !== READ_FAULT && got !== stamp && (flags & SG_FLAG.NO_VERIFY) === 0) this.oracle.report('lostPayloads', gfn, -1, DETAIL.readMismatch);
  }

  pending(): boolean {
    for (const d of this.desc) if (d.available() > 0) return true;
    return false;
  }

  park(sliceMs: number): void {
    this.bell.sleep(() => this.pending(), sliceMs);
  }
}
