// The device IOTLB: a bounded, set-associative cache of IOVA page -> host frame, filled by walks
// of the host table (the vIOMMU's shadow table, or the host IOMMU table in passthrough).
//
// Why the flush is visible across threads: the cache arrays are the device worker's private memory
// (device-private state, as in hardware), so the host cannot clear them. Instead the host appends
// the range to a flush log in shared memory and bumps a generation word GEN (IotlbFlusher.post).
// The device brackets every access (translate + DMA) with begin()/end(): begin() publishes the
// generation it runs under in ACTIVE, re-reads GEN (Dekker-style: store, fence, then load; the fence is
// free on sequentially consistent Atomics and needed on x86-TSO) and drops every logged range it has not applied yet. The host, after
// posting, waits until ACTIVE is IDLE or at least the new generation (IotlbFlusher.drain). So once
// drain returns, no access can use a translation cached before the flush: either the access began
// after the bump (it saw the log entry and dropped the range) or it was in flight and has ended.
// Only then may the host unpin the frame or complete the wait descriptor.
// A miss walks the 4-level IO page table through the page-table caches (src/mem/page-walk.ts);
// a log entry's FLAGS say whether those caches go too (FLUSH in layout.ts).
// A device that falls more than the log's size behind (or whose log entries are overwritten while
// it reads them) drops the whole cache: a global flush is always correct.
import { FLUSH, IOTLB_LOG, IOTLB_LOG_ENTRY, STAT } from '../machine/layout.js';
import type { Machine } from '../machine/machine.js';
import type { SharedMem } from '../machine/shared-mem.js';
import { Doorbell } from '../notify/doorbell.js';
import { PageWalker } from './page-walk.js';

/**
 * Memory reads of one walk of a flat table given as a function (tests, the explorer's small
 * scenarios): a 4-level table with no page-table cache, 4 reads. The device's real walk is a
 * PageWalker over the 4-level table, 1 to 4 reads by what its caches hold.
 */
export const WALK_READS = 4;

export class IotlbTimeoutError extends Error {}

/** Where generation g's range sits in the flush log. */
const logEntry = (g: number): number => IOTLB_LOG.ENTRIES + (g & (IOTLB_LOG.SIZE - 1)) * IOTLB_LOG_ENTRY.WORDS;

/** ACTIVE as a doorbell: the device's end() sets it IDLE, a draining host sleeps on it with HOST_PARKED raised. */
const activeDoorbell = (mem: SharedMem, m: Machine): Doorbell => new Doorbell(mem, m.iotlbLog, IOTLB_LOG.ACTIVE, IOTLB_LOG.HOST_PARKED);

/** Device side. */
export class Iotlb {
  readonly sets: number;
  private readonly tags: Int32Array; // iova + 1, 0 = invalid
  private readonly frames: Int32Array;
  private readonly victim: Uint8Array; // round-robin replacement pointer per set
  /** Generation whose flushes this cache has applied. */
  private gen: number;
  private readonly active: Doorbell;
  /** The 4-level walk and its page-table caches (absent: a flat lookup). */
  readonly walker?: PageWalker;
  private readonly walk: (iova: number) => number;
  /** The lookup without counting (a probe). */
  private readonly look: (iova: number) => number;

  constructor(
    private readonly mem: SharedMem,
    private readonly m: Machine,
    readonly entries: number,
    readonly ways: number,
    private readonly stats: Float64Array,
    /** The page walk (or a flat lookup: the frame an IOVA page maps to, or -1 for a fault). */
    walk: PageWalker | ((iova: number) => number),
  ) {
    if (walk instanceof PageWalker) {
      this.walker = walk;
      this.walk = (iova) => walk.walk(iova);
      this.look = (iova) => walk.peek(iova);
    } else {
      this.walk = (iova) => ((this.stats[STAT.IOTLB_WALK_READS] += WALK_READS), walk(iova));
      this.look = walk;
    }
    this.sets = entries / ways;
    if (!Number.isInteger(this.sets) || (this.sets & (this.sets - 1)) !== 0)
      throw new RangeError(`IOTLB: ${entries} entries / ${ways} ways must be a power-of-two number of sets`);
    this.tags = new Int32Array(entries);
    this.frames = new Int32Array(entries);
    this.victim = new Uint8Array(this.sets);
    this.gen = mem.load(m.iotlbLog, IOTLB_LOG.GEN);
    this.active = activeDoorbell(mem, m);
  }

  /** Start one device access: publish the generation it runs under and apply pending flushes. */
  begin(): void {
    const { mem } = this;
    const log = this.m.iotlbLog;
    let g = mem.load(log, IOTLB_LOG.GEN);
    for (;;) {
      mem.store(log, IOTLB_LOG.ACTIVE, (g + 1) | 0); // generation + 1: 0 means idle
      // x86-TSO: ACTIVE must be visible before GEN is re-read, or a host that bumps GEN meanwhile
      // reads the old ACTIVE, sees no access in flight and unpins under a translation this access
      // then uses (the explorer's --memory-model tso finds it: planted bug missing-fence-device).
      mem.fence();
      const again = mem.load(log, IOTLB_LOG.GEN);
      if (again === g) break;
      g = again;
    }
    if (g !== this.gen) this.applyFlushes(g);
  }

  /** End the access: no translation of this device is in flight any more (wake a draining host). */
  end(): void {
    this.active.set(IOTLB_LOG.IDLE);
  }

  /** Translate one IOVA page (between begin and end). The frame, or -1 for a fault. */
  translate(iova: number): number {
    const set = iova & (this.sets - 1);
    const base = set * this.ways;
    const tag = iova + 1;
    for (let w = 0; w < this.ways; w++)
      if (this.tags[base + w] === tag) {
        this.stats[STAT.IOTLB_HITS]++;
        return this.frames[base + w];
      }
    this.stats[STAT.IOTLB_MISSES]++;
    const f = this.walk(iova);
    if (f < 0) return -1; // faults are not cached
    const w = this.victim[set];
    this.victim[set] = (w + 1) % this.ways;
    this.tags[base + w] = tag;
    this.frames[base + w] = f;
    return f;
  }

  /** A protection probe (between begin and end): would this IOVA translate? Fills nothing, counts nothing. */
  probe(iova: number): number {
    const base = (iova & (this.sets - 1)) * this.ways;
    for (let w = 0; w < this.ways; w++) if (this.tags[base + w] === iova + 1) return this.frames[base + w];
    return this.look(iova);
  }

  /** The virtual time of the accesses that follow (Linux-style page-table-cache flushes wait for it). */
  at(ns: number): void {
    if (this.walker) this.walker.now = ns;
  }

  /** Is this IOVA cached right now? (tests) */
  cached(iova: number): boolean {
    const base = (iova & (this.sets - 1)) * this.ways;
    for (let w = 0; w < this.ways; w++) if (this.tags[base + w] === iova + 1) return true;
    return false;
  }

  private applyFlushes(g: number): void {
    const { mem } = this;
    const log = this.m.iotlbLog;
    const from = this.gen;
    const behind = (g - from) | 0;
    if (behind < 0 || behind >= IOTLB_LOG.SIZE) this.lapped(); // (or a log we cannot trust)
    else {
      for (let k = (from + 1) | 0; k !== ((g + 1) | 0); k = (k + 1) | 0) {
        const e = logEntry(k);
        this.dropRange(mem.load(log, e + IOTLB_LOG_ENTRY.IOVA), mem.load(log, e + IOTLB_LOG_ENTRY.PAGES));
        this.flushPtCaches(mem.load(log, e + IOTLB_LOG_ENTRY.FLAGS), this.m.iotlbLogVt[k & (IOTLB_LOG.SIZE - 1)]);
      }
      // The host may have lapped the log while we read it: then an entry read may be a newer one.
      if (((mem.load(log, IOTLB_LOG.GEN) - from) | 0) >= IOTLB_LOG.SIZE) this.lapped();
    }
    this.gen = g;
  }

  /** The log lapped this device: entries it had not applied are gone, so everything goes (counted). */
  private lapped(): void {
    this.stats[STAT.IOTLB_LAPS]++;
    this.dropAll();
  }

  private dropRange(iova: number, pages: number): void {
    if (pages < 0) return this.dropAll(); // a global flush: page-table caches too
    if (pages >= this.entries) {
      // a range larger than the cache: look at every entry instead (exact: other IOVAs stay)
      for (let k = 0; k < this.entries; k++) if (this.tags[k] > iova && this.tags[k] <= iova + pages) this.tags[k] = 0;
      return;
    }
    for (let p = 0; p < pages; p++) {
      const base = ((iova + p) & (this.sets - 1)) * this.ways;
      for (let w = 0; w < this.ways; w++) if (this.tags[base + w] === iova + p + 1) this.tags[base + w] = 0;
    }
  }

  /** Everything: a global flush, or a log entry lost (lapped): the page-table caches go too. */
  private dropAll(): void {
    this.tags.fill(0);
    this.walker?.flush();
  }

  /** A log entry's page-table-cache part: at once for a freed page, at its time for Linux's hint. */
  private flushPtCaches(flags: number, vt: number): void {
    const w = this.walker;
    if (!w) return;
    if (flags & FLUSH.PT_FREED) w.flush();
    else if (flags & FLUSH.PTC_HINT) w.flushAt(vt);
  }
}

/** Host side: publish flushes and wait for the device to stop using older translations. */
export class IotlbFlusher {
  private readonly active: Doorbell;

  constructor(
    private readonly mem: SharedMem,
    private readonly m: Machine,
    private readonly stats: Float64Array,
    private readonly timeoutMs: number,
  ) {
    this.active = activeDoorbell(mem, m);
  }

  /**
   * Ask the device to drop [iova, iova + pages) (pages < 0: everything) and, by `flags` (FLUSH), its
   * page-table caches; `vt` is the virtual time of the unmap. Returns the new generation.
   */
  post(iova: number, pages: number, flags = 0, vt = 0): number {
    const { mem } = this;
    const log = this.m.iotlbLog;
    // One writer at a time: callers hold the pin-state lock.
    let g = (mem.load(log, IOTLB_LOG.GEN) + 1) | 0;
    if (g === -1) {
      // A device running under generation -1 would publish ACTIVE = 0 = IDLE and escape drain():
      // the generation skips -1, whose log slot asks for a global flush (a device behind applies it).
      this.writeEntry(g, 0, -1, FLUSH.PT_FREED, 0);
      g = 0;
    }
    this.writeEntry(g, iova, pages, flags, vt);
    mem.store(log, IOTLB_LOG.GEN, g);
    // x86-TSO: GEN must be visible before drain() reads ACTIVE (the other half of begin()'s
    // Dekker pair). Without it the drain sees no access in flight while a device that began just
    // then reads the old GEN: `viommu-lab mutate --scenario fands-unmap-vs-walk --only
    // host:delay-store:` finds the protection leak (three switches: the focused search's).
    mem.fence();
    this.stats[STAT.IOTLB_FLUSHES]++;
    return g;
  }

  /** Generation g's log entry: the range to drop. */
  private writeEntry(g: number, iova: number, pages: number, flags: number, vt: number): void {
    const log = this.m.iotlbLog;
    const e = logEntry(g);
    this.mem.store(log, e + IOTLB_LOG_ENTRY.IOVA, iova);
    this.mem.store(log, e + IOTLB_LOG_ENTRY.PAGES, pages);
    this.mem.store(log, e + IOTLB_LOG_ENTRY.FLAGS, flags);
    this.m.iotlbLogVt[g & (IOTLB_LOG.SIZE - 1)] = vt; // published by the GEN store that follows
  }

  /** Wait until no device access that began before generation g is still in flight. */
  drain(g: number): void {
    const { active } = this;
    let deadline = 0;
    for (;;) {
      const a = active.value();
      if (a === IOTLB_LOG.IDLE || ((a - 1 - g) | 0) >= 0) return;
      // An access is one page of DMA: short, unless its thread was descheduled. Spin, then park.
      if (active.spin(a, 20)) continue;
      if (deadline === 0) deadline = performance.now() + this.timeoutMs;
      active.awaitChange(a, 1);
      if (performance.now() > deadline)
        throw new IotlbTimeoutError(`device IOTLB flush not acknowledged within ${this.timeoutMs} ms (device stuck in an access?)`);
    }
  }
}
