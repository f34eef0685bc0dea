// vIOMMU scenario for F&S's invalidation (SOSP'24): an unmap that covers a whole 2 MiB range frees
// its leaf page-table page, and the fands strategy keeps the device's page-table caches unless a
// page was freed. The device has just walked a neighbouring IOVA of that range, so its L1 cache
// points at the page; the host then reuses the page for another range. A later walk of an IOVA
// of the freed range must fault: it must not go through the stale cache entry into the reused page.
//
// The host thread runs the host's own pieces (the 4-level table, the device flush, the fands
// strategy's flush bits) for the unmap and the next map, without the invalidation queue around
// them: a 512-page range through the queue would cost a thousand scheduled steps of bookkeeping.
import { PT_ENTRIES } from '../../machine/layout.js';
import type { Machine } from '../../machine/machine.js';
import { freeRunning } from '../../machine/shared-mem.js';
import { HostMemory } from '../../mem/host-memory.js';
import { IoRadixTable } from '../../mem/io-radix-table.js';
import { auditIoRadix } from '../../mem/io-radix-audit.js';
import { Iotlb, IotlbFlusher } from '../../mem/iotlb.js';
import { PageWalker } from '../../mem/page-walk.js';
import type { Scenario, ThreadCtx } from '../../core/scenario.js';
import { SCENARIO_TIMEOUT_MS } from '../scenario-kit.js';
import { invalidationStrategy } from './invalidation.js';

const G1 = 1; // the guest page the neighbour IOVA maps
const G2 = 2; // the guest page the next map (another range) maps
const NEIGHBOUR = 1; // IOVA in range [0, 512), mapped at the start
const VICTIM = 5; // IOVA in the same range, never mapped
const REUSER = PT_ENTRIES + VICTIM; // IOVA of the next range, at the victim's index
const S = { F2: 1, DRAINED: 2 } as const; // scratch: G2's frame + 1, the host's drain returned (word 0 is the kit's)
const DEV = { FIRST_OK: 1, SECOND_G2: 2, SECOND_OTHER: 4, STALE_AFTER_DRAIN: 8 } as const;

const LEAK = 'an IOVA of the freed range translated through a stale page-table cache into the reused page (protection leak)';
const WRONG = 'an IOVA of the freed range translated to some frame';
const STALE = 'the unmapped neighbour still translated after the host saw its flush drained (a stale IOTLB entry)';
const BROKEN = 'the IO page table is broken (a page leaked, freed while linked, or miscounted)';
const WRONG_TABLE = 'the table does not hold what the host wrote (the neighbour still mapped, or the next map missing)';

/** The unmap of the whole range [0, 512) with the fands invalidation, then the next map. */
function host(ctx: ThreadCtx): number {
  const { mem, m, scratch } = ctx;
  const strategy = invalidationStrategy('fands', ctx.variant);
  const radix = new IoRadixTable(mem, m);
  const flusher = new IotlbFlusher(mem, m, m.statsBlock(ctx.thread), SCENARIO_TIMEOUT_MS);
  radix.clear(NEIGHBOUR);
  const freed: number[] = [];
  radix.freeCovered(0, PT_ENTRIES, freed); // one unmap covers the range: its leaf page goes
  flusher.drain(flusher.post(0, PT_ENTRIES, strategy.flushFlags(freed.length > 0)));
  radix.release(freed); // only now may the page be reused
  mem.store(scratch, S.DRAINED, 1); // the device's third access checks strict protection against it
  radix.set(REUSER, mem.load(scratch, S.F2)); // the next map takes the page for range [512, 1024)
  return freed.length;
}

/** Walk the neighbour (filling the page-table caches), then the never-mapped victim. */
function device(ctx: ThreadCtx): number {
  const { mem, m, scratch } = ctx;
  const stats = m.statsBlock(ctx.thread);
  const tlb = new Iotlb(mem, m, 4, 2, stats, new PageWalker(new IoRadixTable(mem, m), { l1: 2, l2: 1, l3: 1 }, stats));
  const access = (iova: number): number => {
    tlb.begin();
    try {
      return tlb.translate(iova);
    } finally {
      tlb.end();
    }
  };
  let res = access(NEIGHBOUR) >= 0 ? DEV.FIRST_OK : 0;
  const f = access(VICTIM);
  if (f >= 0) res |= f + 1 === mem.load(scratch, S.F2) ? DEV.SECOND_G2 : DEV.SECOND_OTHER;
  // strict: an access that begins after the flush drained must not translate the unmapped IOVA
  const drained = mem.load(scratch, S.DRAINED) === 1;
  if (access(NEIGHBOUR) >= 0 && drained) res |= DEV.STALE_AFTER_DRAIN;
  return res;
}

export const ptcacheVsFree: Scenario = {
  name: 'fands-unmap-vs-walk',
  description:
    'viommu --invalidation fands: the host unmaps a whole 2 MiB range (freeing its leaf page-table page), flushes the ' +
    'device (page-table caches too, as a page was freed), then reuses the page for the next range, while the device walks ' +
    'a neighbouring IOVA of the range (filling its L1 page-table cache) and then an IOVA of the range that was never mapped.',
  threads: ['host', 'device'],
  variants: ['none', 'ptcache-kept-after-free'],
  budget: 200,
  mustReach: ['the unmap came first: both walks faulted', 'the walk of the neighbour came first; the victim faulted'],
  spec: { guestPages: 4, vcpus: 1, hostFrames: 4, dataFrames: 4, ringEntries: 2, iovaPages: 2 * PT_ENTRIES, invqEntries: 4 },
  setup(m: Machine, scratch: Int32Array) {
    const hostMem = new HostMemory(freeRunning, m);
    if (!hostMem.pin(G1) || !hostMem.pin(G2)) throw new Error('scenario set-up could not pin its pages');
    new IoRadixTable(freeRunning, m).set(NEIGHBOUR, hostMem.pinnedFrame(G1) + 1);
    scratch[S.F2] = hostMem.pinnedFrame(G2) + 1;
  },
  run(ctx) {
    return ctx.thread === 0 ? host(ctx) : device(ctx);
  },
  outcome(results, m, scratch) {
    const d = results[1];
    if (d & DEV.SECOND_G2) return LEAK;
    if (d & DEV.SECOND_OTHER) return WRONG;
    if (d & DEV.STALE_AFTER_DRAIN) return STALE;
    if (auditIoRadix(m).length > 0) return BROKEN;
    const table = new IoRadixTable(freeRunning, m);
    if (table.leaf(NEIGHBOUR) !== 0 || table.leaf(REUSER) !== scratch[S.F2]) return WRONG_TABLE;
    return d & DEV.FIRST_OK ? 'the walk of the neighbour came first; the victim faulted' : 'the unmap came first: both walks faulted';
  },
  outcomes: {
    'the walk of the neighbour came first; the victim faulted': 'ACCEPTABLE',
    'the unmap came first: both walks faulted': 'ACCEPTABLE',
    [LEAK]: 'FORBIDDEN',
    [WRONG]: 'FORBIDDEN',
    [STALE]: 'FORBIDDEN',
    [BROKEN]: 'FORBIDDEN',
    [WRONG_TABLE]: 'FORBIDDEN',
  },
};
