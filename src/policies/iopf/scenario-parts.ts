// The real iopf pieces over a scenario thread's SharedMem: the host's fault handler behind the
// hypervisor's trap service, the reclaimer's shootdown, and a device with its own IOTLB whose DMA
// engine takes I/O page faults. Only the harness loops are the scenario's own.
import { DEFAULT_COST_TABLE } from '../../core/cost-table.js';
import { Oracle } from '../../core/oracle.js';
import type { ThreadCtx } from '../../core/scenario.js';
import { CTL } from '../../machine/layout.js';
import type { Machine } from '../../machine/machine.js';
import { freeRunning } from '../../machine/shared-mem.js';
import { accountingAtRest } from '../../mem/accounting.js';
import { deviceWalk } from '../../mem/device-walk.js';
import { DmaEngine } from '../../mem/dma.js';
import { HostMemory } from '../../mem/host-memory.js';
import { Iotlb } from '../../mem/iotlb.js';
import { readStamp, writePayload, allocDataFrame } from '../../mem/payload.js';
import { hostThread, scenarioConfig } from '../scenario-kit.js';
import { buildHost } from '../wiring.js';
import type { FaultMode } from './config.js';
import { IopfDevice } from './device.js';
import { iopfHost, type IopfHost } from './host.js';
import { PRQ_GROUPS, PageRequestQueue, RESP, prqWords, readPrqCounts } from './prq.js';

export const G = 1;
export const STAMP = 0x5eed;
export const SPEC = { guestPages: 4, vcpus: 1, hostFrames: 4, dataFrames: 4, ringEntries: 2, prqWords: prqWords(4) };

const cfgOf = (ctx: ThreadCtx, faultMode: FaultMode) =>
  scenarioConfig(ctx.variant, { iopf: { faultMode }, costTable: DEFAULT_COST_TABLE });

/** The host's parts, wired as the hypervisor wires them. */
export function hostParts(ctx: ThreadCtx) {
  const stats = ctx.m.statsBlock(ctx.thread);
  const parts = buildHost({ host: iopfHost }, ctx.mem, ctx.m, cfgOf(ctx, 'stall'), stats);
  return { ...parts, iopf: parts.policy as IopfHost, stats };
}

/** The fault handler on the hypervisor's trap service until the device is done. */
export function faultHandler(ctx: ThreadCtx): number {
  return hostThread(ctx, 1, hostParts(ctx).iopf);
}

/** A device with a 4-entry IOTLB over the host IOMMU table (the device role's walk for iopf), taking faults in `mode`. */
export function deviceParts(ctx: ThreadCtx, mode: FaultMode) {
  const { mem, m } = ctx;
  const stats = m.statsBlock(ctx.thread);
  const iotlb = new Iotlb(mem, m, 4, 4, stats, deviceWalk(mem, m, { table: m.iommu }, stats));
  const dev = new IopfDevice(mem, m, mode, 'trap', stats, 30_000);
  const dma = new DmaEngine(mem, m, stats, new Oracle(m.control, 'device', 0), iotlb, dev);
  return { dev, dma, stats };
}

/** The reclaimer's one attempt on page g: force-unpin (with the shootdown), then take the frame. 0 refused, 1 unpinned, 2 reclaimed. */
export function reclaimOnce(ctx: ThreadCtx, g: number): number {
  const { iopf, host, lock } = hostParts(ctx);
  if (!iopf.forceUnpin(g)) return 0;
  lock.lock();
  try {
    const f = host.residentFrame(g);
    return f >= 0 && host.reclaim(f) ? 2 : 1;
  } finally {
    lock.unlock();
  }
}

/** Set-up: page g faulted in earlier (resident, pinned, mapped) and holding a payload. */
export function faultedInFreeRunning(m: Machine, g: number, stamp: number): void {
  const host = new HostMemory(freeRunning, m);
  if (!host.pin(g)) throw new Error(`scenario set-up could not pin page ${g}`);
  const f = host.pinnedFrame(g);
  const d = allocDataFrame(freeRunning, m);
  Atomics.store(m.frameData, f, d);
  writePayload(freeRunning, m, d, stamp, g);
}


export const UNSAFE_DMA = 'DMA reached a frame not pinned for its page (a stale translation after the shootdown)';
export const BAD_ACCOUNTING = 'pin accounting broken (pinned frames and host IOMMU entries disagree)';
export const LOST_PAYLOAD = "the page lost its contents (it does not hold the device's last write)";
export const UNANSWERED = 'a page request was left unanswered (raised != answered, a group still pending, or an entry never released)';
export const WRONG_PAGE = 'the host mapped a page no DMA faulted on (a page request named the wrong page)';
export const GAVE_UP = 'the device gave up a DMA (the host answered INVALID or FAILURE for a guest page)';

/** The safety verdict common to the iopf scenarios, or undefined when all is well. */
export function safetyOutcome(m: Machine, g: number, lastStamp: number): string | undefined {
  if (Atomics.load(m.control, CTL.VIOL_DMA) > 0) return UNSAFE_DMA;
  const c = readPrqCounts(m);
  const q = new PageRequestQueue(freeRunning, m);
  let pending = 0;
  for (let grp = 0; grp < PRQ_GROUPS; grp++) if (q.status(grp) === RESP.PENDING) pending++;
  // at rest the host has also released every entry it consumed (HEAD caught up with TAIL)
  if (c.RAISED !== c.ANSWERED || pending > 0 || q.queued() !== 0) return UNANSWERED;
  if (!accountingAtRest(m)) return BAD_ACCOUNTING;
  // the device DMAs only into g: a page request naming another page is one the device never wrote
  for (let p = 0; p < m.spec.guestPages; p++) if (p !== g && Atomics.load(m.iommu, p) !== 0) return WRONG_PAGE;
  if (readStamp(freeRunning, m, g) !== lastStamp) return LOST_PAYLOAD;
  return undefined;
}

export const counts = (m: Machine) => readPrqCounts(m);
