// The protection oracle (DESIGN 3.2). The guest driver logs every DMA address whose unmap has
// returned (UnmapLog.record); the device, between DMAs, probes those addresses through the same
// translation path its DMAs use (Prober). Under viommu-strict every such probe must fault: a probe
// that gets through is a leak. Under lazy / optimistic / passthrough / coiommu / static, probes
// get through by design: the oracle counts them and measures each address's window of
// vulnerability (age of its last successful probe), the price of the policy, not an error.
// Like the violation counters, the log is the oracle's own state: it uses Atomics directly and
// stays out of the SharedMem interface the explorer schedules.
// A probe is a translation, whatever the direction: an address that still translates leaks both
// ways (the device could read the guest's data as well as overwrite it), so device reads
// (DMA_TO_DEVICE) and writes are watched alike.
import { PROBE_LOG, STAT } from '../machine/layout.js';
import type { Machine } from '../machine/machine.js';
import type { Histogram } from './latency.js';

/** µs since the run started, as a 31-bit wrapping clock shared by all roles. */
export const clockUs = (t0: number): number => Math.round((performance.timeOrigin + performance.now() - t0) * 1000) & 0x7fffffff;
const ageUs = (nowUs: number, thenUs: number): number => (nowUs - thenUs) & 0x7fffffff;
const slotAt = (slot: number): number => PROBE_LOG.BASE + slot * PROBE_LOG.ENTRY_WORDS;

/** Guest side: one per vCPU. */
export class UnmapLog {
  private readonly log: Int32Array;
  private readonly slotOf = new Map<number, number>();
  private cursor = 0;

  constructor(
    m: Machine,
    vcpu: number,
    private readonly t0: number,
  ) {
    this.log = m.probeLogOf(vcpu);
  }

  /** The driver's unmap of DMA address `dma` has returned. */
  record(dma: number): void {
    const { log } = this;
    const slot = this.cursor & (PROBE_LOG.ENTRIES - 1);
    const at = slotAt(slot);
    const old = Atomics.load(log, at) - 1;
    if (old >= 0 && this.slotOf.get(old) === slot) this.slotOf.delete(old);
    Atomics.store(log, at, 0);
    Atomics.store(log, at + 1, clockUs(this.t0));
    Atomics.store(log, at, dma + 1);
    this.slotOf.set(dma, slot);
    this.cursor = (this.cursor + 1) | 0;
    Atomics.store(log, PROBE_LOG.CURSOR, this.cursor);
  }

  /** `dma` is about to be mapped again: from now on it is not an unmapped address. */
  forget(dma: number): void {
    const slot = this.slotOf.get(dma);
    if (slot === undefined) return;
    Atomics.store(this.log, slotAt(slot), 0);
    this.slotOf.delete(dma);
  }
}

interface Watched {
  vcpu: number;
  slot: number;
  dma: number;
  atUs: number;
  /** Age of the last probe that got through, -1 if none did. */
  leakAgeUs: number;
}

/** How many watched addresses the device keeps probing; the oldest are dropped beyond it. */
const WATCH_LIMIT = 512;

/** Device side. */
export class Prober {
  private readonly seen: Int32Array;
  /** Each vCPU's unmap log (views made once: a probe is on the device's hot path). */
  private readonly logs: Int32Array[];
  /** Leaked addresses, probed again until they fault. */
  private watch: Watched[] = [];
  /** Addresses not probed yet. */
  private fresh: Watched[] = [];

  constructor(
    private readonly m: Machine,
    private readonly t0: number,
    /** The device's translation of a DMA address, as a probe: the frame or -1 (a fault). */
    private readonly translate: (dma: number) => number,
    private readonly stats: Float64Array,
    /** Windows of vulnerability, in ns (hdr histograms store integers). */
    private readonly windows: Histogram,
  ) {
    this.seen = new Int32Array(m.spec.vcpus);
    this.logs = Array.from({ length: m.spec.vcpus }, (_, v) => m.probeLogOf(v));
  }

  /**
   * Pick up newly unmapped addresses and probe up to `budget` of them. A fresh address is probed
   * first (the moment right after an unmap completed is when a strict-mode bug shows); addresses
   * that leaked are probed again, after the fresh ones, until they fault. Returns probes made.
   */
  poll(budget: number): number {
    const m = this.m;
    for (let v = 0; v < m.spec.vcpus; v++) {
      const log = this.logs[v];
      const cur = Atomics.load(log, PROBE_LOG.CURSOR);
      let k = this.seen[v];
      if (((cur - k) | 0) > PROBE_LOG.ENTRIES) k = (cur - PROBE_LOG.ENTRIES) | 0; // lapped: skip to the live part
      for (; k !== cur; k = (k + 1) | 0) {
        const slot = k & (PROBE_LOG.ENTRIES - 1);
        const dma = Atomics.load(log, slotAt(slot)) - 1;
        const atUs = Atomics.load(log, slotAt(slot) + 1);
        if (dma >= 0) this.fresh.push({ vcpu: v, slot, dma, atUs, leakAgeUs: -1 });
      }
      this.seen[v] = cur;
    }
    // Beyond the limit, the oldest go unprobed: leaked ones first, then the oldest fresh ones.
    while (this.watch.length > 0 && this.watch.length + this.fresh.length > WATCH_LIMIT) this.finish(this.watch.shift()!);
    while (this.fresh.length > WATCH_LIMIT) this.finish(this.fresh.shift()!);
    let probes = 0;
    // (counted once: an address that leaks goes to the back and waits for the next poll)
    for (let n = Math.min(budget, this.fresh.length + this.watch.length); n > 0; n--) {
      const w = this.fresh.length > 0 ? this.fresh.pop()! : this.watch.shift()!; // newest fresh first
      if (this.probe(w)) probes++;
    }
    return probes;
  }

  /** One probe of a watched address; false if it was mapped again (then it is no probe). */
  private probe(w: Watched): boolean {
    if (!this.stillUnmapped(w)) {
      this.finish(w);
      return false;
    }
    const f = this.translate(w.dma);
    // Mapped again meanwhile? Then the translation may be the new mapping's: not a probe.
    if (!this.stillUnmapped(w)) {
      this.finish(w);
      return false;
    }
    this.stats[STAT.PROBES]++;
    if (f >= 0) {
      this.stats[STAT.PROBE_LEAKS]++;
      w.leakAgeUs = ageUs(clockUs(this.t0), w.atUs);
      this.watch.push(w); // keep probing until it faults
    } else this.finish(w);
    return true;
  }

  /** Record the windows of everything still watched (end of run). */
  close(): void {
    for (const w of this.watch) this.finish(w);
    for (const w of this.fresh) this.finish(w);
    this.watch = [];
    this.fresh = [];
  }

  private stillUnmapped(w: Watched): boolean {
    const log = this.logs[w.vcpu];
    const at = slotAt(w.slot);
    return Atomics.load(log, at) === w.dma + 1 && Atomics.load(log, at + 1) === w.atUs;
  }

  private finish(w: Watched): void {
    if (w.leakAgeUs >= 0) this.windows.recordValue(Math.max(1, w.leakAgeUs * 1000));
  }
}
