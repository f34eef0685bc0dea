// The cycle cost table of the modeled clock (defaults from the papers, DESIGN section 2) and the
// per-request arithmetic every policy's cost terms use.
import type { CostTable, NotifyPath } from './types.js';

export const DEFAULT_COST_TABLE: CostTable = Object.freeze({
  // Nominal clock of the machines in the vIOMMU paper (ATC'11); used to turn ns into cycles.
  cpuGhz: 2.4,
  // A handful of atomic RMW instructions on one cache line per page (coIOMMU, ATC'20 DTT design).
  dttUpdateCycles: 60,
  // Bare-metal IOMMU (un)map of one page (vIOMMU, ATC'11: 6,909 cycles).
  iommuMapCycles: 6909,
  // Direct cost of one VM exit + entry on recent Intel parts (~2,000 cycles; ELI / vIOMMU papers).
  exitCycles: 2000,
  // Trap-and-emulate per (un)map minus the bare-metal work and the exit's direct cost:
  // 34,969 - 6,909 - 2,000 (vIOMMU, ATC'11). A trapped request costs exitCycles + this.
  trapRequestCycles: 26060,
  // Sidecore-emulated per (un)map minus the bare-metal work: 9,225 - 6,909 (vIOMMU, ATC'11).
  sidecoreRequestCycles: 2316,
  // Host pin (fault in + get_user_pages-style accounting) without the IOMMU map; an estimate
  // in line with the coIOMMU paper's per-page pin overhead, not a measured figure.
  pinPageCycles: 3000,
  // One IOTLB miss costs ~197 ns per memory read of the page walk (F&S, SOSP'24: l_m).
  iotlbMissReadNs: 197,
  // A DMA of one 4 KiB page without protection (F&S, SOSP'24: l0 = 65 ns, fitted).
  dmaPageNs: 65,
  // Writing or clearing one IO page-table entry (with its IOVA allocation). Part of the 6,909 of
  // a bare-metal (un)map; the rest is the invalidation and its wait. An estimate, fitted so that
  // Linux's batched (lazy) mode on bare metal keeps ~91% of 10 GbE line rate (vIOMMU, ATC'11).
  ioPageTableCycles: 400,
  // iopf, a minor I/O page fault (resident page): page request message, the IOMMU's page request
  // queue interrupt, the host handler and the page-group response. An estimate (~10 µs at 2.4 GHz),
  // of the order the NIC page-fault literature reports for a fault the host resolves without I/O.
  iopfMinorCycles: 24000,
  // iopf, a major fault adds the swap-in: one 4 KiB read from an NVMe SSD, ~100 µs (an estimate
  // from datacenter SSDs' typical read latency, not a measured figure).
  iopfMajorCycles: 240000,
});

export const COST_KEYS = Object.keys(DEFAULT_COST_TABLE) as (keyof CostTable)[];

/** Cycles for one request delivered by each path, on top of the pinning work itself. */
export function requestCycles(t: CostTable, notify: NotifyPath): number {
  if (notify === 'bare') return 0;
  return notify === 'trap' ? t.exitCycles + t.trapRequestCycles : t.sidecoreRequestCycles;
}

/**
 * One vIOMMU (un)map as the papers count it: the request (trap: exit + emulation; sidecore: the
 * polling overhead) plus the bare-metal IOMMU (un)map the host does for it. With the defaults:
 * trap 2,000 + 26,060 + 6,909 = 34,969; sidecore 2,316 + 6,909 = 9,225; bare metal 6,909.
 */
export function unmapCycles(t: CostTable, notify: NotifyPath | 'bare'): number {
  return (notify === 'bare' ? 0 : requestCycles(t, notify)) + t.iommuMapCycles;
}

/** An IOTLB invalidation with its wait descriptor, without the page-table write: 6,909 - 400. */
export const invalidationCycles = (t: CostTable): number => Math.max(0, t.iommuMapCycles - t.ioPageTableCycles);

/** Cycles to ns on the cost table's CPU. */
export const cyclesNs = (t: CostTable, cycles: number): number => cycles / t.cpuGhz;

/** Static pinning's one-time cost at VM creation, in ms. */
export function staticPinModeledMs(pages: number, t: CostTable): number {
  return (pages * (t.pinPageCycles + t.iommuMapCycles)) / (t.cpuGhz * 1e6);
}

/** `total` cycles spread over `dmaOps` DMAs (0 when there were none). */
export const perDmaOf = (dmaOps: number, total: number): number => (dmaOps > 0 ? total / dmaOps : 0);
