// Static pinning (direct I/O without a vIOMMU): the host pins all guest memory when the VM is
// created; the guest's DMA address is its physical address and map/unmap cost nothing.
import type { Policy } from '../policy.js';
import { IdentityGuest } from '../pin-all.js';

export const staticPolicy: Policy = {
  name: 'static',
  family: 'static',
  help: `the host pins all guest memory when the VM is created; DMA
needs no exits, but every guest page stays pinned`,
  notifyPaths: ['trap'],
  compareOn: ['trap'],
  pinsAtCreation: true,
  requests: 'none',
  identityDma: true,
  guest: () => new IdentityGuest(),
  cost: () => ({}),
};
