// A small coIOMMU machine for the pin-request benchmarks, with one guest page already PINNED by
// the real host pin handler, so every measured request is the full request path around a pin
// that finds the page pinned (lock, DTT check, unlock), not the host's page fault-in.
import { STAT, STAT_BLOCK } from '../../src/machine/layout.js';
import { Machine } from '../../src/machine/machine.js';
import { freeRunning } from '../../src/machine/shared-mem.js';
import type { CoiommuHost } from '../../src/policies/coiommu/host.js';
import { isPinned } from '../../src/policies/coiommu/dtt.js';
import { defaultScenario } from '../../src/lab/config.js';
import { machineSpecFor } from '../../src/lab/orchestrator.js';
import type { RoleInit } from '../../src/roles/role.js';
import type { NotifyPath, RoleName } from '../../src/core/types.js';
import type { ScenarioConfig } from '../../src/lab/scenario.js';
import { coiommuHost } from '../../src/policies/coiommu/host.js';
import { buildHost } from '../../src/policies/wiring.js';

/** The page every request asks for. */
export const BENCH_GFN = 7;

export interface PinBenchMachine {
  cfg: ScenarioConfig;
  machine: Machine;
  initFor(role: RoleName): RoleInit;
}

/**
 * Default scenario, shrunk: 1,024 guest pages, no memory pressure, and the lazy unpin worker's
 * interval at its maximum (the page stays pinned: the guest here never maps it, so a scan would
 * find it idle and unpin it).
 */
export function pinBenchMachine(notify: NotifyPath): PinBenchMachine {
  const d = defaultScenario();
  const cfg: ScenarioConfig = {
    ...d,
    policy: 'coiommu',
    notify,
    guestPages: 1024,
    host: { ...d.host, memoryPages: 0, dataFrames: 64 },
    // the flat table: the page is pre-pinned here with no guest to grow a multi-level one
    coiommu: { ...d.coiommu, dtt: 'flat', unpinIntervalMs: 600_000 },
  };
  const spec = machineSpecFor(cfg);
  const machine = Machine.create(spec);
  // Pin the page with the real handler, as a first request would have.
  const stats = new Float64Array(STAT.WORDS);
  const host = buildHost({ host: coiommuHost }, freeRunning, machine, cfg, stats).policy as CoiommuHost;
  if (!host.pin(BENCH_GFN) || !isPinned(Atomics.load(machine.dtt, BENCH_GFN)))
    throw new Error(`could not pre-pin guest page ${BENCH_GFN}`);
  return {
    cfg,
    machine,
    initFor: (role) => ({ sab: machine.sab, spec, cfg, role, index: 0 }),
  };
}

/** Requests the host role served (its stats block), to check the measured loop really went there. */
export function servedBy(m: Machine, role: 'sidecore' | 'hypervisor'): number {
  return m.statsBlock(STAT_BLOCK[role])[STAT.REQUESTS_SERVED];
}

/** The page must still be pinned after the run (nothing unpinned it behind the benchmark's back). */
export function stillPinned(m: Machine): boolean {
  return isPinned(Atomics.load(m.dtt, BENCH_GFN));
}
