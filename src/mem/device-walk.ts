// The device's walk on an IOTLB miss, as the policy describes its table: the machine's 4-level IO
// page table (a vIOMMU's), a flat table seen as an identity-mapped 4-level one (passthrough's host
// IOMMU table), or, for a description without page-table caches, the flat 4-read lookup.
import type { Machine } from '../machine/machine.js';
import type { SharedMem } from '../machine/shared-mem.js';
import { FlatWalkTable, IoRadixTable } from './io-radix-table.js';
import { PageWalker, type PtCacheSizes } from './page-walk.js';

export interface WalkSpec {
  table: Int32Array;
  walk?: 'radix' | 'flat';
  ptcache?: PtCacheSizes;
}

export function deviceWalk(mem: SharedMem, m: Machine, t: WalkSpec, stats: Float64Array): PageWalker | ((iova: number) => number) {
  if (!t.walk || !t.ptcache) return (a) => mem.load(t.table, a) - 1;
  const table = t.walk === 'radix' ? new IoRadixTable(mem, m) : new FlatWalkTable(mem, t.table);
  return new PageWalker(table, t.ptcache, stats);
}
