// coIOMMU against the balloon (--balloon): the guest's balloon asks the host for two frames while a
// vCPU maps page G, the device writes it and reads it back (DMA_TO_DEVICE, as a storage write
// does), and the vCPU unmaps. Both pages are pinned, so the balloon offers each to force-unpin: an
// idle entry (map count 0) is taken, a mapped one is refused, as crosvm's balloon does.
import { coiommuRegion } from './region.js';
import { RELIANCE_BROKEN, type Scenario, type ThreadCtx } from '../../core/scenario.js';
import { Oracle } from '../../core/oracle.js';
import { freeRunning } from '../../machine/shared-mem.js';
import { Balloon } from '../../mem/balloon.js';
import { DmaEngine } from '../../mem/dma.js';
import { readStamp } from '../../mem/payload.js';
import { STAT } from '../../machine/layout.js';
import type { Machine } from '../../machine/machine.js';
import { vcpuDone } from '../scenario-kit.js';
import { PINNED } from './dtt.js';
import { BAD_ACCOUNTING, LOST_PAYLOAD, MAP_COUNT_LEFT, MAP_FAILED, STAMP, UNSAFE_DMA, guestParts, hostParts, mapCountLost, pinFreeRunning, servePinRequests, verdictWords } from './scenario-parts.js';

const G = 0; // the vCPU's page
const H = 1; // an idle pinned page
/** vCPU result bits. */
const V = { MAPPED: 1, REQUESTED: 2, LOST: 4, READ_OK: 8 } as const;
/** Balloon thread result bits. */
const B = { G_TAKEN: 1, H_TAKEN: 2, REFUSED: 4 } as const;

/** Map G, the device writes it and reads it back, the CPU reads it, unmap. */
function vcpu(ctx: ThreadCtx): number {
  const { mem, m } = ctx;
  const { guest, dma, stats } = guestParts(ctx, 0);
  let res = 0;
  const r = guest.map(G, 1);
  if (r >= 0) {
    res |= V.MAPPED;
    dma.write(r, G, STAMP);
    if (dma.read(r, G) === STAMP) res |= V.READ_OK;
    if (readStamp(mem, m, G) !== STAMP) res |= V.LOST;
    guest.unmap(r, G, 1);
  }
  if (stats[STAT.PIN_REQUESTS] > 0) res |= V.REQUESTED;
  vcpuDone(ctx);
  return res;
}

/** The balloon event, as the hypervisor's wiring builds it, asking for both frames now. */
function balloon(ctx: ThreadCtx): number {
  const { coiommu, host, lock, stats } = hostParts(ctx);
  new Balloon(ctx.mem, ctx.m, host, lock, stats, 2, 0, (g) => coiommu.forceUnpin(g)).tick(0);
  let res = stats[STAT.BALLOON_REFUSED] > 0 ? B.REFUSED : 0;
  if (host.residentFrame(G) < 0) res |= B.G_TAKEN;
  if (host.residentFrame(H) < 0) res |= B.H_TAKEN;
  return res;
}

const OUT = {
  refused: 'G was mapped when the balloon came: refused; idle H was force-unpinned and taken',
  after: 'the vCPU was done first: the balloon took both G and H',
  before: 'the balloon took G first: the vCPU faulted it back in, pinned it again and used it',
  repinned: 'the balloon force-unpinned G, the vCPU pinned it again before the reclaim, which then left G alone',
} as const;
const H_KEPT = 'the balloon did not get idle page H (its force-unpin must succeed)';
const DTT_WORD_WRONG = "a final DTT word is wrong (H must be 0; G PINNED only if the vCPU's pin came after the balloon)";

function finalWords(m: Machine, t: number, requested: boolean): boolean {
  const g = Atomics.load(m.dtt, G);
  if (Atomics.load(m.dtt, H) !== 0) return false;
  const gPinned = (g & PINNED) !== 0;
  // G keeps PINNED when the balloon refused it, or when the vCPU pinned it again after its force-unpin
  return gPinned === ((t & B.REFUSED) !== 0 || requested);
}

const balloonVsMap: Scenario = {
  name: 'coiommu-balloon-vs-map',
  description:
    'Pages G and H are pinned (G holds an earlier payload); the balloon asks for two frames while a vCPU maps G, the ' +
    'device writes G and reads it back, and the vCPU unmaps. A page with a map count must be refused (never ' +
    'unpinned or reclaimed); idle H is always taken; the payload survives whatever the balloon did.',
  threads: ['vcpu0', 'pin-handler', 'balloon'],
  variants: ['none', 'unpin-ignores-count'],
  budget: 150,
  spec: { guestPages: 4, vcpus: 1, hostFrames: 4, dataFrames: 4, ringEntries: 2, coiommuWords: coiommuRegion(4, 1).words },
  setup(m) {
    pinFreeRunning(m, G, true);
    pinFreeRunning(m, H, false);
    new DmaEngine(freeRunning, m, m.statsBlock(0), new Oracle(m.control, 'device', 0)).write(G, G, STAMP);
  },
  run(ctx: ThreadCtx) {
    if (ctx.thread === 0) return vcpu(ctx);
    if (ctx.thread === 1) return servePinRequests(ctx, 1, hostParts(ctx).coiommu);
    return balloon(ctx);
  },
  outcome(results, m) {
    const { unsafeDma, accountingOk, contentsOk } = verdictWords(m, G, [STAMP]);
    const [v, , t] = results;
    if (unsafeDma > 0) return UNSAFE_DMA;
    if (!(v & V.MAPPED)) return MAP_FAILED;
    if (v & V.LOST || !(v & V.READ_OK) || !contentsOk) return LOST_PAYLOAD;
    if (mapCountLost(m, results.length)) return MAP_COUNT_LEFT;
    if (!accountingOk) return BAD_ACCOUNTING;
    if (!(t & B.H_TAKEN)) return H_KEPT;
    const requested = (v & V.REQUESTED) !== 0;
    if (!finalWords(m, t, requested)) return DTT_WORD_WRONG;
    if (t & B.REFUSED && !requested) return OUT.refused;
    if (t & B.G_TAKEN && !requested) return OUT.after;
    if (t & B.G_TAKEN && requested) return OUT.before;
    if (requested) return OUT.repinned;
    return `balloon bits ${t}, requested=${requested}`;
  },
  outcomes: {
    [OUT.refused]: 'ACCEPTABLE',
    [OUT.after]: 'ACCEPTABLE',
    [OUT.before]: 'INTERESTING',
    [OUT.repinned]: 'INTERESTING',
    [UNSAFE_DMA]: 'FORBIDDEN',
    [LOST_PAYLOAD]: 'FORBIDDEN',
    [MAP_FAILED]: 'FORBIDDEN',
    [MAP_COUNT_LEFT]: 'FORBIDDEN',
    [BAD_ACCOUNTING]: 'FORBIDDEN',
    [H_KEPT]: 'FORBIDDEN',
    [DTT_WORD_WRONG]: 'FORBIDDEN',
    [RELIANCE_BROKEN]: 'FORBIDDEN',
  },
  mustReach: [OUT.refused, OUT.after, OUT.before],
};

export const COIOMMU_BALLOON_SCENARIOS: readonly Scenario[] = [balloonVsMap];
