// Property: the IOVA allocator never hands out an IOVA twice while it is live, across magazine
// spills to the depot and refills from it on two vCPUs (interleaved in any order fast-check picks),
// for every size class, with magazines of 1 to 4 entries (so spills and refills are frequent).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Machine } from '../src/machine/machine.js';
import { freeRunning } from '../src/machine/shared-mem.js';
import { IovaAllocator, orderOf } from '../src/policies/viommu/iova-allocator.js';

const IOVA_PAGES = 256;
const spec = { guestPages: 4, vcpus: 2, hostFrames: 4, dataFrames: 4, ringEntries: 2, iovaPages: IOVA_PAGES, invqEntries: 4 };

/** One step: vCPU v allocates `pages` pages, or frees its k-th live range. */
const stepArb = fc.record({ v: fc.nat(1), alloc: fc.boolean(), pages: fc.integer({ min: 1, max: 4 }), k: fc.nat(64) });

describe('IOVA allocator (property)', () => {
  it('no IOVA page is live twice, across spill and refill on two vCPUs', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.array(stepArb, { minLength: 1, maxLength: 300 }), (magazine, steps) => {
        const m = Machine.create(spec);
        const vcpus = [0, 1].map(() => new IovaAllocator(freeRunning, m, magazine, 1000));
        const live: [number, number][][] = [[], []];
        const owner = new Int32Array(IOVA_PAGES); // pages of each live range, marked
        for (const s of steps) {
          const mine = live[s.v];
          if ((s.alloc && mine.length < 24) || mine.length === 0) {
            const iova = vcpus[s.v].alloc(s.pages);
            if (iova < 0) continue; // exhausted: live ranges and both vCPUs' magazines hold the space
            expect(iova % (1 << orderOf(s.pages)), 'size-aligned').toBe(0);
            for (let p = iova; p < iova + s.pages; p++) {
              expect(owner[p], `IOVA page ${p} handed out while live`).toBe(0);
              owner[p] = 1;
            }
            mine.push([iova, s.pages]);
          } else {
            const [iova, pages] = mine.splice(s.k % mine.length, 1)[0];
            for (let p = iova; p < iova + pages; p++) owner[p] = 0;
            vcpus[s.v].free(iova, pages);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
