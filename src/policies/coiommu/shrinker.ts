// The guest's DTT shrinker (dtt_shrink_scan): under memory pressure it frees table pages whose
// entries are all zero, deepest first, an upper page once all its children are gone. It parks the
// host's unpin worker first (the worker walks the table without the guest's lock), and frees each
// page under the DTT's write lock (no map or unmap is inside the table meanwhile), then unparks.
import { STAT } from '../../machine/layout.js';
import type { Machine } from '../../machine/machine.js';
import type { SharedMem } from '../../machine/shared-mem.js';
import type { Variant } from '../../core/types.js';
import { LAST_LEVEL, LEAF_ENTRIES, UPPER_ENTRIES, UPPER_ENTRY_WORDS, frameOfEntry, isPresent } from './dtt-levels.js';
import type { DttPool } from './dtt-pool.js';
import { readRegisters } from './dtt-table.js';
import { CO, wordOfFrame } from './region.js';
import type { DttRwLock } from './rw-lock.js';

export class DttShrinker {
  private freedLast = false;
  private readonly park: boolean;
  /** Planted bug shrink-without-lock: frees with no write lock, while a map may be inside the page. */
  private readonly noLock: boolean;

  constructor(
    private readonly mem: SharedMem,
    private readonly m: Machine,
    private readonly lock: DttRwLock,
    private readonly pool: DttPool,
    /** The PARK_UNPIN / UNPARK_UNPIN command (park.ts). */
    private readonly command: (park: boolean) => void,
    private readonly stats: Float64Array,
    variant: Variant = 'none',
  ) {
    this.park = variant !== 'shrink-without-park';
    this.noLock = variant === 'shrink-without-lock';
  }

  /** One shrink: returns the pages freed. */
  shrink(): number {
    const { rootFrame, levels } = readRegisters(this.mem, this.m);
    if (levels === 0) return 0;
    if (this.park) this.command(true); // planted bug shrink-without-park: the worker keeps walking
    try {
      const freed = this.shrinkPage(rootFrame, levels, -1);
      this.stats[STAT.DTT_PAGES_FREED] += freed;
      return freed;
    } finally {
      if (this.park) this.command(false);
    }
  }

  /** Shrink below page `frame` at `level`, then free it if it is all zeros (not the root). */
  private shrinkPage(frame: number, level: number, parentEntry: number): number {
    const { mem } = this;
    const w = this.m.coiommu;
    let freed = 0;
    let hasChild = false;
    if (level !== LAST_LEVEL) {
      for (let i = 0; i < UPPER_ENTRIES; i++) {
        const e = wordOfFrame(frame) + i * UPPER_ENTRY_WORDS;
        const low = mem.load(w, e);
        if (!isPresent(low)) continue;
        freed += this.shrinkPage(frameOfEntry(low), level - 1, e);
        hasChild ||= !this.freedLast;
      }
    }
    this.freedLast = false;
    if (hasChild || parentEntry < 0) return freed;
    if (!this.noLock) this.lock.writeLock();
    try {
      if (!this.allZero(frame)) return freed;
      this.pool.free(frame);
      mem.sub(w, CO.PAGES, 1);
      mem.store(w, parentEntry, 0);
      this.freedLast = true;
      return freed + 1;
    } finally {
      if (!this.noLock) this.lock.writeUnlock();
    }
  }

  private allZero(frame: number): boolean {
    const base = wordOfFrame(frame);
    for (let i = 0; i < LEAF_ENTRIES; i++) if (this.mem.load(this.m.coiommu, base + i) !== 0) return false;
    return true;
  }
}
