// Random operation sequences against the real vIOMMU code (inline host) and small reference models:
//  1. the invalidation queue: whatever the queue size, vCPU and batch sizes, the host sees exactly
//     the submitted invalidations in order, each part closed by a wait descriptor for the right vCPU
//     and sequence, and the status words and head/tail registers end where the model says;
//  2. the teardown policies: after every step the host's shadow table maps every buffer the driver
//     holds to the pinned frame of its guest page, strict keeps nothing else, accounting agrees,
//     DMA into a held buffer is safe and reads back, and a strict unmap leaves nothing to probe.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LINE_WORDS } from '../src/machine/layout.js';
import { Machine } from '../src/machine/machine.js';
import { freeRunning } from '../src/machine/shared-mem.js';
import { readStamp } from '../src/mem/payload.js';
import { InvalidationQueue, consumeInvalidationQueue, statusWord } from '../src/notify/invalidation-queue.js';
import { INVQ } from '../src/machine/layout.js';
import type { TeardownMode } from '../src/policies/viommu/guest.js';
import { makeViommuRig } from './helpers/viommu-rig.js';

describe('invalidation queue vs a reference model', () => {
  const submitArb = fc.record({
    v: fc.nat(2),
    ranges: fc.array(fc.tuple(fc.nat(1000), fc.integer({ min: 1, max: 16 })), { maxLength: 20 }),
  });
  it('delivers every descriptor once, in order, with one wait per part', () => {
    fc.assert(
      fc.property(fc.constantFrom(4, 8, 16), fc.array(submitArb, { minLength: 1, maxLength: 40 }), (entries, submits) => {
        const m = Machine.create({ guestPages: 1024, vcpus: 3, hostFrames: 8, dataFrames: 1, ringEntries: 2, iovaPages: 1024, invqEntries: entries });
        const got: string[] = [];
        const handler = {
          invalidate: (iova: number, pages: number) => void got.push(`inv ${iova}+${pages}`),
          wait: (complete: () => void) => {
            got.push('wait');
            complete();
          },
        };
        const queues = [0, 1, 2].map((v) => {
          const q = new InvalidationQueue('trap', freeRunning, m, v, 0, 200, m.guestStats(v));
          q.onTailWrite = () => void consumeInvalidationQueue(freeRunning, m, handler);
          return q;
        });
        const want: string[] = [];
        const seq = [0, 0, 0];
        let descs = 0;
        for (const s of submits) {
          const flat = s.ranges.flat();
          queues[s.v].submit(flat, s.ranges.length);
          const per = entries - 1;
          for (let at = 0; at < s.ranges.length || (s.ranges.length === 0 && at === 0); at += per) {
            const part = s.ranges.slice(at, at + per);
            for (const [i, p] of part) want.push(`inv ${i}+${p}`);
            want.push('wait');
            descs += part.length + 1;
            seq[s.v]++;
          }
          expect(Atomics.load(m.invq, statusWord(s.v))).toBe(seq[s.v]);
        }
        expect(got).toEqual(want);
        expect(Atomics.load(m.invq, INVQ.TAIL)).toBe(descs);
        expect(Atomics.load(m.invq, INVQ.HEAD)).toBe(descs);
        for (let v = 0; v < 3; v++) expect(Atomics.load(m.invq, INVQ.STATUS + v * LINE_WORDS)).toBe(seq[v]);
      }),
      { numRuns: 150 },
    );
  });
});

type Op =
  | { t: 'map'; g: number; n: number }
  | { t: 'unmap'; i: number }
  | { t: 'poll'; ms: number }
  | { t: 'dma'; i: number };

const P = 24;
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('map' as const), g: fc.nat(P - 4), n: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('unmap' as const), i: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('poll' as const), ms: fc.integer({ min: 0, max: 4 }) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('dma' as const), i: fc.nat(7) }) },
);

describe('teardown policies vs the host shadow table', () => {
  it('shadow covers every held buffer, strict holds nothing else, accounting and DMA safety hold', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<TeardownMode>('strict', 'lazy', 'optimistic'),
        fc.record({
          flushQueueEntries: fc.integer({ min: 1, max: 4 }),
          flushTimeoutMs: fc.integer({ min: 1, max: 5 }),
          optimisticTimeoutMs: fc.integer({ min: 1, max: 5 }),
          optimisticQuota: fc.integer({ min: 1, max: 4 }),
        }),
        fc.array(opArb, { maxLength: 60 }),
        (mode, viommu, ops) => {
          let now = 0;
          const rig = makeViommuRig({ guestPages: P, mode, viommu, now: () => now, iotlbEntries: 4, iotlbWays: 2 });
          const held: { iova: number; g: number; n: number }[] = [];
          let stamp = 1;
          const check = () => {
            expect(rig.checkAccounting()).toBe(true);
            const pinnedGfns = new Set<number>();
            for (const b of held)
              for (let p = 0; p < b.n; p++) {
                const f = rig.shadowFrame(b.iova + p);
                expect(f).toBe(rig.hostMemory.pinnedFrame(b.g + p));
                pinnedGfns.add(b.g + p);
              }
            let entries = 0;
            for (let i = 0; i < P; i++) if (rig.shadowFrame(i) >= 0) entries++;
            const heldPages = held.reduce((s, b) => s + b.n, 0);
            if (mode === 'strict') {
              expect(entries).toBe(heldPages);
              expect(rig.pinnedNow()).toBe(pinnedGfns.size);
            } else expect(entries).toBeGreaterThanOrEqual(heldPages);
          };
          for (const op of ops) {
            if (op.t === 'map') {
              const iova = rig.guest.map(op.g, op.n);
              if (iova >= 0) held.push({ iova, g: op.g, n: op.n });
            } else if (op.t === 'unmap' && held.length > 0) {
              const b = held.splice(op.i % held.length, 1)[0];
              rig.guest.unmap(b.iova, b.g, b.n);
              if (mode === 'strict') {
                rig.iotlb.begin();
                for (let p = 0; p < b.n; p++) {
                  // a page still held through another buffer at the same IOVA cannot exist: IOVAs are unique
                  expect(rig.iotlb.probe(b.iova + p)).toBe(-1);
                }
                rig.iotlb.end();
              }
            } else if (op.t === 'poll') {
              now += op.ms;
              rig.guest.poll();
            } else if (op.t === 'dma' && held.length > 0) {
              const b = held[op.i % held.length];
              stamp++;
              for (let p = 0; p < b.n; p++) expect(rig.dma.write(b.iova + p, b.g + p, stamp)).toBe(true);
              for (let p = 0; p < b.n; p++) expect(readStamp(freeRunning, rig.m, b.g + p)).toBe(stamp);
            }
            check();
          }
          for (const b of held.splice(0)) rig.guest.unmap(b.iova, b.g, b.n);
          rig.guest.drain();
          check();
          expect(rig.pinnedNow()).toBe(0);
          expect(rig.violations()).toEqual({ dmaToUnpinned: 0, lostPayloads: 0, accounting: 0, unpinnedWhileMapped: 0, lostWakeups: 0, mapFailures: 0, undrainedUnpins: 0 });
        },
      ),
      { numRuns: 200 },
    );
  });
});
