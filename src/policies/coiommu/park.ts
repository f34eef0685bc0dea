// PARK_UNPIN / UNPARK_UNPIN (crosvm's command register): the VMM handles the guest's MMIO write on
// the vCPU's own exit, under the pin-state lock, so once a park returns no unpin is under way and
// none starts until the matching unpark. Parks nest: a count, the worker runs again at zero.
import type { Machine } from '../../machine/machine.js';
import type { SharedMem } from '../../machine/shared-mem.js';
import type { Lock } from '../../notify/lock.js';
import { CO } from './region.js';

export function parkUnpin(mem: SharedMem, m: Machine, lock: Lock, park: boolean): void {
  lock.lock();
  try {
    const n = mem.load(m.coiommu, CO.PARK_COUNT);
    if (park) mem.store(m.coiommu, CO.PARK_COUNT, n + 1);
    else if (n > 0) {
      mem.store(m.coiommu, CO.PARK_COUNT, n - 1); // crosvm logs an unpark at zero
      if (n === 1) mem.notify(m.coiommu, CO.PARK_COUNT); // the worker runs again
    }
  } finally {
    lock.unlock();
  }
}

/** With the pin-state lock held: is the unpin worker parked? */
export const unpinParked = (mem: SharedMem, m: Machine): boolean => mem.load(m.coiommu, CO.PARK_COUNT) > 0;
