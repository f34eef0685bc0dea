// Property: after any sequence of map / unmap (with its invalidation, under either strategy) / walk,
// no IOTLB or page-table cache entry gives the device a translation the IO page table no longer has
// (strict), and every translation it returns is the one the table held when it was cached and still
// holds. The host's own pieces (4-level table, device flush, strategy flush bits) against the
// device's IOTLB and page-table caches, on one thread; the planted bug must break the property.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PT_ENTRIES, STAT } from '../src/machine/layout.js';
import { Machine } from '../src/machine/machine.js';
import { freeRunning } from '../src/machine/shared-mem.js';
import { IoRadixTable } from '../src/mem/io-radix-table.js';
import { Iotlb, IotlbFlusher } from '../src/mem/iotlb.js';
import { PageWalker } from '../src/mem/page-walk.js';
import { invalidationStrategy } from '../src/policies/viommu/invalidation.js';
import type { InvalidationName } from '../src/policies/viommu/config.js';

const RANGES = 2; // 2 MiB ranges in play
type Op = { kind: 'map' | 'walk'; iova: number; frame: number } | { kind: 'unmap'; iova: number; pages: number };

const iovaArb = fc.tuple(fc.integer({ min: 0, max: RANGES - 1 }), fc.integer({ min: 0, max: 2 })).map(([r, o]) => r * PT_ENTRIES + o);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('map' as const), iova: iovaArb, frame: fc.integer({ min: 0, max: 9 }) }),
  fc.record({ kind: fc.constant('walk' as const), iova: iovaArb, frame: fc.constant(0) }),
  fc.record({ kind: fc.constant('unmap' as const), iova: iovaArb, pages: fc.constantFrom(1, 2) }),
  // a whole 2 MiB range: its leaf page is freed
  fc.record({ kind: fc.constant('unmap' as const), iova: fc.integer({ min: 0, max: RANGES - 1 }).map((r) => r * PT_ENTRIES), pages: fc.constant(PT_ENTRIES) }),
);

/** Runs the ops; returns the first broken promise, or undefined. */
function run(ops: Op[], name: InvalidationName, variant = 'none'): string | undefined {
  const m = Machine.create({ guestPages: 16, vcpus: 1, hostFrames: 16, dataFrames: 4, ringEntries: 2, iovaPages: RANGES * PT_ENTRIES, invqEntries: 4 });
  const stats = new Float64Array(STAT.WORDS);
  const table = new IoRadixTable(freeRunning, m);
  const tlb = new Iotlb(freeRunning, m, 4, 2, stats, new PageWalker(table, { l1: 2, l2: 1, l3: 1 }, stats));
  const flusher = new IotlbFlusher(freeRunning, m, new Float64Array(STAT.WORDS), 100);
  const strategy = invalidationStrategy(name, variant);
  /** What the table held for each IOVA when it was last mapped (frame + 1), as the host set it. */
  const model = new Map<number, number>();
  for (const op of ops) {
    if (op.kind === 'map') {
      // a new mapping of a live IOVA is an unmap first (the driver never maps over a live one)
      if (model.has(op.iova)) continue;
      table.set(op.iova, op.frame + 1);
      model.set(op.iova, op.frame + 1);
    } else if (op.kind === 'unmap') {
      for (const [i, p] of strategy.ranges(op.iova, op.pages).reduce<number[][]>((a, x, k, all) => (k % 2 ? a : [...a, [x, all[k + 1]]]), [])) {
        const freed: number[] = [];
        for (let j = i; j < i + p; j++) {
          table.clear(j);
          model.delete(j);
        }
        table.freeCovered(i, p, freed);
        flusher.drain(flusher.post(i, p, strategy.flushFlags(freed.length > 0), 0));
        table.release(freed);
      }
    } else {
      tlb.begin();
      const f = tlb.translate(op.iova);
      tlb.end();
      const want = (model.get(op.iova) ?? 0) - 1;
      if (table.leaf(op.iova) - 1 !== want) return `the host's table lost IOVA ${op.iova}`;
      if (f !== want) return `IOVA ${op.iova}: the device translated to ${f}, the table holds ${want}`;
    }
  }
  return undefined;
}

describe('no cache outlives the table (strict)', () => {
  it.each(['linux', 'fands'] as const)('%s: every walk returns what the table holds now', (name) => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 60 }), (ops) => run(ops, name) === undefined),
      { numRuns: name === 'linux' ? 150 : 400, seed: 11 },
    );
  });

  it('the planted bug ptcache-kept-after-free breaks it (fast-check finds a sequence, and it is the stale page-table cache)', () => {
    const r = fc.check(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 60 }), (ops) => run(ops, 'fands', 'ptcache-kept-after-free') === undefined),
      { numRuns: 2000, seed: 11 },
    );
    expect(r.failed).toBe(true);
    const ops = r.counterexample![0] as Op[];
    expect(run(ops, 'fands', 'ptcache-kept-after-free')).toMatch(/the device translated to/);
    expect(run(ops, 'fands'), 'the same sequence under the real strategy is clean').toBeUndefined();
  });
});
