// Property: random sequences of device DMAs (faulting pages in), reclaims with shootdown (some
// while the device is on the page) and checks, against a sequential reference of which pages are
// pinned and what each holds. After every step: no unsafe DMA, accounting holds, every page holds
// its last payload, faults happen exactly for pages the reference says are not pinned, and every
// fault raised was answered.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CTL } from '../src/machine/layout.js';
import { freeRunning } from '../src/machine/shared-mem.js';
import { readStamp } from '../src/mem/payload.js';
import { RESP, readPrqCounts } from '../src/policies/iopf/prq.js';
import { rig } from './helpers/iopf-rig.js';

const P = 16;
type Op = { t: 'dma'; g: number } | { t: 'reclaim'; g: number } | { t: 'reclaimBusy'; g: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant('dma' as const), g: fc.nat(P - 1) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('reclaim' as const), g: fc.nat(P - 1) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('reclaimBusy' as const), g: fc.nat(P - 1) }) },
);

/** The sequential reference: pinned pages, each page's last payload, the faults it predicts. */
class Reference {
  pinned = new Set<number>();
  contents = new Map<number, number>();
  raised = 0;
  major = 0;
}

describe('iopf against a sequential reference', () => {
  it('random DMA / reclaim / busy-reclaim sequences', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 60 }), (ops) => {
        const r = rig();
        const ref = new Reference();
        let stamp = 0;
        for (const op of ops) {
          if (op.t === 'dma') {
            stamp++;
            if (!ref.pinned.has(op.g)) {
              ref.raised++;
              if (ref.contents.has(op.g)) ref.major++;
            }
            if (!r.dma.write(op.g, op.g, stamp)) {
              // dropped on a fault: the host answers, the descriptor is re-posted and must go through
              expect(r.iopf.serve()).toBe(1);
              expect(r.dev.settle(r.dev.lastGroup)).toBe(RESP.SUCCESS);
              expect(r.dma.write(op.g, op.g, stamp)).toBe(true);
            }
            ref.pinned.add(op.g);
            ref.contents.set(op.g, stamp);
          } else if (op.t === 'reclaim') {
            expect(r.reclaim(op.g)).toBe(ref.pinned.has(op.g));
            ref.pinned.delete(op.g);
          } else {
            r.dev.enter(op.g);
            expect(r.iopf.forceUnpin(op.g)).toBe(false);
            r.dev.leave(op.g);
          }
          expect(Atomics.load(r.m.control, CTL.VIOL_DMA)).toBe(0);
          expect(r.accountingOk()).toBe(true);
          for (let g = 0; g < P; g++) expect(r.host.pinnedFrame(g) >= 0).toBe(ref.pinned.has(g));
          for (const [g, s] of ref.contents) expect(readStamp(freeRunning, r.m, g)).toBe(s);
        }
        const c = readPrqCounts(r.m);
        expect(c.RAISED).toBe(ref.raised);
        expect(c.ANSWERED).toBe(ref.raised);
        expect(c.MAJOR).toBe(ref.major);
      }),
      { numRuns: 150, seed: 10 },
    );
  });
});
