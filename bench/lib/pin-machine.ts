// A small coIOMMU machine for the pin-request benchmarks, with one guest page already PINNED by
// the real host pin handler, so every measured request is the full request path around a pin
// that finds the page pinned (lock, DTT check, unlock), not the host's page fault-in.
import { STAT, STAT_BLOCK } from '../../src/machine/layout.js';
import { Machine } from '../../src/machine/machine.js';
import { freeRunning } from '../../src/machine/shared-mem.js';
import { HostMemory } from '../../src/mem/host-memory.js';
import { PinStateLock } from '../../src/notify/lock.js';
import { CoiommuHost } from '../../src/protocol/coiommu-host.js';
import { PINNED } from '../../src/protocol/dtt.js';
import { CTL } from '../../src/machine/layout.js';
import { defaultScenario } from '../../src/run/config.js';
import { machineSpecFor } from '../../src/run/orchestrator.js';
import type { RoleInit } from '../../src/roles/role.js';
import type { NotifyPath, RoleName, ScenarioConfig } from '../../src/run/types.js';

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
    coiommu: { ...d.coiommu, unpinIntervalMs: 600_000 },
  };
  const spec = machineSpecFor(cfg);
  const machine = Machine.create(spec);
  // Pin the page with the real handler, as a first request would have.
  const stats = new Float64Array(STAT.WORDS);
  const lock = new PinStateLock(freeRunning, machine.control, CTL.PIN_LOCK, cfg.watchdogMs);
  const host = new CoiommuHost(freeRunning, machine, new HostMemory(freeRunning, machine, stats), lock, cfg.coiommu, stats);
  if (!host.pin(BENCH_GFN) || (Atomics.load(machine.dtt, BENCH_GFN) & PINNED) === 0)
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
  return (Atomics.load(m.dtt, BENCH_GFN) & PINNED) !== 0;
}
