// A vCPU's view of the coIOMMU structures in guest memory: the table (flat or multilevel, enabled on
// first use), its read-write lock, the page pool, and this vCPU's batch pin-info buffer.
import type { Machine } from '../../machine/machine.js';
import type { SharedMem } from '../../machine/shared-mem.js';
import type { PinInfoBuffer } from '../../notify/pin-request.js';
import type { Scenario_ } from '../policy.js';
import type { CoiommuConfig } from './config.js';
import { DttPool } from './dtt-pool.js';
import { FlatDtt, MultiLevelDtt, enableDtt, type DttTable } from './dtt-table.js';
import { CO, PIN_INFO_MAX_PAGES, coiommuRegion, gpaOfWord, type CoiommuRegion } from './region.js';
import { DttRwLock } from './rw-lock.js';

export interface GuestTableParts {
  config: CoiommuConfig;
  region: CoiommuRegion;
  table: DttTable;
  lock?: DttRwLock;
  pool?: DttPool;
  pinInfo: PinInfoBuffer;
}

export function guestTable(mem: SharedMem, m: Machine, cfg: Scenario_, vcpu: number): GuestTableParts {
  const config = cfg.coiommu as CoiommuConfig;
  const region = coiommuRegion(m.spec.guestPages, m.spec.vcpus);
  const base = region.pinInfo + vcpu * region.pinInfoWords;
  const pinInfo: PinInfoBuffer = { words: m.coiommu, base, maxPages: PIN_INFO_MAX_PAGES, gpa: gpaOfWord(base) };
  if (config.dtt === 'flat') return { config, region, table: new FlatDtt(m), pinInfo };
  const pool = new DttPool(mem, m, region, cfg.watchdogMs);
  enableDtt(mem, m, region, pool, cfg.variant);
  const table = new MultiLevelDtt(mem, m, region, pool, cfg.variant);
  return { config, region, table, lock: new DttRwLock(mem, m.coiommu, CO.DTT_LOCK), pool, pinInfo };
}
