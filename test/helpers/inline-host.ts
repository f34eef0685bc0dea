// Single-threaded test harness for the coIOMMU protocol: one Machine, the host's memory, the
// pin-state lock, the coIOMMU host, one coIOMMU guest per vCPU, the device and the oracle, all in the
// test thread. The pin request is served inline (the hypervisor's pin handler runs right away), so a
// test drives the protocol step by step. An Interposer lets a test run other protocol steps at an
// exact shared-memory operation of one role: that is how interleavings are forced without threads.
import { CTL, MAX_GUEST_PAGES, STAT, STAT_BLOCK, type MachineSpec } from '../../src/machine/layout.js';
import { coiommuRegion } from '../../src/policies/coiommu/region.js';
import { guestTable } from '../../src/policies/coiommu/guest-table.js';
import { scenarioConfig } from '../../src/policies/scenario-kit.js';
import { Machine } from '../../src/machine/machine.js';
import { freeRunning, type SharedMem, type WaitResult } from '../../src/machine/shared-mem.js';
import { checkAccounting } from '../../src/mem/accounting.js';
import { HostMemory } from '../../src/mem/host-memory.js';
import { Reclaimer } from '../../src/mem/reclaimer.js';
import type { Lock } from '../../src/notify/lock.js';
import { pinStateLock } from '../../src/policies/wiring.js';
import { SlotRequester, type PinRequester } from '../../src/notify/pin-request.js';
import { CoiommuGuest } from '../../src/policies/coiommu/guest.js';
import { CoiommuHost } from '../../src/policies/coiommu/host.js';
import { ACCESSED, MAP_COUNT_MASK, isPinned } from '../../src/policies/coiommu/dtt.js';
import type { CoiommuConfig } from '../../src/policies/coiommu/config.js';
import { Oracle, readViolations } from '../../src/core/oracle.js';
import type { NotifyPath, Variant } from '../../src/core/types.js';
import { NetDevice } from '../../src/workloads/net/device.js';
import { DEFAULT_COST_TABLE } from '../../src/core/cost-table.js';

export const DEFAULT_COIOMMU: CoiommuConfig = {
  dtt: 'flat',
  unpinPolicy: 'lru',
  unpinLimit: MAX_GUEST_PAGES,
  pinTimeoutMs: 1000,
  dttShrinkMs: 0,
  unpinIntervalMs: 10,
  unpinGenThreshold: 10,
  speculativePages: 0,
};

/**
 * The real notify slot, with the hypervisor's real pin handler (CoiommuHost.serve) run inline the
 * moment the slot is raised; it records every request, as the list of pages it asked for.
 */
export class InlinePinRequester implements PinRequester {
  readonly path: NotifyPath = 'trap';
  readonly requests: number[][] = [];
  readonly slot: SlotRequester;

  set pinInfo(b: SlotRequester['pinInfo']) {
    this.slot.pinInfo = b;
  }

  constructor(mem: SharedMem, m: Machine, vcpu: number, stats: Float64Array, host: CoiommuHost) {
    this.slot = new SlotRequester('trap', mem, m, vcpu, 0, 1000, stats);
    this.slot.onRaise = () => void host.serve();
  }

  request(gfns: ArrayLike<number>, n: number): number {
    this.requests.push(Array.from({ length: n }, (_, k) => gfns[k]));
    return this.slot.request(gfns, n);
  }
}

export interface RigOptions {
  guestPages?: number;
  vcpus?: number;
  /** Default: guestPages. */
  hostFrames?: number;
  /** Default: guestPages. */
  dataFrames?: number;
  ringEntries?: number;
  coiommu?: Partial<CoiommuConfig>;
  variant?: Variant;
  /** Shared memory for every role (default: Atomics itself). */
  mem?: SharedMem;
  /** Per-role overrides of `mem` (an Interposer's views, usually). */
  guestMem?: SharedMem;
  hostMem?: SharedMem;
  deviceMem?: SharedMem;
  /** Pin-state lock timeout: single-threaded, a held lock can only mean a test bug. */
  lockTimeoutMs?: number;
}

export interface Rig {
  m: Machine;
  spec: MachineSpec;
  cfg: CoiommuConfig;
  variant: Variant;
  hostMemory: HostMemory;
  lock: Lock;
  host: CoiommuHost;
  hostStats: Float64Array;
  hostOracle: Oracle;
  device: NetDevice;
  deviceStats: Float64Array;
  deviceOracle: Oracle;
  guests: CoiommuGuest[];
  requesters: InlinePinRequester[];
  guestStats: Float64Array[];
  /** vCPU 0's guest. */
  guest: CoiommuGuest;
  requester: InlinePinRequester;
  reclaimer(budget: number, forceUnpin?: (g: number) => boolean): Reclaimer;
  checkAccounting(): boolean;
  violations(): ReturnType<typeof readViolations>;
  entry(g: number): number;
  count(g: number): number;
  pinned(g: number): boolean;
  accessed(g: number): boolean;
  /** Host frame of g in the host IOMMU, or -1. */
  iommuFrame(g: number): number;
  pinnedNow(): number;
}

export function makeRig(o: RigOptions = {}): Rig {
  const guestPages = o.guestPages ?? 64;
  const spec: MachineSpec = {
    guestPages,
    vcpus: o.vcpus ?? 1,
    hostFrames: o.hostFrames ?? guestPages,
    dataFrames: o.dataFrames ?? guestPages,
    ringEntries: o.ringEntries ?? 16,
    coiommuWords: coiommuRegion(guestPages, o.vcpus ?? 1).words,
  };
  const m = Machine.create(spec);
  const cfg: CoiommuConfig = { ...DEFAULT_COIOMMU, ...o.coiommu };
  const variant = o.variant ?? 'none';
  const base = o.mem ?? freeRunning;
  const hostMem = o.hostMem ?? base;
  const guestMem = o.guestMem ?? base;
  const deviceMem = o.deviceMem ?? base;

  const hostStats = m.statsBlock(STAT_BLOCK.hypervisor);
  const deviceStats = m.statsBlock(STAT_BLOCK.device);
  const hostOracle = new Oracle(m.control, 'hypervisor', 0);
  const deviceOracle = new Oracle(m.control, 'device', 0);
  const hostMemory = new HostMemory(hostMem, m, hostStats);
  const lock = pinStateLock(hostMem, m, variant, o.lockTimeoutMs ?? 200);
  const host = new CoiommuHost(hostMem, m, hostMemory, lock, cfg, hostStats, variant);
  const device = new NetDevice(deviceMem, m, DEFAULT_COST_TABLE, deviceStats, deviceOracle);
  const requesters: InlinePinRequester[] = [];
  const guests: CoiommuGuest[] = [];
  const guestStats: Float64Array[] = [];
  for (let v = 0; v < spec.vcpus; v++) {
    const r = new InlinePinRequester(guestMem, m, v, m.guestStats(v), host);
    requesters.push(r);
    guestStats.push(m.guestStats(v));
    const t = guestTable(guestMem, m, scenarioConfig(variant, { coiommu: cfg }), v);
    r.pinInfo = t.pinInfo;
    guests.push(new CoiommuGuest(guestMem, m, t.table, t.lock, r, m.guestStats(v), variant));
  }
  // a page's DTT entry, wherever the table keeps it (0 when its leaf is absent)
  const entry = (g: number): number => {
    const e = host.table.locate(g, false);
    host.table.release();
    return e < 0 ? 0 : Atomics.load(host.table.words, e);
  };
  return {
    m,
    spec,
    cfg,
    variant,
    hostMemory,
    lock,
    host,
    hostStats,
    hostOracle,
    device,
    deviceStats,
    deviceOracle,
    guests,
    requesters,
    guestStats,
    guest: guests[0],
    requester: requesters[0],
    reclaimer: (budget, force = (g) => host.forceUnpin(g)) =>
      new Reclaimer(hostMem, m, hostMemory, lock, budget, hostStats, force),
    checkAccounting: () => checkAccounting(freeRunning, m, hostMemory, lock, hostOracle, host),
    violations: () => readViolations(m.control),
    entry,
    count: (g) => entry(g) & MAP_COUNT_MASK,
    pinned: (g) => isPinned(entry(g)),
    accessed: (g) => (entry(g) & ACCESSED) !== 0,
    iommuFrame: (g) => Atomics.load(m.iommu, g) - 1,
    pinnedNow: () => Atomics.load(m.control, CTL.PINNED_NOW),
  };
}

export { STAT };

// ---------------------------------------------------------------------------------------------
// Interposition: a SharedMem that calls hooks before / after each operation of one role.

export type OpName = 'load' | 'store' | 'add' | 'sub' | 'or' | 'and' | 'compareExchange' | 'wait' | 'notify';

export interface Access {
  role: string;
  op: OpName;
  array: Int32Array;
  index: number;
  /** The operation's value arguments (store/add/...: [v]; compareExchange: [expected, replacement]). */
  args: readonly number[];
  /** Set for 'after' hooks (wait: 0 ok, 1 not-equal, 2 timed-out). */
  result?: number;
}

interface Rule {
  when: 'before' | 'after';
  match: (a: Access) => boolean;
  run: (a: Access) => void;
  once: boolean;
  fired: number;
}

const WAIT_CODES: Record<WaitResult, number> = { ok: 0, 'not-equal': 1, 'timed-out': 2 };

export class Interposer {
  private rules: Rule[] = [];
  /** While a hook runs, nested operations (the steps it drives) do not fire hooks. */
  private depth = 0;
  /** Every operation seen outside hooks, when tracing is on. */
  readonly trace: Access[] = [];
  tracing = false;

  /** Run `run` once, before/after the first operation matching `match`. Returns a handle to check it fired. */
  once(when: 'before' | 'after', match: (a: Access) => boolean, run: (a: Access) => void): { fired(): number } {
    const r: Rule = { when, match, run, once: true, fired: 0 };
    this.rules.push(r);
    return { fired: () => r.fired };
  }

  clear(): void {
    this.rules = [];
  }

  private fire(when: 'before' | 'after', a: Access): void {
    if (this.depth > 0) return;
    if (when === 'before' && this.tracing) this.trace.push(a);
    for (const r of this.rules) {
      if (r.when !== when || (r.once && r.fired > 0) || !r.match(a)) continue;
      r.fired++;
      this.depth++;
      try {
        r.run(a);
      } finally {
        this.depth--;
      }
    }
  }

  view(role: string): SharedMem {
    const call = (op: OpName, array: Int32Array, index: number, args: number[], fn: () => number): number => {
      const a: Access = { role, op, array, index, args };
      this.fire('before', a);
      const r = fn();
      a.result = r;
      this.fire('after', a);
      return r;
    };
    return {
      load: (a, i) => call('load', a, i, [], () => Atomics.load(a, i)),
      store: (a, i, v) => call('store', a, i, [v], () => Atomics.store(a, i, v)),
      add: (a, i, v) => call('add', a, i, [v], () => Atomics.add(a, i, v)),
      sub: (a, i, v) => call('sub', a, i, [v], () => Atomics.sub(a, i, v)),
      or: (a, i, v) => call('or', a, i, [v], () => Atomics.or(a, i, v)),
      and: (a, i, v) => call('and', a, i, [v], () => Atomics.and(a, i, v)),
      compareExchange: (a, i, e, r) => call('compareExchange', a, i, [e, r], () => Atomics.compareExchange(a, i, e, r)),
      wait: (a, i, v, t) => {
        let res: WaitResult = 'ok';
        call('wait', a, i, [v], () => WAIT_CODES[(res = Atomics.wait(a, i, v, t))]);
        return res;
      },
      notify: (a, i, c) => call('notify', a, i, c === undefined ? [] : [c], () => Atomics.notify(a, i, c)),
      fence: () => {}, // SC: nothing to drain
    };
  }
}

/** Matcher: role `role` does `op` on word `index` of array `array`. */
export const at =
  (role: string, op: OpName, array: Int32Array, index: number, pred: (a: Access) => boolean = () => true) =>
  (a: Access): boolean =>
    a.role === role && a.op === op && a.array === array && a.index === index && pred(a);

/** A rig whose guest, host and device each go through their own view of one Interposer. */
export function makeInterposedRig(o: RigOptions = {}): { rig: Rig; ip: Interposer } {
  const ip = new Interposer();
  const rig = makeRig({ ...o, guestMem: ip.view('guest'), hostMem: ip.view('host'), deviceMem: ip.view('device') });
  return { rig, ip };
}
