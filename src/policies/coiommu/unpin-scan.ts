// The lazy unpin worker's round (crosvm's LRU policy). Pages busy for unpinGenThreshold rounds turn
// old; every unpinGenThreshold-th round the old generation is scanned first, and the round's unpin
// limit is shared: the new generation gets what the old one left. The lab keeps each pinned frame's
// busy count beside the frame (frameGen) instead of crosvm's two queues: same generations, no
// list of every pinned page. A parked worker stops its round where it is (crosvm parks the thread).
import { STAT } from '../../machine/layout.js';
import type { Machine } from '../../machine/machine.js';
import type { SharedMem } from '../../machine/shared-mem.js';
import type { HostMemory } from '../../mem/host-memory.js';
import type { Lock } from '../../notify/lock.js';
import type { CoiommuConfig } from './config.js';

export class UnpinScan {
  private rounds = 0;
  private stopped = false;

  constructor(
    private readonly mem: SharedMem,
    private readonly m: Machine,
    private readonly host: HostMemory,
    private readonly lock: Lock,
    private readonly cfg: CoiommuConfig,
    private readonly stats: Float64Array,
    /** With the lock held: the exchange from exactly PINNED, or a second chance for a busy page. */
    private readonly tryUnpin: (g: number) => boolean,
    /** With the lock held: PARK_UNPIN in force. */
    private readonly parked: () => boolean,
  ) {}

  /** One round; returns the pages it unpinned. */
  round(): number {
    const threshold = this.cfg.unpinGenThreshold;
    this.stopped = false;
    let unpins = 0;
    if (++this.rounds % threshold === 0) unpins += this.pass(true, this.cfg.unpinLimit);
    unpins += this.pass(false, this.cfg.unpinLimit - unpins);
    this.stats[STAT.SCANS]++;
    return unpins;
  }

  private pass(old: boolean, limit: number): number {
    const { mem, m } = this;
    const threshold = this.cfg.unpinGenThreshold;
    const high = this.host.frameHigh();
    let unpins = 0;
    for (let f = 0; f < high && unpins < limit && !this.stopped; f++) {
      if (mem.load(m.framePinned, f) === 0) continue;
      const gen = mem.load(m.frameGen, f);
      if (gen >= threshold !== old) continue;
      this.lock.lock();
      try {
        if (this.parked()) {
          this.stats[STAT.UNPIN_PARKED]++;
          this.stopped = true;
          break;
        }
        const owner = mem.load(m.frameOwner, f);
        if (owner === 0 || mem.load(m.framePinned, f) === 0) continue;
        if (this.tryUnpin(owner - 1)) unpins++;
        else if (gen < threshold) mem.store(m.frameGen, f, gen + 1);
      } finally {
        this.lock.unlock();
      }
    }
    return unpins;
  }
}
