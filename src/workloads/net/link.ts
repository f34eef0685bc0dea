// `net --arrival link`: packets arrive on the link at line rate into receive descriptors the driver
// posted ahead, while the driver maps and unmaps; the device fills each page as its packet has
// arrived. Its DMAs then fall between the driver's unmaps in virtual time, as on hardware, and
// Linux's page-table-cache flushes land between pages.
//
// Determinism: the device may translate a page at virtual time a only once no vCPU can still make
// an unmap before a: every vCPU's clock is past a, or the vCPU is blocked on a completion at or
// after this descriptor (it acts again only after that completion, which is after a). Otherwise a
// flush posted later on this machine's threads but earlier in virtual time would be missed. With
// several vCPUs, another vCPU blocked on its own queue counts as past a too (the device serves the
// queues in turn, not in virtual-time order, so that is exact for one vCPU only).
import { RunState, CTL, STAT, VCLOCK, vclockLine } from '../../machine/layout.js';
import type { Machine } from '../../machine/machine.js';
import type { BaseScenario, SectionBag } from '../../core/types.js';
import type { NetConfig } from './config.js';

export interface LinkSpec {
  /** Wire time of one packet (one buffer) at this vCPU's share of the link, ns. */
  wirePerPacketNs: number;
  /** Pace DMAs by the vCPUs' clocks (virtual clock only). */
  paced: boolean;
}

export function linkOf(cfg: BaseScenario & SectionBag): LinkSpec | undefined {
  const n = cfg.net as NetConfig;
  if (n.arrival !== 'link') return undefined;
  return { wirePerPacketNs: (n.packetBytes * 8 * cfg.vcpus) / n.lineRateGbps, paced: cfg.clock === 'virtual' };
}

/** A vCPU: blocked on completion `index` (absolute) of its queue, or not blocked (-1). */
export function setAwaits(m: Machine, vcpu: number, index: number): void {
  m.vclock[vclockLine.vcpu(vcpu) * VCLOCK.LINE + VCLOCK.AWAITS] = index;
}

/** The device: may it translate at virtual time `a` for descriptor `index` of queue `v`? */
function mayGo(m: Machine, v: number, index: number, a: number): boolean {
  for (let u = 0; u < m.spec.vcpus; u++) {
    const line = vclockLine.vcpu(u) * VCLOCK.LINE;
    if (m.vclock[line + VCLOCK.NOW] > a) continue;
    const awaits = m.vclock[line + VCLOCK.AWAITS];
    if (u === v ? awaits >= index : awaits > 0) continue;
    return false;
  }
  return true;
}

/** The device waits (spin, then short parks) until it may translate at `a`; false if the run stops. */
export function awaitGuests(m: Machine, stats: Float64Array, v: number, index: number, a: number): boolean {
  for (let spins = 0; !mayGo(m, v, index, a); spins++) {
    if (Atomics.load(m.control, CTL.STATE) >= RunState.Stop) return false;
    if (spins < 200) continue;
    Atomics.wait(m.control, CTL.DEVICE_DOORBELL, Atomics.load(m.control, CTL.DEVICE_DOORBELL), 0.05);
    stats[STAT.HEARTBEAT]++;
  }
  return true;
}
