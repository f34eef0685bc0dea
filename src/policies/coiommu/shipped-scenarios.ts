// Scenarios of the shipped coIOMMU (multi-level DTT): the shrinker against a map and against the
// host's unpin walk, a busy notify slot, and two vCPUs growing the table at once.
import type { Machine } from '../../machine/machine.js';
import { SLOT, STAT } from '../../machine/layout.js';
import { LOCK_HELD, type Scenario, type ThreadCtx } from '../../core/scenario.js';
import { rwLockFree } from './rw-lock.js';
import { DEFAULT_BDF, NOTIFY_LO, notifyWordLeftBehind } from '../../notify/pin-request.js';
import { hostThread } from '../scenario-kit.js';
import { CO } from './region.js';
import { STALE_NOTIFY } from './scenario-parts.js';
import {
  SHIPPED_VCPU as V,
  STAMP,
  enableTable,
  runShrinker,
  shippedHost,
  shippedMapDmaUnmap,
  shippedSpec,
  shippedVerdict,
  stampOf,
} from './shipped-parts.js';

const G = 1;
/** A page in G's leaf with a stale request for it (busy slot). */
const H = 3;
/** Pages of the balloon's unpin request (all in G's leaf, none pinned). */
const RANGE = 256;

const UNSAFE_DMA = 'DMA reached a page the host IOMMU did not map for it';
const FREED_IN_USE = 'a DTT page was freed while the host walked it, or a freed page is still referenced';
const TREE_BROKEN = 'the DTT is broken (a page leaked, referenced twice, or miscounted)';
const COUNT_LOST = "a vCPU's map count was lost (an unmap found it already zero)";
const BAD_ACCOUNTING = 'pin accounting broken (PINNED bits, IOMMU entries and pinned frames disagree)';
const LOST_PAYLOAD = 'a payload was lost';
const MAP_FAILED = 'a map failed';

export const SAFETY = {
  [UNSAFE_DMA]: 'FORBIDDEN',
  [FREED_IN_USE]: 'FORBIDDEN',
  [TREE_BROKEN]: 'FORBIDDEN',
  [COUNT_LOST]: 'FORBIDDEN',
  [BAD_ACCOUNTING]: 'FORBIDDEN',
  [LOST_PAYLOAD]: 'FORBIDDEN',
  [MAP_FAILED]: 'FORBIDDEN',
  [STALE_NOTIFY]: 'FORBIDDEN',
  [LOCK_HELD]: 'FORBIDDEN',
} as const;

/** Violations first, whatever else happened. `vcpus`: thread index and page of each mapping vCPU. */
export function safety(m: Machine, results: number[], threads: number, vcpus: [number, number][], mustMap = true): string | undefined {
  const v = shippedVerdict(m, threads);
  if (v.unsafeDma > 0) return UNSAFE_DMA;
  if (v.accountingViolations > 0 || v.treeProblems.some((p) => p.includes('freed'))) return FREED_IN_USE;
  if (v.underflows > 0) return COUNT_LOST;
  if (v.treeProblems.length > 0) return TREE_BROKEN;
  if (!v.accountingOk) return BAD_ACCOUNTING;
  if (notifyWordLeftBehind(m)) return STALE_NOTIFY;
  if (!rwLockFree(Atomics.load(m.coiommu, CO.DTT_LOCK)) || Atomics.load(m.coiommu, CO.ALLOC_LOCK) !== 0) return LOCK_HELD;
  for (const [t, g] of vcpus) {
    const mapped = (results[t] & V.MAPPED) !== 0;
    if (mustMap && !mapped) return MAP_FAILED;
    if (mapped && ((results[t] & V.LOST) !== 0 || stampOf(m, g) !== STAMP + t)) return LOST_PAYLOAD;
  }
  return undefined;
}

const shrinkerVsMap: Scenario = {
  name: 'coiommu-shrinker-vs-map',
  description:
    "Page G's leaf is present and all zero. The guest's shrinker runs (park, free empty pages under the DTT's write " +
    'lock, unpark) while a vCPU maps G, the device DMAs into it and the vCPU unmaps. The leaf is freed only when ' +
    'no map is inside it; a map after the free installs a fresh leaf.',
  threads: ['vcpu0', 'pin-handler', 'shrinker'],
  // shrink-without-park matters only against a host walk (coiommu-shrinker-vs-unpin): no search of this one finds it
  variants: ['none', 'shrink-without-lock'],
  budget: 100,
  mustReach: ['the map held the leaf: the shrinker kept it (PINNED stays in it)', 'shrinker first: the leaf was freed, the map installed a fresh one'],
  spec: shippedSpec(2),
  setup: (m) => enableTable(m, [G]),
  run(ctx: ThreadCtx) {
    if (ctx.thread === 0) return shippedMapDmaUnmap(ctx, 0, G);
    if (ctx.thread === 1) return hostThread(ctx, 2, shippedHost(ctx).coiommu);
    return runShrinker(ctx, 1);
  },
  outcome(results, m) {
    const bad = safety(m, results, 3, [[0, G]]);
    if (bad) return bad;
    if (results[2] > 0) return 'shrinker first: the leaf was freed, the map installed a fresh one';
    return 'the map held the leaf: the shrinker kept it (PINNED stays in it)';
  },
  outcomes: {
    'shrinker first: the leaf was freed, the map installed a fresh one': 'INTERESTING',
    'the map held the leaf: the shrinker kept it (PINNED stays in it)': 'ACCEPTABLE',
    ...SAFETY,
  },
};

const shrinkerVsUnpin: Scenario = {
  name: 'coiommu-shrinker-vs-unpin',
  description:
    `Page G's leaf is present and all zero. The guest's shrinker runs while the host serves a balloon's unpin request ` +
    `for ${RANGE} pages of that leaf (none pinned: each walk finds a zero entry). The host walks the table without the ` +
    "guest's lock: PARK_UNPIN must keep it out of a leaf the shrinker frees; a parked host waits for the unpark.",
  threads: ['shrinker', 'balloon-unpin'],
  variants: ['none', 'shrink-without-park'],
  budget: 60,
  mustReach: ['the host found the worker parked and waited for the unpark', 'the unpin request ran outside the park'],
  spec: shippedSpec(1),
  setup: (m) => enableTable(m, [G]),
  run(ctx: ThreadCtx) {
    if (ctx.thread === 0) return runShrinker(ctx, 0);
    const { coiommu, stats } = shippedHost(ctx);
    const ok = coiommu.unpinRange(0, RANGE);
    return (ok ? 1 : 0) | (stats[STAT.UNPIN_PARKED] > 0 ? 2 : 0);
  },
  outcome(results, m) {
    const bad = safety(m, results, 2, []);
    if (bad) return bad;
    if ((results[1] & 1) === 0) return 'the unpin request failed';
    return (results[1] & 2) !== 0 ? 'the host found the worker parked and waited for the unpark' : 'the unpin request ran outside the park';
  },
  outcomes: {
    'the host found the worker parked and waited for the unpark': 'INTERESTING',
    'the unpin request ran outside the park': 'ACCEPTABLE',
    'the unpin request failed': 'FORBIDDEN',
    ...SAFETY,
  },
};

const busySlot: Scenario = {
  name: 'coiommu-busy-slot',
  description:
    "vCPU 0's notify slot is still raised: an earlier request for page H timed out and the host has not served it " +
    'yet. The vCPU maps page G meanwhile. The shipped driver logs the busy slot and returns without pinning: the ' +
    'map fails and is undone; if the host catches up first, the map goes through.',
  threads: ['vcpu0', 'pin-handler'],
  variants: ['none'],
  spec: shippedSpec(1),
  setup(m) {
    enableTable(m, [G, H]);
    // the stale single-page request: (H << 16) | bdf, raised and never answered
    Atomics.store(m.slots, NOTIFY_LO, (H << 16) | DEFAULT_BDF);
    Atomics.store(m.slots, SLOT.REQ, 1);
  },
  run(ctx: ThreadCtx) {
    if (ctx.thread === 0) return shippedMapDmaUnmap(ctx, 0, G);
    return hostThread(ctx, 1, shippedHost(ctx).coiommu);
  },
  outcome(results, m) {
    const bad = safety(m, results, 2, [[0, G]], false);
    if (bad) return bad;
    const mapped = (results[0] & V.MAPPED) !== 0;
    const busy = (results[0] & V.BUSY) !== 0;
    if (busy && !mapped) return 'slot busy: the map failed without pinning (logged, counted, undone)';
    if (!busy && mapped) return 'the host served the stale request first: the map went through';
    return `busy=${busy} mapped=${mapped}`;
  },
  outcomes: {
    'slot busy: the map failed without pinning (logged, counted, undone)': 'INTERESTING',
    'the host served the stale request first: the map went through': 'ACCEPTABLE',
    ...SAFETY,
  },
};

const twoVcpusNewLeaf: Scenario = {
  name: 'coiommu-two-vcpus-new-leaf',
  description:
    'Two vCPUs map pages 1 and 2 at once; their leaf does not exist yet, so each may allocate one and install it in ' +
    'the root with a compare-and-swap: the loser gives its page back and uses the winner\'s. Both counts must land ' +
    'in the one leaf the host walks.',
  threads: ['vcpu0', 'vcpu1', 'pin-handler'],
  variants: ['none', 'leaf-install-plain-store'],
  budget: 100,
  mustReach: ['one vCPU installed the leaf, the other found it', 'both allocated a leaf: the CAS loser gave its page back'],
  spec: shippedSpec(2),
  setup: (m) => enableTable(m, []),
  run(ctx: ThreadCtx) {
    if (ctx.thread < 2) return shippedMapDmaUnmap(ctx, ctx.thread, 1 + ctx.thread);
    return hostThread(ctx, 2, shippedHost(ctx).coiommu);
  },
  outcome(results, m) {
    const bad = safety(m, results, 3, [
      [0, 1],
      [1, 2],
    ]);
    if (bad) return bad;
    return Atomics.load(m.coiommu, CO.POOL_NEXT) > 2 ? 'both allocated a leaf: the CAS loser gave its page back' : 'one vCPU installed the leaf, the other found it';
  },
  outcomes: {
    'both allocated a leaf: the CAS loser gave its page back': 'INTERESTING',
    'one vCPU installed the leaf, the other found it': 'ACCEPTABLE',
    ...SAFETY,
  },
};

export const SHIPPED_SCENARIOS: readonly Scenario[] = [shrinkerVsMap, shrinkerVsUnpin, busySlot, twoVcpusNewLeaf];
