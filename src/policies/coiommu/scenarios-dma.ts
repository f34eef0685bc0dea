// coIOMMU scenarios along the whole DMA path: a multi-page buffer mapped, posted on the descriptor
// ring, DMAed by the real NIC and completed; and pins that fail because the host is out of frames.
// Every FORBIDDEN condition names the final state it checks: DTT words, frames, rings, payloads.
import { coiommuRegion } from './region.js';
import type { Machine } from '../../machine/machine.js';
import { MAP_FAILED_NO_CAUSE, RELIANCE_BROKEN, type Scenario, type ThreadCtx } from '../../core/scenario.js';
import { accountingAtRest } from '../../mem/accounting.js';
import { notifyWordLeftBehind } from '../../notify/pin-request.js';
import { CTL } from '../../machine/layout.js';
import { RING_FORBIDDEN, RING_NOT_DRAINED, RING_VCPU, ringDevice, ringSafety, ringVcpu, ringsDrained } from '../ring-dma-kit.js';
import { ACCESSED, PINNED, isPinned } from './dtt.js';
import { BAD_ACCOUNTING, LOST_PAYLOAD, MAP_COUNT_LEFT, mapCountLost, STALE_NOTIFY, STAMP, UNSAFE_DMA, VCPU, guestParts, hostParts, servePinRequests } from './scenario-parts.js';
import { vcpuDone } from '../scenario-kit.js';
import { readStamp } from '../../mem/payload.js';

export const DTT_WORD_WRONG = 'a final DTT word is not what the schedule leaves (PINNED | ACCESSED on each page the buffer used, 0 elsewhere)';

/** Pin accounting as the hypervisor checks it: PINNED bits, host IOMMU entries and pinned frames agree. */
function accountingOk(m: Machine): boolean {
  return accountingAtRest(m, { pinnedFor: (g) => isPinned(Atomics.load(m.dtt, g)) });
}

const RING_PAGES = [1, 2];

const ringDma: Scenario = {
  name: 'coiommu-ring-dma',
  budget: 250,
  description:
    'A vCPU maps a 2-page buffer (pages 1-2, not pinned: one pin request for both), posts it on its descriptor ring ' +
    'and kicks the NIC; the real NetDevice takes it, DMAs both pages through the host IOMMU and posts a completion; ' +
    'the vCPU checks the completion and the payload, then unmaps. The pin handler serves the request meanwhile.',
  threads: ['vcpu0', 'pin-handler', 'device'],
  variants: ['none', 'ring-publish-before-write'],
  spec: { guestPages: 4, vcpus: 1, hostFrames: 4, dataFrames: 4, ringEntries: 2, coiommuWords: coiommuRegion(4, 1).words },
  setup() {},
  run(ctx: ThreadCtx) {
    if (ctx.thread === 0) return ringVcpu(ctx, guestParts(ctx, 0).guest, RING_PAGES[0], RING_PAGES.length);
    if (ctx.thread === 1) return servePinRequests(ctx, 1, hostParts(ctx).coiommu);
    return ringDevice(ctx, 1);
  },
  outcome(results, m) {
    const bad = ringSafety(m, results[0]);
    if (bad) return bad;
    if (!(results[0] & RING_VCPU.MAPPED)) return 'the map failed';
    if (!ringsDrained(m)) return RING_NOT_DRAINED;
    if (mapCountLost(m, results.length)) return MAP_COUNT_LEFT;
    for (let g = 0; g < 4; g++) if (Atomics.load(m.dtt, g) !== (RING_PAGES.includes(g) ? PINNED | ACCESSED : 0)) return DTT_WORD_WRONG;
    if (!accountingOk(m)) return BAD_ACCOUNTING;
    if (notifyWordLeftBehind(m)) return STALE_NOTIFY;
    return results[0] & RING_VCPU.KICKED ? 'the NIC was asleep: the vCPU kicked it' : 'the NIC was polling: no kick needed';
  },
  outcomes: {
    'the NIC was asleep: the vCPU kicked it': 'ACCEPTABLE',
    'the NIC was polling: no kick needed': 'ACCEPTABLE',
    ...RING_FORBIDDEN,
    [MAP_COUNT_LEFT]: 'FORBIDDEN',
    [DTT_WORD_WRONG]: 'FORBIDDEN',
    [BAD_ACCOUNTING]: 'FORBIDDEN',
    [STALE_NOTIFY]: 'FORBIDDEN',
  },
  mustReach: ['the NIC was asleep: the vCPU kicked it', 'the NIC was polling: no kick needed'],
};

/** vcpu0 maps the 2-page buffer [0, 2); vcpu1 page 2; two host frames for three pages. */
const FAIL_BUFFERS = [
  { gfn: 0, pages: 2 },
  { gfn: 2, pages: 1 },
];

/** Map, DMA each page with the real engine, read it back, unmap. */
function mapDmaUnmapPages(ctx: ThreadCtx, vcpu: number, gfn: number, pages: number): number {
  const { guest, dma } = guestParts(ctx, vcpu);
  let res = 0;
  const r = guest.map(gfn, pages);
  if (r >= 0) {
    res |= VCPU.MAPPED;
    for (let k = 0; k < pages; k++) {
      dma.write(r + k, gfn + k, STAMP + vcpu);
      if (readStamp(ctx.mem, ctx.m, gfn + k) !== STAMP + vcpu) res |= VCPU.LOST;
    }
    guest.unmap(r, gfn, pages);
  }
  vcpuDone(ctx);
  return res;
}

const pinFails: Scenario = {
  name: 'coiommu-pin-fails',
  budget: 60,
  description:
    'Two host frames for three pages: vcpu0 maps a 2-page buffer (pages 0-1), vcpu1 page 2, and each DMAs into ' +
    'what it mapped. Whichever the pin handler serves second runs out of frames: its map must fail cleanly ' +
    '(MAP_FAILED is acceptable, the map counts go back to 0) and it must not DMA.',
  threads: ['vcpu0', 'vcpu1', 'pin-handler'],
  variants: ['none', 'ignore-pin-failure'],
  spec: { guestPages: 4, vcpus: 2, hostFrames: 2, dataFrames: 4, ringEntries: 2, coiommuWords: coiommuRegion(4, 2).words },
  setup() {},
  run(ctx: ThreadCtx) {
    if (ctx.thread < 2) return mapDmaUnmapPages(ctx, ctx.thread, FAIL_BUFFERS[ctx.thread].gfn, FAIL_BUFFERS[ctx.thread].pages);
    return servePinRequests(ctx, 2, hostParts(ctx).coiommu);
  },
  outcome(results, m) {
    if (Atomics.load(m.control, CTL.VIOL_DMA) > 0) return UNSAFE_DMA + ' (a DMA after a failed map)';
    if ([0, 1].some((t) => results[t] & VCPU.LOST)) return LOST_PAYLOAD;
    if (mapCountLost(m, results.length)) return MAP_COUNT_LEFT;
    if (!accountingOk(m)) return BAD_ACCOUNTING;
    if (notifyWordLeftBehind(m)) return STALE_NOTIFY;
    const mapped = [0, 1].map((t) => (results[t] & VCPU.MAPPED) !== 0);
    if (mapped[0] && !mapped[1]) return 'vcpu0 pinned both frames first: vcpu1 failed to map (MAP_FAILED)';
    if (!mapped[0] && mapped[1]) return 'vcpu1 pinned first: vcpu0 got one frame of two and failed to map (MAP_FAILED)';
    return `vcpu0 mapped=${mapped[0]} vcpu1 mapped=${mapped[1]} with two frames for three pages`;
  },
  outcomes: {
    'vcpu0 pinned both frames first: vcpu1 failed to map (MAP_FAILED)': 'ACCEPTABLE',
    'vcpu1 pinned first: vcpu0 got one frame of two and failed to map (MAP_FAILED)': 'ACCEPTABLE',
    [UNSAFE_DMA + ' (a DMA after a failed map)']: 'FORBIDDEN',
    [LOST_PAYLOAD]: 'FORBIDDEN',
    [MAP_COUNT_LEFT]: 'FORBIDDEN',
    [BAD_ACCOUNTING]: 'FORBIDDEN',
    [STALE_NOTIFY]: 'FORBIDDEN',
    [RELIANCE_BROKEN]: 'FORBIDDEN',
    [MAP_FAILED_NO_CAUSE]: 'FORBIDDEN',
  },
  mustReach: ['vcpu0 pinned both frames first: vcpu1 failed to map (MAP_FAILED)', 'vcpu1 pinned first: vcpu0 got one frame of two and failed to map (MAP_FAILED)'],
};

export const COIOMMU_DMA_SCENARIOS: readonly Scenario[] = [ringDma, pinFails];
