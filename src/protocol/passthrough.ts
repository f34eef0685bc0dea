// vIOMMU in passthrough mode: the guest's IOVA is its physical address (an identity map) and the
// host pins all guest memory at VM creation, exactly like static pinning; the device still
// translates through its IOTLB and the host IOMMU table. No exits, no protection.
import type { GuestDmaPolicy } from './policy.js';

export class PassthroughGuest implements GuestDmaPolicy {
  map(gfn: number): number {
    return gfn;
  }
  unmap(): void {}
}
