// The hypervisor: creates the VM (static pinning pins everything here), handles trapped pin
// requests (trap path), runs the lazy unpin worker and the reclaimer on a timer, checks the
// accounting invariant as it goes, and tears the VM down at the end.
import { CTL, RING, SLOT, STAT } from '../machine/layout.js';
import { checkAccounting } from '../mem/accounting.js';
import { HostMemory } from '../mem/host-memory.js';
import { Reclaimer } from '../mem/reclaimer.js';
import { busyDelayUs } from '../notify/park.js';
import { invalidationPending } from '../notify/invalidation-queue.js';
import { anySlotRaised, serveSlots } from '../notify/pin-request.js';
import type { Lock } from '../notify/lock.js';
import { CoiommuHost } from '../protocol/coiommu-host.js';
import { ACCESSED, MAP_COUNT_MASK, PINNED } from '../protocol/dtt.js';
import { pinAllGuestMemory } from '../protocol/static.js';
import { ViommuHost } from '../protocol/viommu-host.js';
import { DETAIL } from '../run/oracle.js';
import { isViommu, pinsAllMemory } from '../run/types.js';
import { hostLock } from './host-parts.js';
import { RoleBase, type RoleInit, type RoleResult } from './role.js';

export interface SetupResult {
  staticPinnedPages: number;
  staticPinMs: number;
}

export interface TeardownResult {
  unpinned: number;
  leftovers: string[];
}

/** Run the accounting check every this many unpin-scan rounds. */
const ACCOUNTING_EVERY = 10;

export class HypervisorRole extends RoleBase {
  private readonly host: HostMemory;
  private readonly lock: Lock;
  private readonly coiommu?: CoiommuHost;
  private readonly viommu?: ViommuHost;
  private readonly reclaimer: Reclaimer;

  constructor(init: RoleInit) {
    super(init);
    const { mem, m, cfg, stats } = this;
    this.host = new HostMemory(mem, m, stats);
    this.lock = hostLock(this);
    if (cfg.policy === 'coiommu')
      this.coiommu = new CoiommuHost(mem, m, this.host, this.lock, cfg.coiommu, stats, cfg.variant);
    if (isViommu(cfg.policy)) this.viommu = new ViommuHost(mem, m, this.host, this.lock, stats, cfg.variant, cfg.watchdogMs);
    const force = this.coiommu ? (g: number) => this.coiommu!.forceUnpin(g) : undefined;
    this.reclaimer = new Reclaimer(mem, m, this.host, this.lock, cfg.host.memoryPages, stats, force);
  }

  setup(): SetupResult {
    if (!pinsAllMemory(this.cfg.policy)) return { staticPinnedPages: 0, staticPinMs: 0 };
    const t0 = performance.now();
    const pinned = pinAllGuestMemory(this.host, this.lock, this.m.spec.guestPages);
    this.stats[STAT.PINS] += pinned;
    return { staticPinnedPages: pinned, staticPinMs: performance.now() - t0 };
  }

  run(t0: number): RoleResult {
    this.begin(t0);
    const { mem, m, cfg, stats } = this;
    const c = m.control;
    const trapService = (this.coiommu !== undefined || this.viommu !== undefined) && cfg.notify === 'trap';
    const viommu = this.viommu;
    const pin = (g: number) => this.coiommu!.pin(g);
    const pending = () => (viommu ? invalidationPending(mem, m) : anySlotRaised(mem, m));
    const exitDelay = () => busyDelayUs(cfg.notifyPath.exitDelayUs);
    const interval = cfg.coiommu.unpinIntervalMs;
    let nextScan = performance.now() + interval;
    let rounds = 0;
    while (this.serving()) {
      let served = 0;
      if (trapService) {
        if (viommu) {
          // The emulated tail-register write: consume the queue (the exit's cost first, if modeled).
          if (invalidationPending(mem, m)) {
            exitDelay();
            served = viommu.processQueue() > 0 ? 1 : 0;
          }
        } else served = serveSlots(mem, m, pin, exitDelay);
        stats[STAT.REQUESTS_SERVED] += served;
      }
      const now = performance.now();
      if (now >= nextScan) {
        this.coiommu?.unpinScan();
        this.reclaimer.run();
        if (++rounds % ACCOUNTING_EVERY === 0) this.checkAccounting();
        nextScan = Math.max(nextScan + interval, now + 1);
      }
      if (served === 0) {
        // Sleep until a trapped request rings the doorbell or the next scan is due.
        const seq = mem.load(c, CTL.HOST_DOORBELL);
        mem.store(c, CTL.HOST_PARKED, 1);
        if (!(trapService && pending()))
          mem.wait(c, CTL.HOST_DOORBELL, seq, Math.max(0, Math.min(20, nextScan - performance.now())));
        mem.store(c, CTL.HOST_PARKED, 0);
      }
      this.tick();
    }
    return this.result();
  }

  private checkAccounting(): boolean {
    return checkAccounting(this.mem, this.m, this.host, this.lock, this.oracle, !!this.coiommu, !!this.viommu);
  }

  /** Destroy the VM: unpin everything, and report whatever was left mapped, queued or raised. */
  teardown(): TeardownResult {
    const { mem, m } = this;
    const leftovers: string[] = [];
    const leftover = (what: string, g = -1, f = -1) => {
      if (leftovers.length < 20) leftovers.push(what);
      this.oracle.report('accounting', g, f, DETAIL.teardownLeftovers);
    };
    this.checkAccounting();
    if (this.viommu) {
      if (invalidationPending(mem, m)) leftover('invalidation queue not empty');
      const live = this.viommu.shadowEntries();
      if (live > 0) leftover(`${live} shadow (IOVA) mappings still live at teardown`);
    }
    for (let v = 0; v < m.spec.vcpus; v++) {
      if (mem.load(m.slots, v * SLOT.WORDS + SLOT.REQ) !== 0) leftover(`vCPU ${v}: pin request still raised`);
      for (const [name, ring] of [['descriptor', m.descRing(v)], ['completion', m.compRing(v)]] as const)
        if (mem.load(ring, RING.TAIL) !== mem.load(ring, RING.HEAD)) leftover(`vCPU ${v}: ${name} ring not empty`);
    }
    let unpinned = 0;
    this.lock.lock();
    try {
      const high = this.host.frameHigh();
      for (let f = 0; f < high; f++) {
        const owner = mem.load(m.frameOwner, f);
        if (owner === 0 || mem.load(m.framePinned, f) === 0) continue;
        const g = owner - 1;
        if (this.coiommu) {
          mem.and(m.dtt, g, ~ACCESSED);
          const old = mem.compareExchange(m.dtt, g, PINNED, 0);
          if (old !== PINNED) leftover(`guest page ${g}: still mapped at teardown (map count ${old & MAP_COUNT_MASK})`, g, f);
          mem.store(m.dtt, g, 0);
        }
        if (this.viommu) mem.store(m.shadowRefs, g, 0);
        if (this.host.unpin(g)) unpinned++;
      }
      for (let i = 0; i < m.iovaPages; i++) mem.store(m.shadow, i, 0);
      if (mem.load(m.control, CTL.PINNED_NOW) !== 0) leftover(`${mem.load(m.control, CTL.PINNED_NOW)} pages still counted pinned`);
    } finally {
      this.lock.unlock();
    }
    if (this.coiommu) {
      let counted = 0;
      for (let g = 0; g < m.spec.guestPages; g++) if (mem.load(m.dtt, g) !== 0) counted++;
      if (counted > 0) leftover(`${counted} DTT entries not zero after teardown`);
    }
    return { unpinned, leftovers };
  }
}
