// Where page g's DTT entry lives. Two tables behind one interface:
//   flat        - the paper's form: one word per guest page (m.dtt), nothing to walk or allocate;
//   multilevel  - the shipped form: a radix tree in guest memory (dtt-levels.ts), which the guest
//                 grows on demand, lock-free (an install is one compare-and-swap of the parent
//                 entry's low word), and the host walks from the root and level it was handed.
import { DETAIL, Oracle } from '../../core/oracle.js';
import type { Variant } from '../../core/types.js';
import type { Machine } from '../../machine/machine.js';
import type { SharedMem } from '../../machine/shared-mem.js';
import { LAST_LEVEL, UPPER_ENTRY_WORDS, frameOfEntry, isPresent, levelIndex, upperEntry } from './dtt-levels.js';
import { DttPool, pageInUse } from './dtt-pool.js';
import { CO, wordOfFrame, wordOfGpa, type CoiommuRegion } from './region.js';

export type DttKind = 'flat' | 'multilevel';
export const DTT_KINDS: readonly DttKind[] = ['flat', 'multilevel'];

export interface DttTable {
  /** The words the entries live in. */
  readonly words: Int32Array;
  /** Index (in words) of page g's entry; -1 if a page on the way is absent (and alloc is off or the pool is empty). */
  locate(g: number, alloc: boolean): number;
  /** The host is done with the entry it located last (the oracle's hazard word). */
  release(): void;
}

export class FlatDtt implements DttTable {
  readonly words: Int32Array;
  constructor(m: Machine) {
    this.words = m.dtt;
  }
  locate(g: number): number {
    return g;
  }
  release(): void {}
}

/** Read the write-once registers: root page's frame and level count (0 levels: not enabled yet). */
export function readRegisters(mem: SharedMem, m: Machine): { rootFrame: number; levels: number } {
  const levels = Math.max(0, mem.load(m.coiommu, CO.DTT_LEVEL));
  const root = levels > 0 ? wordOfGpa(mem.load(m.coiommu, CO.DTT_ROOT_LO)) : 0;
  return { rootFrame: root / 1024, levels };
}

/**
 * The guest's probe (coiommu_enable_dtt): allocate the root, hand root and level to the host
 * through the write-once registers. Every vCPU calls it: the first claims it (level -1 while it
 * works), the others wait until the level register holds the count.
 */
export function enableDtt(mem: SharedMem, m: Machine, r: CoiommuRegion, pool: DttPool, variant: Variant = 'none'): void {
  const w = m.coiommu;
  if (mem.compareExchange(w, CO.DTT_LEVEL, 0, -1) === 0) {
    const root = pool.alloc();
    if (root < 0) throw new RangeError('coiommu: no pool page for the DTT root');
    // planted bug: the level (which releases the waiting vCPUs) is published before the root
    if (variant === 'probe-level-before-root') mem.store(w, CO.DTT_LEVEL, r.levels);
    mem.store(w, CO.DTT_ROOT_LO, wordOfFrame(root) * 4);
    mem.store(w, CO.DTT_LEVEL, r.levels);
    mem.notify(w, CO.DTT_LEVEL);
    return;
  }
  while (mem.load(w, CO.DTT_LEVEL) < 0) mem.wait(w, CO.DTT_LEVEL, -1, 10);
}

export class MultiLevelDtt implements DttTable {
  readonly words: Int32Array;
  private rootFrame = 0;
  private levels = 0;
  private readonly oracle: Oracle | undefined;

  constructor(
    private readonly mem: SharedMem,
    private readonly m: Machine,
    private readonly r: CoiommuRegion,
    /** Guest side: its page allocator (absent on the host, which never allocates). */
    private readonly pool?: DttPool,
    variant: Variant = 'none',
  ) {
    this.words = m.coiommu;
    this.plainStore = variant === 'leaf-install-plain-store';
    this.oracle = pool ? undefined : new Oracle(m.control, 'hypervisor', 0);
  }
  private readonly plainStore: boolean;

  locate(g: number, alloc: boolean): number {
    if (this.levels === 0) ({ rootFrame: this.rootFrame, levels: this.levels } = readRegisters(this.mem, this.m));
    if (this.levels === 0) return -1;
    let frame = this.rootFrame;
    for (let level = this.levels; level > LAST_LEVEL; level--) {
      const e = wordOfFrame(frame) + levelIndex(g, level) * UPPER_ENTRY_WORDS; // the low word
      let low = this.mem.load(this.words, e);
      if (!isPresent(low)) {
        if (!alloc || !this.pool) return -1;
        low = this.install(e);
        if (low === 0) return -1;
      }
      frame = frameOfEntry(low);
    }
    if (!this.pool) this.enter(g, frame);
    return wordOfFrame(frame) + levelIndex(g, LAST_LEVEL);
  }

  /** Put a fresh page under parent entry e; returns the entry now there (ours or a racer's), 0 if out of pages. */
  private install(e: number): number {
    const { mem, words } = this;
    const f = this.pool!.alloc();
    if (f < 0) return 0;
    const mine = upperEntry(f);
    if (this.plainStore) {
      // planted bug: a plain store overwrites a page another vCPU installed (and counted in) meanwhile
      mem.store(words, e, mine);
    } else {
      const old = mem.compareExchange(words, e, 0, mine);
      if (old !== 0) {
        this.pool!.free(f); // someone else installed one first: use theirs
        return old;
      }
    }
    mem.add(words, CO.PAGES, 1);
    return mine;
  }

  /** Host: say which leaf it is inside (the oracle's hazard word) and check the leaf is not free. */
  private enter(g: number, frame: number): void {
    Atomics.store(this.words, CO.HOST_LEAF, frame);
    if (!pageInUse(this.m, this.r, frame)) this.oracle!.report('accounting', g, frame, DETAIL.dttPageFreed);
  }

  release(): void {
    if (!this.pool) Atomics.store(this.words, CO.HOST_LEAF, 0);
  }
}
