// Oracle item 4: the host's pinned-frame count, the frames marked pinned, the host IOMMU entries
// and the policy's own record (coIOMMU: PINNED bits of the DTT; vIOMMU: shadow references) must
// all agree. Checked under the pin-state lock.
import { CTL } from '../machine/layout.js';
import type { Machine } from '../machine/machine.js';
import type { SharedMem } from '../machine/shared-mem.js';
import type { Lock } from '../notify/lock.js';
import { DETAIL, type Oracle } from '../core/oracle.js';
import type { HostMemory } from './host-memory.js';

/** A policy's share of the check: its own record of each page, and rules of its own structures. */
export interface PolicyAccounting {
  pinnedFor?(g: number): boolean;
  checkAccounting?(oracle: Oracle): boolean;
}

export function checkAccounting(mem: SharedMem, m: Machine, host: HostMemory, lock: Lock, oracle: Oracle, policy: PolicyAccounting = {}): boolean {
  lock.lock();
  try {
    const high = host.frameHigh();
    let pinned = 0;
    let ok = true;
    for (let f = 0; f < high; f++) {
      const owner = mem.load(m.frameOwner, f);
      if (owner === 0) continue;
      const g = owner - 1;
      const p = mem.load(m.framePinned, f) !== 0;
      if (p) pinned++;
      const mapped = mem.load(m.iommu, g) === f + 1;
      const recorded = policy.pinnedFor ? policy.pinnedFor(g) : p;
      if (p !== mapped || p !== recorded) {
        oracle.report('accounting', g, f, DETAIL.pinCountMismatch);
        ok = false;
      }
    }
    if (policy.checkAccounting && !policy.checkAccounting(oracle)) ok = false;
    if (pinned !== mem.load(m.control, CTL.PINNED_NOW)) {
      oracle.report('accounting', -1, -1, DETAIL.pinCountMismatch);
      ok = false;
    }
    return ok;
  } finally {
    lock.unlock();
  }
}
