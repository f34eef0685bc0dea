// Oracle item 4: the host's pinned-frame count, the frames marked pinned, the host IOMMU entries
// and (coIOMMU) the PINNED bits of the DTT, or (vIOMMU) the shadow mappings, must all agree.
// Checked under the pin-state lock.
import { CTL } from '../machine/layout.js';
import type { Machine } from '../machine/machine.js';
import type { SharedMem } from '../machine/shared-mem.js';
import type { Lock } from '../notify/lock.js';
import { DETAIL, type Oracle } from '../run/oracle.js';
import { PINNED } from '../protocol/dtt.js';
import type { HostMemory } from './host-memory.js';

export function checkAccounting(
  mem: SharedMem,
  m: Machine,
  host: HostMemory,
  lock: Lock,
  oracle: Oracle,
  withDtt: boolean,
  /** vIOMMU: a page is pinned exactly while some shadow (IOVA) entry maps it. */
  withShadow = false,
): boolean {
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
      const dttPinned = withDtt ? (mem.load(m.dtt, g) & PINNED) !== 0 : p;
      const shadowed = withShadow ? mem.load(m.shadowRefs, g) > 0 : p;
      if (p !== mapped || p !== dttPinned || p !== shadowed) {
        oracle.report('accounting', g, f, DETAIL.pinCountMismatch);
        ok = false;
      }
    }
    if (withShadow) {
      // Every shadow entry points at a pinned frame, and the per-page reference counts add up.
      let entries = 0;
      let refs = 0;
      for (let i = 0; i < m.iovaPages; i++) {
        const s = mem.load(m.shadow, i) - 1;
        if (s < 0) continue;
        entries++;
        if (mem.load(m.framePinned, s) === 0) {
          oracle.report('accounting', mem.load(m.frameOwner, s) - 1, s, DETAIL.pinCountMismatch);
          ok = false;
        }
      }
      for (let g = 0; g < m.spec.guestPages; g++) refs += mem.load(m.shadowRefs, g);
      if (entries !== refs) {
        oracle.report('accounting', -1, -1, DETAIL.pinCountMismatch);
        ok = false;
      }
    }
    if (pinned !== mem.load(m.control, CTL.PINNED_NOW)) {
      oracle.report('accounting', -1, -1, DETAIL.pinCountMismatch);
      ok = false;
    }
    return ok;
  } finally {
    lock.unlock();
  }
}
