// The one place that says where everything lives in the machine's SharedArrayBuffer.
// Every worker computes the same layout from the same spec and builds views over it.

export const PAGE_SIZE = 4096;
export const MAX_GUEST_PAGES = 32 * 1024 * 1024; // 128 GiB of 4 KiB pages
export const MAX_VCPUS = 8;
export const LINE_BYTES = 64; // one cache line: words written by different roles never share one
export const LINE_WORDS = LINE_BYTES / 4;

export interface MachineSpec {
  guestPages: number;
  vcpus: number;
  /** Host frames that can back guest pages (at most one per guest page). */
  hostFrames: number;
  /** Payload storage frames; handed out only when DMA first touches a frame. */
  dataFrames: number;
  /** Entries per descriptor / completion ring. */
  ringEntries: number;
  /**
   * IOVA pages of the emulated vIOMMU (guest IO page table and host shadow table are sized by it);
   * 0 (the default) when the policy has no vIOMMU, so other runs pay nothing for it.
   */
  iovaPages?: number;
  /** Descriptors in the invalidation queue (a power of two; default 256, as VT-d drivers use). */
  invqEntries?: number;
  /**
   * Words of the coIOMMU policy's own guest-memory structures (its registers, the multi-level DTT's
   * page pool, the batch pin-info buffers), laid out by the policy; 0 (the default) for others.
   */
  coiommuWords?: number;
  /** Words of a policy's device -> host page request queue (iopf); 0 (the default): none. */
  prqWords?: number;
}

/**
 * Words laid out from the start of cache line `line`, named in order. A group of words written by
 * one role gets a line of its own this way, and cannot spill into the next one.
 */
function wordsOnLine<const K extends string>(line: number, names: readonly K[]): Readonly<Record<K, number>> {
  if (names.length > LINE_WORDS) throw new RangeError(`${names.length} words do not fit on one line`);
  return Object.fromEntries(names.map((name, k) => [name, line * LINE_WORDS + k])) as Record<K, number>;
}

// ---- control block (Int32 words, each group on its own line) ----
export const CTL = {
  STATE: 0, // RunState; the rest of line 0 is unused
  // violations (any role adds); VIOL_FIRST_SET is 0 until the first record is claimed
  ...wordsOnLine(1, ['VIOL_DMA', 'VIOL_LOST', 'VIOL_ACCT', 'VIOL_FIRST_SET', 'VIOL_KIND', 'VIOL_ROLE', 'VIOL_GFN', 'VIOL_FRAME', 'VIOL_AT_MS', 'VIOL_DETAIL']),
  // host memory accounting (changed under the pin-state lock): FRAME_HIGH - frames [0, FRAME_HIGH)
  // have been handed out at least once; FRAME_FREE_TOP - entries on the free-frame stack;
  // DATA_NEXT - bump pointer of the data-frame pool (device only)
  ...wordsOnLine(2, ['PINNED_NOW', 'PINNED_PEAK', 'RESIDENT_NOW', 'RESIDENT_PEAK', 'FRAME_HIGH', 'FRAME_FREE_TOP', 'DATA_NEXT']),
  // the pin-state lock (a futex-style mutex word)
  ...wordsOnLine(3, ['PIN_LOCK']),
  // doorbells (src/notify/doorbell.ts): sequence word + "parked" flag of the role that sleeps on it
  ...wordsOnLine(4, ['HOST_DOORBELL', 'HOST_PARKED']),
  ...wordsOnLine(5, ['SIDECORE_DOORBELL', 'SIDECORE_PARKED']),
  ...wordsOnLine(6, ['DEVICE_DOORBELL', 'DEVICE_PARKED']),
  // virtual time (src/core/virtual-time.ts): the host bumps TIMER_SEQ each time it has run a host
  // timer; vCPUs waiting at that timer's deadline sleep on it
  ...wordsOnLine(7, ['TIMER_SEQ', 'TIMER_PARKED']),
  // the guest-reliance oracle's violations (src/core/reliance.ts), the host's failed pins, and the
  // run's start (ms modulo 2^30) for oracles built inside a policy, which are not told it
  ...wordsOnLine(8, ['VIOL_RELY', 'VIOL_WAKE', 'VIOL_MAPFAIL', 'VIOL_DRAIN', 'HOST_PIN_FAILS', 'RUN_T0_MOD']),
  WORDS: LINE_WORDS * 9,
} as const;

export const RunState = {
  Init: 0,
  Running: 1,
  /** Guests stop posting new work and drain what is in flight; host and device keep serving. */
  GuestsStop: 2,
  Stop: 3,
  Abort: 4,
} as const;

// ---- per-role statistics (Float64, written only by the owning role, read by main) ----
export const STAT = {
  HEARTBEAT: 0,
  // guest
  MAPS: 1,
  UNMAPS: 2,
  DMA_OPS: 3,
  PIN_REQUESTS: 4,
  PIN_REQUEST_PAGES: 5,
  EXITS: 6,
  MAP_FAILURES: 7,
  SIDECORE_WAKEUPS: 8,
  DEVICE_KICKS: 9,
  DTT_OPS: 10,
  // host (hypervisor / sidecore)
  PINS: 11,
  UNPINS: 12,
  SCANS: 13,
  RECLAIMED: 14,
  RESTORED: 15,
  FORCE_UNPINS: 16,
  SPECULATIVE_PINS: 17,
  REQUESTS_SERVED: 18,
  // device
  DMA_PAGES: 19,
  COMPLETIONS: 20,
  IOMMU_FAULTS: 21,
  GUEST_PARKS: 22,
  // vIOMMU
  INV_SUBMITS: 23, // guest: invalidation-queue submissions (descriptors + one wait descriptor)
  INV_DESCS: 24, // host: IOTLB invalidation descriptors processed
  IOTLB_FLUSHES: 25, // host: device-IOTLB flush requests published
  IOTLB_HITS: 26, // device
  IOTLB_MISSES: 27, // device
  IOTLB_WALK_READS: 28, // device: modeled memory reads of host-table walks
  PROBES: 29, // device: protection probes of recently unmapped IOVAs
  PROBE_LEAKS: 30, // device: probes the IOMMU let through
  DEFERRED_HITS: 31, // guest: optimistic teardown, re-maps of a still-live mapping (no exit)
  QUEUE_LOCK_WAITS: 32, // guest: invalidation-queue lock found held
  SHADOW_MAPS: 33, // host: shadow entries created
  SHADOW_UNMAPS: 34, // host: shadow entries removed
  VT_END: 35, // guest: its virtual time (ns) when it stopped posting
  FINISHED: 36, // guest: 1 once it has done its share of --ops and drained
  DRAINED: 37, // hypervisor: 1 once the idle tail's host timers have run (virtual clock)
  TEARDOWN_SUBMITS: 38, // host: vIOMMU submissions that tore a mapping down (an IOTLB flush)
  PT_WRITES: 39, // guest: IO page-table entries written or cleared
  // coIOMMU as shipped (src/policies/coiommu)
  SLOT_BUSY: 40, // guest: a pin request found its slot still raised (logged, the map failed)
  PIN_TIMEOUTS: 41, // guest: a pin request the host did not answer within --pin-timeout
  PIN_MAP_FAILURES: 42, // host: a pin whose host IOMMU map failed (PINNED left clear)
  REQUESTS_REJECTED: 43, // host: a request for a BDF not in the topology table (or a bad address)
  DTT_PAGES_FREED: 44, // guest: DTT pages the shrinker freed
  MAP_COUNT_UNDERFLOW: 45, // guest: an unmap found the map count already zero (logged, not decremented)
  UNPIN_PARKED: 46, // host: the unpin worker found itself parked (PARK_UNPIN) and waited
  // the balloon and iopf (src/policies/iopf)
  BALLOON_RELEASED: 47, // host: pages the --balloon event took back
  BALLOON_REFUSED: 48, // host: pinned pages the policy would not let go of for the balloon
  REPOSTS: 49, // guest: descriptors the device dropped on an I/O page fault, posted again
  PTC_MISSES_L1: 50, // device: page-table-cache misses by level (src/mem/page-walk.ts)
  PTC_MISSES_L2: 51,
  PTC_MISSES_L3: 52,
  PT_PAGES_FREED: 53, // host: IO page-table pages freed (an unmap covered their whole range)
  LATE_WAKES: 54, // any role: a wait timed out on a changed word and its notify came only within the grace (src/machine/wake-check.ts)
  IOTLB_LAPS: 55, // device: the flush log lapped it (it fell IOTLB_LOG.SIZE generations behind, or saw a generation older than its own): it dropped everything
  WORDS: 64, // 512 bytes: a multiple of 64
} as const;
export type StatName = Exclude<keyof typeof STAT, 'WORDS'>;

/** Stats blocks: hypervisor, sidecore, device, then one per vCPU. */
export const STAT_BLOCK = { hypervisor: 0, sidecore: 1, device: 2, guest0: 3 } as const;
export const statBlockCount = (vcpus: number): number => 3 + vcpus;

// ---- per-vCPU notify slot (coIOMMU pin requests) ----
export const SLOT = {
  REQ: 0, // 0 = empty; the guest writes a non-zero sequence, the host clears it when done
  COUNT: 1,
  STATUS: 2, // host's answer: pages it could not pin (0 = all pinned)
  GUEST_PARKED: 3,
  GFNS: 4,
  WORDS: 32, // two lines
} as const;
export const SLOT_MAX_PAGES = SLOT.WORDS - SLOT.GFNS;

// ---- SPSC ring: tail line (producer) and head line (consumer), then entries ----
export const RING = {
  TAIL: 0,
  PRODUCER_PARKED: 1, // the producer sleeps on HEAD (ring full) with this raised
  HEAD: LINE_WORDS,
  CONSUMER_PARKED: LINE_WORDS + 1, // the consumer sleeps on TAIL (ring empty) with this raised
  ENTRIES: 2 * LINE_WORDS,
  ENTRY_WORDS: 4,
} as const;
export const ringWords = (entries: number): number => RING.ENTRIES + entries * RING.ENTRY_WORDS;

// ---- vIOMMU: the invalidation queue (guest memory + the VT-d IQ registers) ----
// Header lines: TAIL (guest, the register a trap-mode write exits on), HEAD (host), the guest's
// queue lock, the IOVA allocator's global state, then one wait-status line per vCPU, then the
// descriptors (INV_DESC). The host sleeps on its doorbell in CTL, not here.
export const INVQ = {
  TAIL: 0,
  HEAD: LINE_WORDS,
  LOCK: LINE_WORDS * 2, // guest-side queue lock (futex word), like Linux's qi->q_lock
  IOVA_LOCK: LINE_WORDS * 3, // IOVA depot lock (futex word)
  IOVA_NEXT: LINE_WORDS * 3 + 1, // bump pointer: IOVA pages never handed out lie at and above it
  DEPOT_COUNT: LINE_WORDS * 3 + 2, // + order: entries in each order's depot stack
  STATUS: LINE_WORDS * 4, // + vcpu * LINE_WORDS: wait-descriptor status word (host writes seq)
  STATUS_PARKED: 1, // + vcpu line: the vCPU sleeps on its status word
  DESC_WORDS: 4,
} as const;
export const invqHeaderWords = (vcpus: number): number => INVQ.STATUS + vcpus * LINE_WORDS;
export const invqWords = (vcpus: number, entries: number): number => invqHeaderWords(vcpus) + entries * INVQ.DESC_WORDS;
export const DESC_TYPE = { IOTLB_INV: 1, WAIT: 2 } as const;
/** The words of one descriptor (INVQ.DESC_WORDS): its TYPE, two operands by type, a reserved 0. */
export const INV_DESC = {
  TYPE: 0,
  // DESC_TYPE.IOTLB_INV: invalidate [IOVA, IOVA + PAGES)
  IOVA: 1,
  PAGES: 2,
  // DESC_TYPE.WAIT: once everything before it is done, write SEQ to vCPU VCPU's status word
  VCPU: 1,
  SEQ: 2,
  RESERVED: 3,
} as const;

/** IOVA size classes: orders 0..IOVA_ORDERS-1 (1..64 pages: F&S's 64-page descriptors); each has a global depot stack. */
export const IOVA_ORDERS = 7;
/**
 * Depot stack of one order: room for every IOVA of that size the space holds, so no pattern of
 * frees (a lazy flush queue of thousands, several vCPUs at once) can overflow it.
 */
export const iovaDepotCapacity = (iovaPages: number, order: number): number => Math.ceil(iovaPages / (1 << order));
/** Where order `order`'s depot stack starts in the iovaDepot region (order IOVA_ORDERS: its size). */
export function iovaDepotBase(iovaPages: number, order: number): number {
  let base = 0;
  for (let o = 0; o < order; o++) base += iovaDepotCapacity(iovaPages, o);
  return base;
}

// ---- vIOMMU: device-IOTLB flush log (host -> device) ----
// The device keeps its IOTLB in private memory; the host asks it to drop entries by appending a
// range to this log and bumping GEN. The device publishes the generation it is translating under
// in ACTIVE (as generation + 1; 0 = IDLE between accesses, so a fresh machine starts idle), so a host flush can wait until no access of an older
// generation is still in flight. See src/mem/iotlb.ts.
export const IOTLB_LOG = {
  GEN: 0,
  HOST_PARKED: 1, // the host sleeps in drain() until the device's access ends
  ACTIVE: LINE_WORDS,
  ENTRIES: LINE_WORDS * 2, // one IOTLB_LOG_ENTRY per generation, indexed gen % SIZE
  // Entries (a power of two). A device more than SIZE generations behind has been lapped and drops
  // everything (STAT.IOTLB_LAPS): safe, but a global flush. 1024 keeps strict Linux invalidation
  // with 64-page descriptors (a flush per page) from lapping it; 64 was lapped constantly.
  SIZE: 1024,
  // A teardown batch of more ranges than this is one global entry (a domain-selective invalidation,
  // as for a lazy flush queue) rather than one entry per range; well below SIZE.
  GLOBAL_BATCH: 32,
  IDLE: 0,
} as const;
/** One flush-log entry: the range the device must drop (PAGES < 0: everything), and FLUSH bits. */
export const IOTLB_LOG_ENTRY = { IOVA: 0, PAGES: 1, FLAGS: 2, WORDS: 4 } as const;
/**
 * FLAGS of a flush-log entry. PTC_HINT: the invalidation hint is clear (Linux), so the device drops
 * its page-table caches too, once its DMA reaches the entry's virtual time (iotlbLogVt).
 * PT_FREED: a page-table page was freed: the page-table caches go at once (before the host reuses it).
 */
export const FLUSH = { PTC_HINT: 1, PT_FREED: 2 } as const;
export const iotlbLogWords = (): number => IOTLB_LOG.ENTRIES + IOTLB_LOG.SIZE * IOTLB_LOG_ENTRY.WORDS;

// ---- vIOMMU: the 4-level IO page table the device walks (src/mem/io-radix-table.ts) ----
// A pool of page-table pages of 512 entries (page 0 is the root); a directory entry holds its
// child page + 1, a leaf entry the host frame + 1. Header: the bump pointer, the free stack's top,
// then per page its live-entry count, then the free stack; the pages follow.
export const PT_ENTRIES = 512;
export const PT_LEVELS = 4;
export const PT_POOL = { HIGH: 0, FREE_TOP: 1, COUNTS: LINE_WORDS } as const;
/** Pages the pool needs to map `iovaPages` at once: every level's pages, and the root. */
export function ptPoolPages(iovaPages: number): number {
  if (iovaPages <= 0) return 0;
  let n = 0;
  for (let l = 1; l < PT_LEVELS; l++) n += Math.ceil(iovaPages / PT_ENTRIES ** l);
  return n + 1;
}
export const ptFreeStackBase = (pages: number): number => PT_POOL.COUNTS + pages;
export const ptPageBase = (pages: number): number => Math.ceil((ptFreeStackBase(pages) + pages) / LINE_WORDS) * LINE_WORDS;
export const ptPoolWords = (iovaPages: number): number => {
  const p = ptPoolPages(iovaPages);
  return p === 0 ? 0 : ptPageBase(p) + p * PT_ENTRIES;
};

// ---- protection oracle: per-vCPU log of recently unmapped DMA addresses (guest -> device) ----
// Entry [dma page + 1, µs since run start]; written after the driver's unmap returned.
export const PROBE_LOG = { ENTRIES: 256, ENTRY_WORDS: 2, CURSOR: 0, BASE: LINE_WORDS } as const;
export const probeLogWords = (): number => PROBE_LOG.BASE + PROBE_LOG.ENTRIES * PROBE_LOG.ENTRY_WORDS;

// ---- virtual time (Float64): one line per clock, then each ring entry's time ----
// Clock lines: vCPU v at line v; then the hypervisor, the sidecore and the device. A vCPU line has
// NOW (its clock, ns), REQ (when its pending synchronous request was made) and DONE (when the host
// says it completed); a host line NOW, TIMER_NEXT (the next host timer's deadline) and TIMER_DONE;
// the device line, word v: when vCPU v's queue is free for its next DMA (MAX_VCPUS <= LINE).
export const VCLOCK = { LINE: 8, NOW: 0, REQ: 1, DONE: 2, TIMER_NEXT: 1, TIMER_DONE: 2, AWAITS: 3 } as const;
// AWAITS (vCPU line): the absolute index of the completion the vCPU is blocked on (-1: none), so a
// device pacing its DMAs by the vCPU's clock (net --arrival link) knows it may go on.
export const vclockLine = { vcpu: (v: number) => v, hypervisor: (vcpus: number) => vcpus, sidecore: (vcpus: number) => vcpus + 1, device: (vcpus: number) => vcpus + 2 };
export const vclockWords = (vcpus: number): number => (vcpus + 3) * VCLOCK.LINE;

// ---- notify ledger: one counter per hashed word address (a collision can only hide a lost wake-up) ----
export const NOTIFY_LEDGER_WORDS = 1024;

// ---- data frames: the payload a DMA wrote into a page (a page's worth of bytes is not needed) ----
export const DATA_WORDS = 8;

export interface Region {
  name: string;
  byteOffset: number;
  length: number; // elements
  kind: 'i32' | 'f64';
}

export interface Layout {
  spec: MachineSpec;
  byteLength: number;
  control: Region;
  stats: Region;
  /** DMA tracking table: one word per guest page (map count | ACCESSED | PINNED). */
  dtt: Region;
  /** Notify slots, one per vCPU. */
  slots: Region;
  /** Descriptor rings (guest -> device), one per vCPU, back to back. */
  descRings: Region;
  /** Completion rings (device -> guest), one per vCPU. */
  compRings: Region;
  /** Host IOMMU table: guest page -> host frame + 1; present only while pinned. */
  iommu: Region;
  /** Host (EPT-like) map of guest memory: guest page -> host frame + 1 while resident. */
  ept: Region;
  /** Swap: guest page -> data frame holding its contents while it is not resident. */
  swap: Region;
  /** Host frame table: owner guest page + 1 (0 = free). */
  frameOwner: Region;
  /** Host frame table: 1 while the frame is pinned (mapped in the host IOMMU). */
  framePinned: Region;
  /** Host frame -> data frame with its payload (0 = never written: a zero page). */
  frameData: Region;
  /** Unpin clock: consecutive busy rounds of a pinned frame (host only). */
  frameGen: Region;
  /** Free host frames (a stack). */
  frameFree: Region;
  /** Payload storage; data frame 0 is reserved as "none". */
  data: Region;
  /** vIOMMU guest IO page table: IOVA page -> gfn << 2 | WRITABLE | PRESENT (iovaPages words). */
  iopt: Region;
  /** vIOMMU host shadow table: IOVA page -> host frame + 1 (what the physical IOMMU walks). */
  shadow: Region;
  /** vIOMMU: shadow entries that point at each guest page (it stays pinned while > 0). */
  shadowRefs: Region;
  /** vIOMMU invalidation queue: registers, wait-status words, descriptors. */
  invq: Region;
  /** IOVA allocator depot: one stack of free IOVAs per size class. */
  iovaDepot: Region;
  /** Device-IOTLB flush log. */
  iotlbLog: Region;
  /** Virtual time (ns, Float64) of each flush-log entry (by generation % SIZE). */
  iotlbLogVt: Region;
  /** vIOMMU: the 4-level IO page table the device walks (its leaf entries are the shadow table's). */
  ptPool: Region;
  /** A policy's page request queue and its per-page words (iopf; empty otherwise). */
  prq: Region;
  /** Protection oracle: recently unmapped DMA addresses, one log per vCPU. */
  probeLog: Region;
  /** Reliance oracle: maps the guest holds of each guest page (src/core/reliance.ts; observed, not protocol). */
  reliedPages: Region;
  /** Reliance oracle: maps the guest holds of each IOVA page (vIOMMU). */
  reliedIovas: Region;
  /** Map-count ledger: page maps each vCPU started and finished, one line each (coIOMMU's per-round check; observed, not protocol). */
  mapLedger: Region;
  /** Notify ledger: notifies issued per waited word, hashed by address (src/machine/notify-ledger.ts; observed, not protocol). */
  notifyLedger: Region;
  /** coIOMMU: registers, DTT page pool, pin-info buffers (src/policies/coiommu/region.ts). */
  coiommu: Region;
  /** Virtual clocks (Float64), one line each. */
  vclock: Region;
  /** Virtual time of each descriptor (posted) and completion (done), per vCPU ring entry (Float64). */
  descVt: Region;
  compVt: Region;
}

const align = (n: number, to: number): number => Math.ceil(n / to) * to;

export function validateSpec(spec: MachineSpec): void {
  const bad = (what: string): never => {
    throw new RangeError(`machine spec: ${what}`);
  };
  if (!Number.isInteger(spec.guestPages) || spec.guestPages < 1 || spec.guestPages > MAX_GUEST_PAGES)
    bad(`guestPages ${spec.guestPages} must be an integer in 1..${MAX_GUEST_PAGES}`);
  if (!Number.isInteger(spec.vcpus) || spec.vcpus < 1 || spec.vcpus > MAX_VCPUS)
    bad(`vcpus ${spec.vcpus} must be an integer in 1..${MAX_VCPUS}`);
  if (!Number.isInteger(spec.hostFrames) || spec.hostFrames < 1 || spec.hostFrames > spec.guestPages)
    bad(`hostFrames ${spec.hostFrames} must be an integer in 1..guestPages`);
  if (!Number.isInteger(spec.dataFrames) || spec.dataFrames < 1) bad(`dataFrames ${spec.dataFrames} must be >= 1`);
  if (!Number.isInteger(spec.ringEntries) || spec.ringEntries < 2 || (spec.ringEntries & (spec.ringEntries - 1)) !== 0)
    bad(`ringEntries ${spec.ringEntries} must be a power of two >= 2`);
  const iova = spec.iovaPages ?? 0;
  if (!Number.isInteger(iova) || iova < 0 || iova > MAX_GUEST_PAGES) bad(`iovaPages ${iova} must be an integer in 0..${MAX_GUEST_PAGES}`);
  const q = spec.invqEntries ?? DEFAULT_INVQ_ENTRIES;
  const cw = spec.coiommuWords ?? 0;
  if (!Number.isInteger(cw) || cw < 0 || cw > 1 << 28) bad(`coiommuWords ${cw} must be an integer in 0..${1 << 28}`);
  if (!Number.isInteger(q) || q < 4 || q > 65_536 || (q & (q - 1)) !== 0) bad(`invqEntries ${q} must be a power of two in 4..65536`);
}

export const DEFAULT_INVQ_ENTRIES = 256;

export function computeLayout(spec: MachineSpec): Layout {
  validateSpec(spec);
  let offset = 0;
  const take = (name: string, length: number, kind: 'i32' | 'f64' = 'i32'): Region => {
    offset = align(offset, LINE_BYTES);
    const r: Region = { name, byteOffset: offset, length, kind };
    offset += length * (kind === 'i32' ? 4 : 8);
    return r;
  };
  const layout: Omit<Layout, 'byteLength'> = {
    spec,
    control: take('control', CTL.WORDS),
    stats: take('stats', statBlockCount(spec.vcpus) * STAT.WORDS, 'f64'),
    dtt: take('dtt', spec.guestPages),
    slots: take('slots', spec.vcpus * SLOT.WORDS),
    descRings: take('descRings', spec.vcpus * ringWords(spec.ringEntries)),
    compRings: take('compRings', spec.vcpus * ringWords(spec.ringEntries)),
    iommu: take('iommu', spec.guestPages),
    ept: take('ept', spec.guestPages),
    swap: take('swap', spec.guestPages),
    frameOwner: take('frameOwner', spec.hostFrames),
    framePinned: take('framePinned', spec.hostFrames),
    frameData: take('frameData', spec.hostFrames),
    frameGen: take('frameGen', spec.hostFrames),
    frameFree: take('frameFree', spec.hostFrames),
    data: take('data', (spec.dataFrames + 1) * DATA_WORDS),
    iopt: take('iopt', spec.iovaPages ?? 0),
    shadow: take('shadow', spec.iovaPages ?? 0),
    shadowRefs: take('shadowRefs', spec.iovaPages ? spec.guestPages : 0),
    invq: take('invq', invqWords(spec.vcpus, spec.invqEntries ?? DEFAULT_INVQ_ENTRIES)),
    iovaDepot: take('iovaDepot', iovaDepotBase(spec.iovaPages ?? 0, IOVA_ORDERS)),
    iotlbLog: take('iotlbLog', iotlbLogWords()),
    iotlbLogVt: take('iotlbLogVt', IOTLB_LOG.SIZE, 'f64'),
    ptPool: take('ptPool', ptPoolWords(spec.iovaPages ?? 0)),
    prq: take('prq', spec.prqWords ?? 0),
    probeLog: take('probeLog', spec.vcpus * probeLogWords()),
    reliedPages: take('reliedPages', spec.guestPages),
    reliedIovas: take('reliedIovas', spec.iovaPages ?? 0),
    mapLedger: take('mapLedger', spec.vcpus * LINE_WORDS),
    notifyLedger: take('notifyLedger', NOTIFY_LEDGER_WORDS),
    coiommu: take('coiommu', spec.coiommuWords ?? 0),
    vclock: take('vclock', vclockWords(spec.vcpus), 'f64'),
    descVt: take('descVt', spec.vcpus * spec.ringEntries, 'f64'),
    compVt: take('compVt', spec.vcpus * spec.ringEntries, 'f64'),
  };
  return { ...layout, byteLength: align(offset, LINE_BYTES) };
}

/** The regions in address order, for traces and for tests that check nothing overlaps. */
export function regionsOf(layout: Layout): Region[] {
  return Object.values(layout)
    .filter((v): v is Region => typeof v === 'object' && v !== null && 'byteOffset' in v)
    .sort((a, b) => a.byteOffset - b.byteOffset || a.length - b.length); // empty regions first
}
