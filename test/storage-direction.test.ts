// DMA now has a direction: a device read (DMA_TO_DEVICE, a storage write) goes through the same
// translation and the same oracle checks as a device write. Planted: the device reads a page the
// guest has unmapped; under viommu-strict that read must fault and be reported, under lazy
// teardown it gets through (the window the policy leaves open, counted by the prober instead).
import { describe, expect, it } from 'vitest';
import { VIOLATION_DETAILS, DETAIL } from '../src/core/oracle.js';
import { READ_FAULT } from '../src/mem/dma.js';
import { guestWrite } from '../src/workloads/storage/guest-data.js';
import { freeRunning } from '../src/machine/shared-mem.js';
import { makeViommuRig } from './helpers/viommu-rig.js';

describe('device reads under the oracle', () => {
  it('viommu-strict: a read of a mapped page returns what the guest wrote; after the unmap it faults and is a violation', () => {
    const rig = makeViommuRig({ mode: 'strict' });
    const g = 7;
    const iova = rig.guest.map(g, 1);
    expect(iova).toBeGreaterThanOrEqual(0);
    expect(guestWrite(freeRunning, rig.m, g, 0x1234)).toBe(true);
    expect(rig.dma.read(iova, g)).toBe(0x1234); // nothing lost: the device reads what the guest wrote
    expect(rig.violations().dmaToUnpinned).toBe(0);
    rig.guest.unmap(iova, g, 1);
    // the planted bug: the device reads the buffer after the driver unmapped it
    expect(rig.dma.read(iova, g)).toBe(READ_FAULT);
    const v = rig.violations();
    expect(v.dmaToUnpinned).toBe(1);
    expect(v.first?.detail).toBe(VIOLATION_DETAILS[DETAIL.readIommuFault]);
    expect(v.first?.gfn).toBe(g);
  });

  it('viommu-lazy: the same late read gets through (the deferred flush keeps the mapping), as a late write would', () => {
    const rig = makeViommuRig({ mode: 'lazy', now: () => 0 });
    const g = 9;
    const iova = rig.guest.map(g, 1);
    guestWrite(freeRunning, rig.m, g, 0x55);
    rig.guest.unmap(iova, g, 1);
    expect(rig.dma.read(iova, g)).toBe(0x55);
    expect(rig.dma.write(iova, g, 0x56)).toBe(true);
    expect(rig.violations().dmaToUnpinned).toBe(0);
  });
});
