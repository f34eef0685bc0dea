// iopf scenarios: the device's fault against the host's reclaim with shootdown, and two faults on
// one page. Page G is the only page in play; the device runs the real DMA engine with its own
// IOTLB and the oracle's DMA-safety check at each write.
import type { Scenario, ThreadCtx } from '../../core/scenario.js';
import { STAT } from '../../machine/layout.js';
import { hostDoorbell } from '../../notify/delivery.js';
import { SCRATCH } from '../scenario-kit.js';
import { RESP } from './prq.js';
import {
  BAD_ACCOUNTING,
  G,
  GAVE_UP,
  LOST_PAYLOAD,
  SPEC,
  STAMP,
  UNANSWERED,
  UNSAFE_DMA,
  WRONG_PAGE,
  counts,
  deviceParts,
  faultHandler,
  faultedInFreeRunning,
  reclaimOnce,
  safetyOutcome,
} from './scenario-parts.js';

const SAFETY = {
  [UNSAFE_DMA]: 'FORBIDDEN',
  [BAD_ACCOUNTING]: 'FORBIDDEN',
  [LOST_PAYLOAD]: 'FORBIDDEN',
  [UNANSWERED]: 'FORBIDDEN',
  [GAVE_UP]: 'FORBIDDEN',
  [WRONG_PAGE]: 'FORBIDDEN',
} as const;

/** The device is done: the fault handler may leave. */
function deviceDone(ctx: ThreadCtx): void {
  ctx.mem.add(ctx.scratch, SCRATCH.DONE, 1);
  hostDoorbell(ctx.mem, ctx.m).ring();
}

/** Device thread: two DMAs into G (the second hits the IOTLB the first filled), stalling on faults. Result: 1 if one gave up. */
function twoDmas(ctx: ThreadCtx): number {
  const { dma } = deviceParts(ctx, 'stall');
  let gaveUp = 0;
  for (const k of [1, 2]) if (!dma.write(G, G, STAMP + k)) gaveUp = 1;
  deviceDone(ctx);
  return gaveUp;
}

const faultVsReclaim: Scenario = {
  name: 'iopf-fault-vs-reclaim',
  description:
    'Page G was faulted in earlier. The device DMAs into G twice (the second through its IOTLB) and faults it back in ' +
    'if it is gone, while the reclaimer takes G back: unmap, device-TLB shootdown, wait for its completion, unpin, reclaim.',
  threads: ['device', 'fault-handler', 'reclaimer'],
  variants: ['none', 'reclaim-before-shootdown'],
  budget: 300,
  mustReach: ['reclaimed after the device was done with G', 'reclaim skipped: G was under DMA', 'reclaimed; the device faulted G back in from swap (major fault)'],
  spec: SPEC,
  setup(m) {
    faultedInFreeRunning(m, G, STAMP);
  },
  run(ctx) {
    if (ctx.thread === 0) return twoDmas(ctx);
    if (ctx.thread === 1) return faultHandler(ctx);
    return reclaimOnce(ctx, G);
  },
  outcome(results, m) {
    if (results[0] !== 0) return GAVE_UP;
    const bad = safetyOutcome(m, G, STAMP + 2);
    if (bad) return bad;
    const c = counts(m);
    const r = results[2];
    if (r === 0) return 'reclaim skipped: G was under DMA';
    if (r === 1) return 'unpinned after the shootdown, but the device faulted G back in before the frame was taken';
    if (c.MAJOR > 0) return 'reclaimed; the device faulted G back in from swap (major fault)';
    if (c.RAISED === 0) return 'reclaimed after the device was done with G';
    return `reclaim=${r} raised=${c.RAISED} major=${c.MAJOR}`;
  },
  outcomes: {
    'reclaim skipped: G was under DMA': 'ACCEPTABLE',
    'reclaimed after the device was done with G': 'ACCEPTABLE',
    'reclaimed; the device faulted G back in from swap (major fault)': 'INTERESTING',
    'unpinned after the shootdown, but the device faulted G back in before the frame was taken': 'INTERESTING',
    ...SAFETY,
  },
};

const MISSED_AFTER_SUCCESS = 'a re-posted descriptor missed a page the host had answered SUCCESS (no reclaim in between)';
const TWO_PINS = 'G was pinned twice';

/**
 * Device thread, drop mode: descriptors A and B both DMA into G; each that faults is dropped. Then
 * each dropped one is re-posted once its own group is answered, and must go through.
 * Result bits: 1 A dropped, 2 B dropped, 4 a re-post missed after SUCCESS, 8 an answer was not SUCCESS.
 */
function twoDescriptors(ctx: ThreadCtx): number {
  const { dma, dev } = deviceParts(ctx, 'drop');
  const groups: number[] = [];
  let res = 0;
  for (const d of [0, 1]) {
    if (dma.write(G, G, STAMP + 1)) continue;
    res |= 1 << d;
    groups.push(dev.lastGroup);
  }
  for (const grp of groups) {
    if (dev.settle(grp) !== RESP.SUCCESS) res |= 8;
    if (!dma.write(G, G, STAMP + 1)) {
      res |= 4;
      dev.settle(dev.lastGroup); // leave nothing unanswered
    }
  }
  deviceDone(ctx);
  return res;
}

const twoFaultsSamePage: Scenario = {
  name: 'iopf-two-faults-same-page',
  description:
    'Two descriptors DMA into the same non-resident page G (drop mode: a faulting descriptor is dropped and re-posted ' +
    'once its page group is answered). Both faults are answered, G is pinned once, and every re-post goes through.',
  threads: ['device', 'fault-handler'],
  variants: ['none', 'respond-before-map'],
  budget: 100,
  mustReach: ['both descriptors faulted; one pin, the second fault answered from the mapping', 'the first descriptor faulted, the second found G mapped'],
  spec: SPEC,
  setup() {},
  run(ctx) {
    return ctx.thread === 0 ? twoDescriptors(ctx) : faultHandler(ctx);
  },
  outcome(results, m) {
    const r = results[0];
    if (r & 8) return GAVE_UP;
    if (r & 4) return MISSED_AFTER_SUCCESS;
    const bad = safetyOutcome(m, G, STAMP + 1);
    if (bad) return bad;
    if (m.statsBlock(1)[STAT.PINS] !== 1) return TWO_PINS;
    const dropped = (r & 1 ? 1 : 0) + (r & 2 ? 1 : 0);
    if (dropped === 2) return 'both descriptors faulted; one pin, the second fault answered from the mapping';
    if (dropped === 1) return 'the first descriptor faulted, the second found G mapped';
    return `dropped=${dropped}`;
  },
  outcomes: {
    'both descriptors faulted; one pin, the second fault answered from the mapping': 'ACCEPTABLE',
    'the first descriptor faulted, the second found G mapped': 'ACCEPTABLE',
    [MISSED_AFTER_SUCCESS]: 'FORBIDDEN',
    [TWO_PINS]: 'FORBIDDEN',
    ...SAFETY,
  },
};

export const IOPF_SCENARIOS: readonly Scenario[] = [faultVsReclaim, twoFaultsSamePage];
