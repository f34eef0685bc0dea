// coIOMMU scenarios (DESIGN 1.1). Each one puts a vCPU's map against one host path that changes
// the same DTT word, and classifies what the device saw. Page G is the only page in play.
import type { Machine } from '../../machine/machine.js';
import { coiommuRegion } from './region.js';
import type { Scenario, ThreadCtx } from '../../core/scenario.js';
import { withoutFences } from '../../machine/shared-mem.js';
import { notifyWordLeftBehind } from '../../notify/pin-request.js';
import {
  BAD_ACCOUNTING,
  LOST_PAYLOAD,
  STAMP,
  MAP_COUNT_LEFT,
  MAP_FAILED,
  mapCountLost,
  STALE_NOTIFY,
  UNSAFE_DMA,
  VCPU,
  hostParts,
  dmasOverlapped,
  mapDmaUnmap,
  pinFreeRunning,
  servePinRequests,
  verdictWords,
} from './scenario-parts.js';
import { SHIPPED_SCENARIOS } from './shipped-scenarios.js';

const G = 1;
const LOST_UPDATE = 'the scan unpinned a page a vCPU mapped meanwhile, and the vCPU saw it pinned (a lost DTT update)';
const NOT_AGED = 'the scan backed off from a busy page but did not age it (its LRU generation is lost)';

/** The busy-round count (LRU generation) of page g's pinned frame; -1 if g is not pinned. */
const generationOf = (m: Machine, g: number): number => {
  const frame = Atomics.load(m.iommu, g) - 1;
  return frame < 0 ? -1 : Atomics.load(m.frameGen, frame);
};
// the coiommu region holds the registers the host reads (the park count) even with the flat table
const SPEC = (vcpus: number) => ({ guestPages: 4, vcpus, hostFrames: 4, dataFrames: 4, ringEntries: 2, coiommuWords: coiommuRegion(4, vcpus).words });

/** What every coIOMMU scenario forbids (safetyOutcome's answers). */
const SAFETY = {
  [MAP_FAILED]: 'FORBIDDEN',
  [UNSAFE_DMA]: 'FORBIDDEN',
  [BAD_ACCOUNTING]: 'FORBIDDEN',
  [LOST_PAYLOAD]: 'FORBIDDEN',
  [STALE_NOTIFY]: 'FORBIDDEN',
  [MAP_COUNT_LEFT]: 'FORBIDDEN',
} as const;

/**
 * Violations first: whatever else happened, an unsafe DMA, a lost payload, broken accounting, a
 * notify word left behind or a lost map count is the outcome. With two vCPUs on one page each
 * one's read-back is skipped (the other may write in between), but DMAs one after the other must
 * leave the later one's whole payload; only overlapping ones may tear it.
 */
function safetyOutcome(m: Machine, scratch: Int32Array, results: number[], vcpuThreads: number[]): string | undefined {
  const verify = vcpuThreads.length === 1;
  const { unsafeDma, accountingOk, contentsOk } = verdictWords(m, G, vcpuThreads.map((v) => STAMP + v));
  if (unsafeDma > 0) return UNSAFE_DMA;
  if (vcpuThreads.some((t) => (results[t] & VCPU.MAPPED) === 0)) return MAP_FAILED;
  if (verify && vcpuThreads.some((t) => (results[t] & VCPU.LOST) !== 0)) return LOST_PAYLOAD;
  if (!contentsOk && (verify || !dmasOverlapped(scratch))) return LOST_PAYLOAD;
  if (!accountingOk) return BAD_ACCOUNTING;
  if (notifyWordLeftBehind(m)) return STALE_NOTIFY;
  if (mapCountLost(m, results.length)) return MAP_COUNT_LEFT;
  return undefined;
}

const mapVsUnpin: Scenario = {
  name: 'coiommu-map-vs-unpin',
  budget: 200,
  description:
    'A vCPU maps page G (pinned, idle: the entry is exactly PINNED) and the device DMAs into it, while the lazy ' +
    'unpin worker runs one scan round and the pin handler serves requests. The unpin must never win against a map.',
  threads: ['vcpu0', 'pin-handler', 'unpin-scan'],
  variants: ['none', 'pinned-check-before-add', 'unpin-load-store', 'no-pin-lock', 'doorbell-without-bump', 'missing-fence-host'],
  spec: SPEC(1),
  setup(m) {
    pinFreeRunning(m, G, false);
  },
  run(ctx: ThreadCtx) {
    if (ctx.variant === 'missing-fence-host' && ctx.thread === 1) ctx = { ...ctx, mem: withoutFences(ctx.mem) };
    if (ctx.thread === 0) return mapDmaUnmap(ctx, 0, G);
    const { coiommu } = hostParts(ctx);
    if (ctx.thread === 1) return servePinRequests(ctx, 1, coiommu);
    return coiommu.unpinScan();
  },
  outcome(results, m, scratch) {
    const bad = safetyOutcome(m, scratch, results, [0]);
    if (bad) return bad;
    const requested = (results[0] & VCPU.REQUESTED) !== 0;
    const unpinned = results[2] > 0;
    // the round found G busy and gave it a second chance: one more busy round on its frame
    if (!unpinned && !requested) return generationOf(m, G) === 1 ? 'map came first: the scan backed off, no pin request' : NOT_AGED;
    if (unpinned && requested) return 'scan came first: the page was unpinned, the vCPU asked for it again';
    if (unpinned) return LOST_UPDATE;
    return `unpinned=${unpinned} requested=${requested}`;
  },
  outcomes: {
    'map came first: the scan backed off, no pin request': 'ACCEPTABLE',
    'scan came first: the page was unpinned, the vCPU asked for it again': 'INTERESTING',
    [LOST_UPDATE]: 'FORBIDDEN',
    [NOT_AGED]: 'FORBIDDEN',
    ...SAFETY,
  },
  mustReach: ['map came first: the scan backed off, no pin request', 'scan came first: the page was unpinned, the vCPU asked for it again'],
};

const twoVcpusSamePage: Scenario = {
  name: 'coiommu-two-vcpus-same-page',
  budget: 200,
  description:
    'Two vCPUs map the same unpinned page G at once; each asks for a pin if it sees PINNED clear, and the device ' +
    'DMAs for each. A vCPU that sees PINNED must find the host IOMMU mapping already there.',
  threads: ['vcpu0', 'vcpu1', 'pin-handler'],
  variants: ['none', 'pinned-before-map'],
  spec: SPEC(2),
  setup() {},
  run(ctx: ThreadCtx) {
    if (ctx.thread < 2) return mapDmaUnmap(ctx, ctx.thread, G, false);
    return servePinRequests(ctx, 2, hostParts(ctx).coiommu);
  },
  outcome(results, m, scratch) {
    const bad = safetyOutcome(m, scratch, results, [0, 1]);
    if (bad) return bad;
    const asked = [0, 1].filter((t) => (results[t] & VCPU.REQUESTED) !== 0).length;
    if (asked === 2) return 'both vCPUs asked for the pin';
    if (asked === 1) return 'one vCPU asked, the other found the page pinned';
    return `${asked} vCPUs asked for the pin`;
  },
  outcomes: {
    'both vCPUs asked for the pin': 'ACCEPTABLE',
    'one vCPU asked, the other found the page pinned': 'ACCEPTABLE',
    ...SAFETY,
  },
  mustReach: ['both vCPUs asked for the pin', 'one vCPU asked, the other found the page pinned'],
};

const forceUnpinVsMap: Scenario = {
  name: 'coiommu-force-unpin-vs-map',
  budget: 300,
  description:
    'The balloon / memory-pressure path force-unpins page G (pinned, recently used) and reclaims its frame, while ' +
    'a vCPU maps G and the device DMAs into it. Force-unpin must fail on a mapped page; a reclaimed page comes back.',
  threads: ['vcpu0', 'pin-handler', 'reclaimer'],
  variants: ['none', 'pinned-check-before-add', 'unpin-load-store', 'no-pin-lock'],
  spec: SPEC(1),
  setup(m) {
    pinFreeRunning(m, G, true);
  },
  run(ctx: ThreadCtx) {
    if (ctx.thread === 0) return mapDmaUnmap(ctx, 0, G);
    const { coiommu, host, lock } = hostParts(ctx);
    if (ctx.thread === 1) return servePinRequests(ctx, 1, coiommu);
    if (!coiommu.forceUnpin(G)) return 0;
    lock.lock();
    try {
      const f = host.residentFrame(G);
      return f >= 0 && host.reclaim(f) ? 2 : 1;
    } finally {
      lock.unlock();
    }
  },
  outcome(results, m, scratch) {
    const bad = safetyOutcome(m, scratch, results, [0]);
    if (bad) return bad;
    const requested = (results[0] & VCPU.REQUESTED) !== 0;
    const forced = results[2];
    if (forced === 0 && !requested) return 'force-unpin refused: the page was mapped';
    if (forced === 2 && requested) return 'reclaimed first: the vCPU faulted the page back in and pinned it';
    if (forced === 2 && !requested) return 'reclaimed after the vCPU was done with the page';
    if (forced === 1 && requested) return 'force-unpinned, but the vCPU pinned it again before the reclaim';
    return `forceUnpin=${forced} requested=${requested}`;
  },
  outcomes: {
    'force-unpin refused: the page was mapped': 'ACCEPTABLE',
    'reclaimed first: the vCPU faulted the page back in and pinned it': 'INTERESTING',
    'reclaimed after the vCPU was done with the page': 'ACCEPTABLE',
    'force-unpinned, but the vCPU pinned it again before the reclaim': 'INTERESTING',
    ...SAFETY,
  },
  mustReach: ['force-unpin refused: the page was mapped', 'reclaimed after the vCPU was done with the page', 'reclaimed first: the vCPU faulted the page back in and pinned it'],
};

export const COIOMMU_SCENARIOS: readonly Scenario[] = [mapVsUnpin, twoVcpusSamePage, forceUnpinVsMap, ...SHIPPED_SCENARIOS];
