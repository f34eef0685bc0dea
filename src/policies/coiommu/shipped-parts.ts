// The pieces of the shipped-coIOMMU scenarios: a machine with the multi-level DTT enabled, the real
// guest (table, lock, shrinker) and host halves over a scenario thread's SharedMem, and the
// oracle's verdict read after the schedule (violations, tree audit, pin accounting, contents).
import { CTL, MAX_GUEST_PAGES, STAT, type MachineSpec } from '../../machine/layout.js';
import type { Machine } from '../../machine/machine.js';
import { freeRunning } from '../../machine/shared-mem.js';
import { accountingAtRest } from '../../mem/accounting.js';
import { DmaEngine } from '../../mem/dma.js';
import { readStamp } from '../../mem/payload.js';
import { Oracle } from '../../core/oracle.js';
import type { ThreadCtx } from '../../core/scenario.js';
import { SCENARIO_TIMEOUT_MS, scenarioConfig, vcpuDone } from '../scenario-kit.js';
import { buildGuest, buildHost } from '../wiring.js';
import type { CoiommuConfig } from './config.js';
import { isPinned } from './dtt.js';
import { auditTree } from './dtt-audit.js';
import { DttPool } from './dtt-pool.js';
import { MultiLevelDtt, enableDtt } from './dtt-table.js';
import { coiommuGuest, parkCommand } from './guest.js';
import { guestTable } from './guest-table.js';
import { coiommuHost, type CoiommuHost } from './host.js';
import { coiommuRegion } from './region.js';
import { DttShrinker } from './shrinker.js';

/** The shipped configuration, with the scan's old generation out of the way (fewer steps). */
export const SHIPPED_COIOMMU: CoiommuConfig = {
  dtt: 'multilevel',
  unpinPolicy: 'lru',
  unpinIntervalMs: 1,
  unpinGenThreshold: 1000,
  unpinLimit: MAX_GUEST_PAGES,
  pinTimeoutMs: SCENARIO_TIMEOUT_MS,
  dttShrinkMs: 0,
  speculativePages: 0,
};

/** Two leaves' worth of guest pages: a 2-level table (root + leaves). */
export function shippedSpec(vcpus: number): MachineSpec {
  const guestPages = 2048;
  return { guestPages, vcpus, hostFrames: 8, dataFrames: 8, ringEntries: 2, coiommuWords: coiommuRegion(guestPages, vcpus).words };
}

const cfgOf = (ctx: ThreadCtx) => scenarioConfig(ctx.variant, { coiommu: SHIPPED_COIOMMU });

/** Set-up, free-running: the guest's probe enabled the table; `leaves` pages got their (empty) leaf. */
export function enableTable(m: Machine, leafFor: number[]): void {
  const r = coiommuRegion(m.spec.guestPages, m.spec.vcpus);
  const pool = new DttPool(freeRunning, m, r, SCENARIO_TIMEOUT_MS);
  enableDtt(freeRunning, m, r, pool);
  const table = new MultiLevelDtt(freeRunning, m, r, pool);
  for (const g of leafFor) if (table.locate(g, true) < 0) throw new Error(`scenario set-up: no leaf for page ${g}`);
}

export function shippedHost(ctx: ThreadCtx): { coiommu: CoiommuHost; stats: Float64Array } {
  const stats = ctx.m.statsBlock(ctx.thread);
  const parts = buildHost({ host: coiommuHost }, ctx.mem, ctx.m, cfgOf(ctx), stats);
  return { coiommu: parts.policy as CoiommuHost, stats };
}

/** Result bits of a vCPU thread. */
export const SHIPPED_VCPU = { MAPPED: 1, REQUESTED: 2, LOST: 4, BUSY: 8 } as const;
export const STAMP = 0x5eed;

/** Map page g, DMA into it, read it back, unmap; then say so to the pin handler. */
export function shippedMapDmaUnmap(ctx: ThreadCtx, vcpu: number, g: number): number {
  const { mem, m } = ctx;
  const stats = m.statsBlock(ctx.thread);
  const guest = buildGuest({ guest: coiommuGuest }, mem, m, cfgOf(ctx), vcpu, stats);
  const dma = new DmaEngine(mem, m, stats, new Oracle(m.control, 'device', 0));
  let res = 0;
  const r = guest.map(g, 1);
  if (r >= 0) {
    res |= SHIPPED_VCPU.MAPPED;
    dma.write(r, g, STAMP + vcpu);
    if (readStamp(mem, m, g) !== STAMP + vcpu) res |= SHIPPED_VCPU.LOST;
    guest.unmap(r, g, 1);
  }
  if (stats[STAT.PIN_REQUESTS] > 0) res |= SHIPPED_VCPU.REQUESTED;
  if (stats[STAT.SLOT_BUSY] > 0) res |= SHIPPED_VCPU.BUSY;
  vcpuDone(ctx);
  return res;
}

/** vCPU `vcpu`'s shrinker, with its PARK_UNPIN / UNPARK_UNPIN commands. Returns pages freed. */
export function runShrinker(ctx: ThreadCtx, vcpu: number): number {
  const { mem, m } = ctx;
  const cfg = cfgOf(ctx);
  const stats = m.statsBlock(ctx.thread);
  const t = guestTable(mem, m, cfg, vcpu);
  const shrinker = new DttShrinker(mem, m, t.lock!, t.pool!, parkCommand(mem, m, cfg, stats), stats, ctx.variant);
  const freed = shrinker.shrink();
  vcpuDone(ctx);
  return freed;
}

export interface ShippedVerdict {
  unsafeDma: number;
  /** Accounting violations the oracle reported while running (a freed DTT page in use, ...). */
  accountingViolations: number;
  treeProblems: string[];
  accountingOk: boolean;
  underflows: number;
}

/** What the oracle saw, after the schedule. */
export function shippedVerdict(m: Machine, threads: number): ShippedVerdict {
  const r = coiommuRegion(m.spec.guestPages, m.spec.vcpus);
  const table = new MultiLevelDtt(freeRunning, m, r);
  const pinnedFor = (g: number) => {
    const e = table.locate(g, false);
    table.release();
    return e >= 0 && isPinned(Atomics.load(m.coiommu, e));
  };
  const accountingOk = accountingAtRest(m, { pinnedFor });
  let underflows = 0;
  for (let t = 0; t < threads; t++) underflows += m.statsBlock(t)[STAT.MAP_COUNT_UNDERFLOW];
  return {
    unsafeDma: Atomics.load(m.control, CTL.VIOL_DMA),
    accountingViolations: Atomics.load(m.control, CTL.VIOL_ACCT),
    treeProblems: auditTree(m, r).problems,
    accountingOk,
    underflows,
  };
}

export const stampOf = (m: Machine, g: number): number => readStamp(freeRunning, m, g);
