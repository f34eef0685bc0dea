// Optimistic teardown (vIOMMU, ATC'11) against re-maps and a device access. A vCPU with a quota of
// one deferred mapping maps and unmaps G1 (IOVA A stays live, deferred), then G2 (G1 is evicted: A
// is torn down and freed), maps G3 (the allocator hands A out again), and maps G1 once more, which
// must not find A on its list of live mappings. The device meanwhile translates A twice through its
// IOTLB (from the moment the vCPU posts A): whatever it reaches must be pinned and belong to the
// page A maps at that moment, and it can never see G1 again once G3 had A. A third access waits
// for G1's eviction and must not reach G1; a fourth waits for the vCPU's drain and must fault;
// at the end the pin accounting, the host's residency records and the IO page table's pool are sound.
import type { Machine } from '../../machine/machine.js';
import { RELIANCE_BROKEN, oracleOutcome, type Scenario, type ThreadCtx } from '../../core/scenario.js';
import { accountingAtRest } from '../../mem/accounting.js';
import { auditIoRadix } from '../../mem/io-radix-audit.js';
import { Iotlb } from '../../mem/iotlb.js';
import { buildGuest } from '../wiring.js';
import { SCENARIO_TIMEOUT_MS, vcpuDone } from '../scenario-kit.js';
import { PEAKS_LOW, SCENARIO_VIOMMU, allTornDown, TORN_DOWN_WRONG, peaksCover, viommuCfgOf, viommuHostThread } from './scenarios-dma.js';
import { viommuGuest } from './guest.js';

const [G1, G2, G3] = [0, 1, 2];
const A = 0; // the first IOVA the allocator hands out
/** What one device access reached: 0 fault, 1 + the guest page otherwise; UNSAFE if not pinned. */
const UNSAFE = 7;
/** The device's result: first access << 3 | second, and these bits for the gated accesses. */
const STALE_BIT = 64;
const EVICTED_BIT = 128;
/**
 * scratch: how far the vCPU has got (word 0 is the kit's done count): A posted to the device (a
 * device never DMAs to an IOVA before its driver hands it over), G1 evicted, the drain returned.
 */
const PHASE = 1;
const [POSTED, EVICTED, DRAINED] = [1, 2, 3];

/** The vCPU tells the device how far it has got (harness, not protocol). */
function reach(ctx: ThreadCtx, phase: number): void {
  ctx.mem.store(ctx.scratch, PHASE, phase);
  ctx.mem.notify(ctx.scratch, PHASE);
}

/** The device waits until the vCPU has got that far. */
function awaitPhase(ctx: ThreadCtx, phase: number): void {
  const { mem, scratch } = ctx;
  for (let v = mem.load(scratch, PHASE); v < phase; v = mem.load(scratch, PHASE)) mem.wait(scratch, PHASE, v, SCENARIO_TIMEOUT_MS);
}

function vcpu(ctx: ThreadCtx): number {
  const { mem, m } = ctx;
  const guest = buildGuest({ guest: (c) => viommuGuest('optimistic', c) }, mem, m, viommuCfgOf(ctx), 0, m.statsBlock(ctx.thread));
  const a = guest.map(G1, 1);
  reach(ctx, POSTED);
  guest.unmap(a, G1, 1); // deferred: A stays live
  const b = guest.map(G2, 1);
  guest.unmap(b, G2, 1); // over quota: G1's mapping is torn down, flushed, A freed
  reach(ctx, EVICTED);
  const c = guest.map(G3, 1); // A again
  const d = guest.map(G1, 1); // a fresh IOVA: A is G3's now
  guest.unmap(d, G1, 1);
  guest.unmap(c, G3, 1);
  guest.drain?.();
  reach(ctx, DRAINED);
  vcpuDone(ctx);
  return a === A && c === A && d !== A ? 1 : 0;
}

function device(ctx: ThreadCtx): number {
  const { mem, m } = ctx;
  const tlb = new Iotlb(mem, m, SCENARIO_VIOMMU.iotlbEntries, SCENARIO_VIOMMU.iotlbWays, m.statsBlock(ctx.thread), (i) => mem.load(m.shadow, i) - 1);
  const access = (): number => {
    tlb.begin();
    try {
      const f = tlb.translate(A);
      if (f < 0) return 0;
      if (mem.load(m.framePinned, f) === 0) return UNSAFE;
      return mem.load(m.frameOwner, f); // the guest page + 1
    } finally {
      tlb.end();
    }
  };
  awaitPhase(ctx, POSTED);
  const first = access();
  const second = access();
  // once G1's eviction returned, its flush of A has drained: A may be free or G3's, never G1's
  awaitPhase(ctx, EVICTED);
  const evicted = access();
  const wrong = evicted === G1 + 1 || evicted === UNSAFE;
  // after the drain every flush of A was posted: A must fault now, whenever the others ran
  awaitPhase(ctx, DRAINED);
  const stale = access() !== 0;
  return first * 8 + second + (stale ? STALE_BIT : 0) + (wrong ? EVICTED_BIT : 0);
}

/** Pin accounting and the host's residency records agree, and the IO page table's pool is sound. */
function bookkeepingSound(m: Machine): boolean {
  return accountingAtRest(m) && auditIoRadix(m).length === 0;
}

const NAME = ['fault', 'G1', 'G2', 'G3'];
const NOT_PINNED = 'the device reached a frame that is not pinned';
const STALE = "A still translated after the vCPU's drain returned (a stale IOTLB entry)";
const STALE_EVICTED = "A still reached G1 (or a frame not pinned) after G1's eviction returned (a stale IOTLB entry)";
const UNSOUND = 'the bookkeeping is broken at the end (pin accounting, residency records or the IO page table pool)';
const NOT_AS_ALLOCATED = 'the IOVAs were not handed out as the allocator does (A, then A again for G3, then a fresh one for G1)';
const outcomeOf = (first: number, second: number) => `the device reached ${NAME[first]}, then ${NAME[second]}`;
/** A's life: unmapped, G1, unmapped, G3, unmapped. Two accesses see two states in that order. */
const ORDER = [0, 1, 0, 3, 0];
const possible: string[] = [];
for (let i = 0; i < ORDER.length; i++) for (let j = i; j < ORDER.length; j++) possible.push(outcomeOf(ORDER[i], ORDER[j]));

const optimisticRemap: Scenario = {
  name: 'viommu-optimistic-remap',
  budget: 60,
  description:
    'viommu-optimistic (quota 1): a vCPU maps and unmaps G1 (IOVA A deferred, still live), then G2 (G1 evicted, ' +
    'A freed), maps G3 (A again) and G1 again, while the hypervisor serves the queue and the device, once A is posted, ' +
    'translates A twice, once more after the eviction and once after the drain. No IOVA may be handed out twice while ' +
    'live; the device never reaches G1 through A once G3 had it or G1 was evicted, nor anything through A after the ' +
    'drain; pin accounting and the IO page table stay sound.',
  threads: ['vcpu0', 'hypervisor', 'device'],
  variants: ['none', 'optimistic-stale-reuse'],
  spec: { guestPages: 4, vcpus: 1, hostFrames: 4, dataFrames: 4, ringEntries: 2, iovaPages: 4, invqEntries: 4 },
  setup() {},
  run(ctx: ThreadCtx) {
    return ctx.thread === 0 ? vcpu(ctx) : ctx.thread === 1 ? viommuHostThread(ctx, 1) : device(ctx);
  },
  outcome(results, m: Machine) {
    const seen = oracleOutcome(m.control); // an IOVA handed out twice while live is named at the map
    if (seen) return seen;
    const first = (results[2] >> 3) & 7;
    const second = results[2] & 7;
    if (first === UNSAFE || second === UNSAFE) return NOT_PINNED;
    if (results[2] & STALE_BIT) return STALE;
    if (results[2] & EVICTED_BIT) return STALE_EVICTED;
    if (results[0] !== 1) return NOT_AS_ALLOCATED;
    if (!allTornDown(m)) return TORN_DOWN_WRONG;
    if (!bookkeepingSound(m)) return UNSOUND;
    if (!peaksCover(m, 2)) return PEAKS_LOW; // G1 stays pinned (deferred) while G2 is mapped
    return outcomeOf(first, second);
  },
  outcomes: {
    ...Object.fromEntries(possible.map((o) => [o, o.includes('G1, then G3') || o.includes('G3, then') ? 'INTERESTING' : 'ACCEPTABLE'])),
    [outcomeOf(3, 1)]: 'FORBIDDEN',
    [NOT_PINNED]: 'FORBIDDEN',
    [STALE]: 'FORBIDDEN',
    [STALE_EVICTED]: 'FORBIDDEN',
    [UNSOUND]: 'FORBIDDEN',
    [PEAKS_LOW]: 'FORBIDDEN',
    [NOT_AS_ALLOCATED]: 'FORBIDDEN',
    [TORN_DOWN_WRONG]: 'FORBIDDEN',
    [RELIANCE_BROKEN]: 'FORBIDDEN',
  },
  mustReach: [outcomeOf(0, 0), outcomeOf(1, 1), outcomeOf(3, 3)],
};

export const VIOMMU_TEARDOWN_SCENARIOS: readonly Scenario[] = [optimisticRemap];
