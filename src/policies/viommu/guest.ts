// Emulated VT-d in caching mode, guest side (DESIGN 1.2): the driver writes its IO page table and,
// because the host learns of new mappings only through invalidations, every map also submits one.
// The teardown strategy (strict, flush queue, optimistic) decides what an unmap costs.
import type { GuestDmaPolicy } from '../../core/guest-dma-policy.js';
import { STAT } from '../../machine/layout.js';
import type { Machine } from '../../machine/machine.js';
import type { SharedMem } from '../../machine/shared-mem.js';
import { InvalidationQueue } from '../../notify/invalidation-queue.js';
import type { GuestContext } from '../policy.js';
import type { GuestClock } from '../../core/virtual-time.js';
import type { ViommuConfig } from './config.js';
import { FlushQueue } from './flush-queue.js';
import { IovaAllocator } from './iova-allocator.js';
import { OptimisticTeardown } from './optimistic.js';
import { StrictTeardown, ViommuIo, type Teardown, type TeardownMode } from './teardown.js';
import { invalidationStrategy, type InvalidationStrategy } from './invalidation.js';

export type { TeardownMode } from './teardown.js';

/** Told when a DMA address becomes mapped again (the protection oracle stops probing it). */
export interface AddressReuse {
  forget(dma: number): void;
}

export function makeTeardown(mode: TeardownMode, io: ViommuIo, cfg: ViommuConfig, stats: Float64Array, now: () => number, variant = 'none'): Teardown {
  if (mode === 'lazy') return new FlushQueue(io, cfg.flushQueueEntries, cfg.flushTimeoutMs, now);
  if (mode === 'optimistic')
    return new OptimisticTeardown(io, cfg.optimisticTimeoutMs, cfg.optimisticQuota, stats, now, variant === 'optimistic-stale-reuse');
  return new StrictTeardown(io);
}

export class ViommuGuest implements GuestDmaPolicy {
  private readonly io: ViommuIo;
  private readonly teardown: Teardown;

  constructor(
    private readonly mem: SharedMem,
    private readonly m: Machine,
    queue: InvalidationQueue,
    private readonly iovas: IovaAllocator,
    readonly mode: TeardownMode,
    cfg: ViommuConfig,
    private readonly stats: Float64Array,
    private readonly reuse?: AddressReuse,
    now: () => number = () => performance.now(),
    private readonly clock?: GuestClock,
    strategy?: InvalidationStrategy,
    /** A planted bug of the teardown strategy ('none': the real one). */
    variant = 'none',
  ) {
    this.io = new ViommuIo(mem, m, queue, iovas, clock, stats, strategy);
    this.teardown = makeTeardown(mode, this.io, cfg, stats, now, variant);
  }

  map(gfn: number, n: number): number {
    this.clock?.sync();
    const live = this.teardown.reuse(gfn, n);
    if (live >= 0) {
      this.reuse?.forget(live);
      return live;
    }
    let iova = this.iovas.alloc(n);
    // IOVA space exhausted: what is deferred goes back first (Linux flushes its queue the same way)
    if (iova < 0 && this.teardown.release()) iova = this.iovas.alloc(n);
    if (iova < 0) {
      this.stats[STAT.MAP_FAILURES]++;
      return -1;
    }
    this.reuse?.forget(iova); // before the mapping can be live again
    this.io.write(iova, gfn, n);
    // caching mode: a new mapping needs an invalidation too, and it is where the host pins
    if (this.io.submitMap(iova, n)) return iova;
    // The host could not pin (or the queue refused): undo as Linux does after a failed
    // iommu_map, clear the entries and invalidate them (a page the host did shadow is torn down
    // and unpinned), then give the IOVA back. The driver sees a failed map.
    this.io.clear(iova, n);
    this.io.submitOne(iova, n);
    this.iovas.free(iova, n);
    this.stats[STAT.MAP_FAILURES]++;
    return -1;
  }

  unmap(iova: number, gfn: number, n: number): void {
    this.clock?.sync();
    this.teardown.unmap(iova, gfn, n);
  }

  /** Timers: the flush queue's timeout, optimistic teardown's time limit. */
  nextTimerMs(): number {
    return this.teardown.nextDeadlineMs();
  }

  poll(): void {
    this.teardown.poll();
  }

  /** Tear down everything deferred (the driver is stopping). */
  drain(): void {
    this.teardown.release();
  }

  /** Unmaps the host has not been told about yet (flush queue or stale mappings). */
  pendingTeardowns(): number {
    return this.teardown.pending();
  }
}

export function viommuGuest(mode: TeardownMode, ctx: GuestContext): ViommuGuest {
  const { mem, m, cfg, vcpu, stats, unmapLog } = ctx;
  const queue = new InvalidationQueue(cfg.notify, mem, m, vcpu, ctx.spinUs, ctx.timeoutMs, stats);
  queue.latency = ctx.latency.invSubmit;
  queue.clock = ctx.clock;
  const inline = ctx.inlineHost;
  if (inline) queue.onTailWrite = () => void inline.serve(); // bare: the native OS programs the IOMMU itself
  // An IOVA spilled to the depot may be mapped next by another vCPU: stop probing it as ours.
  const unlocked = cfg.variant === 'iova-refill-unlocked';
  const iovas = new IovaAllocator(mem, m, undefined, ctx.timeoutMs, unmapLog && ((iova) => unmapLog.forget(iova)), unlocked);
  const clock = ctx.clock;
  // The deferred-teardown timers run on the virtual clock unless the scenario says wall
  const now = clock && cfg.clock === 'virtual' ? () => clock.ms() : undefined;
  const v = cfg.viommu as ViommuConfig;
  return new ViommuGuest(mem, m, queue, iovas, mode, v, stats, unmapLog, now, clock, invalidationStrategy(v.invalidation ?? 'linux', cfg.variant), cfg.variant);
}
