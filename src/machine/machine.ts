// Typed views over one machine's SharedArrayBuffer. Built once per worker from the same spec.
import { computeLayout, type Layout, type MachineSpec, type Region, STAT, STAT_BLOCK, probeLogWords, ringWords } from './layout.js';

export class Machine {
  readonly layout: Layout;
  readonly control: Int32Array;
  readonly stats: Float64Array;
  readonly dtt: Int32Array;
  readonly slots: Int32Array;
  readonly descRings: Int32Array;
  readonly compRings: Int32Array;
  readonly iommu: Int32Array;
  readonly ept: Int32Array;
  readonly swap: Int32Array;
  readonly frameOwner: Int32Array;
  readonly framePinned: Int32Array;
  readonly frameData: Int32Array;
  readonly frameGen: Int32Array;
  readonly frameFree: Int32Array;
  readonly data: Int32Array;
  readonly iopt: Int32Array;
  readonly shadow: Int32Array;
  readonly shadowRefs: Int32Array;
  readonly invq: Int32Array;
  readonly iovaDepot: Int32Array;
  readonly iotlbLog: Int32Array;
  readonly iotlbLogVt: Float64Array;
  readonly ptPool: Int32Array;
  readonly prq: Int32Array;
  readonly probeLog: Int32Array;
  readonly reliedPages: Int32Array;
  readonly reliedIovas: Int32Array;
  readonly mapLedger: Int32Array;
  readonly notifyLedger: Int32Array;
  /** coIOMMU's guest-memory structures (empty for other policies). */
  readonly coiommu: Int32Array;
  readonly vclock: Float64Array;
  readonly descVt: Float64Array;
  readonly compVt: Float64Array;

  constructor(
    readonly sab: SharedArrayBuffer,
    readonly spec: MachineSpec,
  ) {
    this.layout = computeLayout(spec);
    if (sab.byteLength < this.layout.byteLength)
      throw new RangeError(`machine buffer is ${sab.byteLength} bytes, layout needs ${this.layout.byteLength}`);
    const i32 = (r: Region) => new Int32Array(sab, r.byteOffset, r.length);
    const l = this.layout;
    this.control = i32(l.control);
    this.stats = new Float64Array(sab, l.stats.byteOffset, l.stats.length);
    this.dtt = i32(l.dtt);
    this.slots = i32(l.slots);
    this.descRings = i32(l.descRings);
    this.compRings = i32(l.compRings);
    this.iommu = i32(l.iommu);
    this.ept = i32(l.ept);
    this.swap = i32(l.swap);
    this.frameOwner = i32(l.frameOwner);
    this.framePinned = i32(l.framePinned);
    this.frameData = i32(l.frameData);
    this.frameGen = i32(l.frameGen);
    this.frameFree = i32(l.frameFree);
    this.data = i32(l.data);
    this.iopt = i32(l.iopt);
    this.shadow = i32(l.shadow);
    this.shadowRefs = i32(l.shadowRefs);
    this.invq = i32(l.invq);
    this.iovaDepot = i32(l.iovaDepot);
    this.iotlbLog = i32(l.iotlbLog);
    this.ptPool = i32(l.ptPool);
    this.prq = i32(l.prq);
    this.probeLog = i32(l.probeLog);
    this.reliedPages = i32(l.reliedPages);
    this.reliedIovas = i32(l.reliedIovas);
    this.mapLedger = i32(l.mapLedger);
    this.notifyLedger = i32(l.notifyLedger);
    this.coiommu = i32(l.coiommu);
    const f64 = (r: Region) => new Float64Array(sab, r.byteOffset, r.length);
    this.vclock = f64(l.vclock);
    this.descVt = f64(l.descVt);
    this.compVt = f64(l.compVt);
    this.iotlbLogVt = f64(l.iotlbLogVt);
  }

  /** IOVA pages of the vIOMMU (0: no vIOMMU in this machine). */
  get iovaPages(): number {
    return this.spec.iovaPages ?? 0;
  }

  /** One vCPU's protection-probe log. */
  probeLogOf(vcpu: number): Int32Array {
    const w = probeLogWords();
    return this.probeLog.subarray(vcpu * w, (vcpu + 1) * w);
  }

  static create(spec: MachineSpec): Machine {
    return new Machine(new SharedArrayBuffer(computeLayout(spec).byteLength), spec);
  }

  /** The stats block of one role (a view: the role increments its own counters in place). */
  statsBlock(block: number): Float64Array {
    return this.stats.subarray(block * STAT.WORDS, (block + 1) * STAT.WORDS);
  }
  guestStats(vcpu: number): Float64Array {
    return this.statsBlock(STAT_BLOCK.guest0 + vcpu);
  }

  descRing(vcpu: number): Int32Array {
    const w = ringWords(this.spec.ringEntries);
    return this.descRings.subarray(vcpu * w, (vcpu + 1) * w);
  }
  compRing(vcpu: number): Int32Array {
    const w = ringWords(this.spec.ringEntries);
    return this.compRings.subarray(vcpu * w, (vcpu + 1) * w);
  }

  /** Names of the views, for traces: which region a typed array is. */
  regionName(a: Int32Array): string {
    for (const [name, v] of Object.entries(this)) if (v === a) return name;
    if (a.buffer === this.sab) {
      for (const r of Object.values(this.layout)) {
        const reg = r as Region;
        if (reg && typeof reg === 'object' && 'byteOffset' in reg) {
          const end = reg.byteOffset + reg.length * 4;
          if (a.byteOffset >= reg.byteOffset && a.byteOffset < end) return reg.name;
        }
      }
    }
    return 'unknown';
  }
}
