// What static pinning and passthrough share: the guest's DMA address is its physical address (an
// identity map, nothing to do per buffer), and the host pins all guest memory at VM creation.
import type { HostMemory } from '../mem/host-memory.js';
import type { Lock } from '../notify/lock.js';
import type { GuestDmaPolicy } from '../core/guest-dma-policy.js';

export class IdentityGuest implements GuestDmaPolicy {
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
