// coIOMMU under memory pressure: the host's timer runs two lazy-unpin rounds and then the real
// reclaimer (budget: one resident frame) while a vCPU maps, DMAs into and unmaps page G. Two rounds
// are what it takes for a page that was busy to look idle, so a scan that unpins a page whose map
// count is not zero shows here, and the reliance oracle names it at the unpin itself.
import type { Machine } from '../../machine/machine.js';
import { coiommuRegion } from './region.js';
import { RELIANCE_BROKEN, type Scenario, type ThreadCtx } from '../../core/scenario.js';
import { Oracle } from '../../core/oracle.js';
import { freeRunning } from '../../machine/shared-mem.js';
import { DmaEngine } from '../../mem/dma.js';
import { Reclaimer } from '../../mem/reclaimer.js';
import { STAT } from '../../machine/layout.js';
import { PINNED } from './dtt.js';
import { BAD_ACCOUNTING, LOST_PAYLOAD, MAP_COUNT_LEFT, MAP_FAILED, STAMP, UNSAFE_DMA, VCPU, hostParts, mapCountLost, mapDmaUnmap, pinFreeRunning, servePinRequests, verdictWords } from './scenario-parts.js';

const G = 0; // the vCPU's page (host frame 0)
const H = 1; // an idle pinned page (host frame 1)
const BUDGET = 1;
/** Timer thread result bits. */
const TIMER = { G_UNPINNED: 1, G_RECLAIMED: 2, H_RECLAIMED: 4 } as const;

function hostTimer(ctx: ThreadCtx): number {
  const { coiommu, host, lock, stats } = hostParts(ctx);
  coiommu.unpinScan();
  coiommu.unpinScan();
  const unpinnedG = stats[STAT.UNPINS] === 2; // idle H is always unpinned by the second round
  new Reclaimer(ctx.mem, ctx.m, host, lock, BUDGET, stats, (g) => coiommu.forceUnpin(g)).run();
  let res = unpinnedG ? TIMER.G_UNPINNED : 0;
  if (host.residentFrame(G) < 0) res |= TIMER.G_RECLAIMED;
  if (host.residentFrame(H) < 0) res |= TIMER.H_RECLAIMED;
  return res;
}

const OUT = {
  held: 'G was in use at the second round: it stayed pinned, idle H was unpinned and reclaimed',
  after: 'the vCPU was done before the second round: G was unpinned and reclaimed',
  before: 'G was unpinned and reclaimed first: the vCPU faulted it back in and pinned it again',
  between: 'G was unpinned first; the vCPU pinned it again before the reclaimer ran, which took H',
  forced: 'G was reclaimed, faulted back in and used by the vCPU, then force-unpinned and reclaimed again',
} as const;

const NOT_AGED = 'a round backed off from a pinned page but did not age it (its LRU generation is lost)';

/**
 * G stayed pinned throughout and H was unpinned by the second round: the first round backed off
 * from both (each had ACCESSED set), so each frame's busy count is at least 1 (nothing re-pinned
 * either frame, which would reset it).
 */
const aged = (m: Machine): boolean => Atomics.load(m.frameGen, 0) >= 1 && Atomics.load(m.frameGen, 1) >= 1;

const pressureVsMap: Scenario = {
  name: 'coiommu-pressure-vs-map',
  budget: 150,
  description:
    'Host memory pressure: the host timer runs two lazy-unpin rounds and the reclaimer (budget one frame) over ' +
    'pages G (recently used) and H (idle), while a vCPU maps G, DMAs into it, reads it back and unmaps; the pin ' +
    'handler serves its request if it needs one. A page with a map count must never be unpinned or reclaimed.',
  threads: ['vcpu0', 'pin-handler', 'host-timer'],
  variants: ['none', 'unpin-ignores-count', 'unlock-no-wake'],
  spec: { guestPages: 4, vcpus: 1, hostFrames: 4, dataFrames: 4, ringEntries: 2, coiommuWords: coiommuRegion(4, 1).words },
  setup(m) {
    pinFreeRunning(m, G, true);
    pinFreeRunning(m, H, true);
    // G holds an earlier payload: a reclaim sends it to swap, a fault-in restores it
    new DmaEngine(freeRunning, m, m.statsBlock(0), new Oracle(m.control, 'device', 0)).write(G, G, STAMP);
  },
  run(ctx: ThreadCtx) {
    if (ctx.thread === 0) return mapDmaUnmap(ctx, 0, G);
    if (ctx.thread === 1) return servePinRequests(ctx, 1, hostParts(ctx).coiommu);
    return hostTimer(ctx);
  },
  outcome(results, m) {
    const { unsafeDma, accountingOk, contentsOk } = verdictWords(m, G, [STAMP]);
    if (unsafeDma > 0) return UNSAFE_DMA;
    if (!(results[0] & VCPU.MAPPED)) return MAP_FAILED;
    if (results[0] & VCPU.LOST || !contentsOk) return LOST_PAYLOAD;
    if (mapCountLost(m, results.length)) return MAP_COUNT_LEFT;
    if (!accountingOk) return BAD_ACCOUNTING;
    const requested = (results[0] & VCPU.REQUESTED) !== 0;
    const t = results[2];
    const gUnpinned = (t & TIMER.G_UNPINNED) !== 0;
    const reclaimed = t & TIMER.H_RECLAIMED ? 'H' : 'G';
    const gPinned = (Atomics.load(m.dtt, G) & PINNED) !== 0;
    if (!requested && !gUnpinned && reclaimed === 'H' && gPinned) return aged(m) ? OUT.held : NOT_AGED;
    if (!requested && gUnpinned && reclaimed === 'G' && !gPinned) return OUT.after;
    if (requested && gUnpinned && reclaimed === 'G' && gPinned) return OUT.before;
    if (requested && gUnpinned && reclaimed === 'H' && gPinned) return OUT.between;
    if (requested && gUnpinned && reclaimed === 'G' && !gPinned) return OUT.forced;
    return `requested=${requested} G unpinned by the scan=${gUnpinned} reclaimed ${reclaimed}, G ${gPinned ? '' : 'not '}pinned at the end`;
  },
  outcomes: {
    [OUT.held]: 'ACCEPTABLE',
    [NOT_AGED]: 'FORBIDDEN',
    [OUT.after]: 'ACCEPTABLE',
    [OUT.before]: 'INTERESTING',
    [OUT.between]: 'INTERESTING',
    [OUT.forced]: 'INTERESTING',
    [UNSAFE_DMA]: 'FORBIDDEN',
    [LOST_PAYLOAD]: 'FORBIDDEN',
    [MAP_FAILED]: 'FORBIDDEN',
    [MAP_COUNT_LEFT]: 'FORBIDDEN',
    [BAD_ACCOUNTING]: 'FORBIDDEN',
    [RELIANCE_BROKEN]: 'FORBIDDEN',
  },
  mustReach: [OUT.held, OUT.after, OUT.before],
};

export const COIOMMU_PRESSURE_SCENARIOS: readonly Scenario[] = [pressureVsMap];
