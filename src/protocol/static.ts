// Static pinning (direct I/O without a vIOMMU): the host pins all guest memory when the VM is
// created; the guest's DMA address is its physical address and map/unmap cost nothing.
import type { HostMemory } from '../mem/host-memory.js';
import type { Lock } from '../notify/lock.js';
import type { GuestDmaPolicy } from './policy.js';

export class StaticGuest implements GuestDmaPolicy {
  map(gfn: number): number {
    return gfn;
  }
  unmap(): void {}
}

/** VM creation: pin every guest page. Returns pages pinned (less than all if frames ran out). */
export function pinAllGuestMemory(host: HostMemory, lock: Lock, guestPages: number): number {
  let pinned = 0;
  lock.lock();
  try {
    for (let g = 0; g < guestPages; g++) if (host.pin(g)) pinned++;
  } finally {
    lock.unlock();
  }
  return pinned;
}
