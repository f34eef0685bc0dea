// Protocol sites no explorer scenario reaches, and why. `file~text` excuses the file's sites whose
// line contains `text` (robust to lines moving); a bare file excuses all of its sites.
const TEARDOWN = 'VM teardown and the accounting check: run free, by the hypervisor, after the schedule (the outcome checks them)';
const PLANTED = 'a planted bug: runs only under its variant (coverage runs the real protocols)';

export const COVERAGE_EXCEPTIONS: Record<string, string> = {
  'src/mem/accounting.ts': TEARDOWN,
  'src/mem/residency-check.ts': TEARDOWN,
  'src/policies/coiommu/host.ts~isPinned(this.mem.load(this.table.words, e))': 'pinnedFor: read by the accounting check only',
  'src/policies/coiommu/host.ts~counted++': TEARDOWN,
  'src/policies/coiommu/host.ts~mem.and(table.words, e, ~ACCESSED);': TEARDOWN,
  'src/policies/coiommu/host.ts~const old = mem.compareExchange(table.words, e, PINNED, 0)': TEARDOWN,
  'src/policies/coiommu/host.ts~mem.store(table.words, e, 0);': TEARDOWN,
  // the planted bugs' own lines (pinned-before-map, unpin-load-store, unpin-ignores-count)
  'src/policies/coiommu/host.ts~        mem.or(table.words, e, PINNED);': PLANTED,
  'src/policies/coiommu/host.ts~if (e >= 0) this.mem.and(this.table.words, e, ~PINNED)': PLANTED,
  'src/policies/coiommu/host.ts~old = mem.load(w, e);': PLANTED,
  'src/policies/coiommu/host.ts~if (old === PINNED) mem.store(w, e, 0);': PLANTED,
  'src/policies/coiommu/host.ts~mem.and(w, e, ~PINNED);': PLANTED,
  'src/policies/coiommu/dtt-table.ts~mem.store(words, e, mine);': PLANTED,
  "src/policies/coiommu/dtt-table.ts~if (variant === 'probe-level-before-root')": PLANTED,
  'src/policies/coiommu/host.ts~keep the page pinned': 'cannot happen: PINNED is set only after the host IOMMU entry exists (a defensive undo)',
  'src/policies/coiommu/guest.ts~this.testFirst': PLANTED,
  'src/policies/coiommu/guest.ts~mem.sub(words, e, 1);': 'map-count overflow: needs more concurrent maps of one page than a scenario has vCPUs',
  'src/notify/ring.ts~this.publishFirst': PLANTED,
  'src/notify/park.ts': 'a bounded spin: under the controlled executor a spin is one re-check (SharedMem.scheduled), never this loop',
  'src/notify/invalidation-queue.ts~mem.wait(m.invq, INVQ.HEAD': 'a full invalidation queue: a scenario vCPU has at most two descriptors queued',
  'src/mem/dma.ts~return this.mem.load(this.m.iommu, dmaPage) - 1': 'protection probes of the device (free runs only)',
  'src/mem/reclaimer.ts~CTL.PINNED_NOW': 'static pinning has no force-unpin: the reclaimer\'s shortcut (no static scenario)',
  'src/mem/host-memory.ts~return this.mem.load(this.m.control, CTL.PINNED_NOW)': 'pinnedNow: teardown and accounting only',
  'src/mem/host-memory.ts~mem.store(m.frameOwner, f, 0);': 'the data-frame pool exhausted while restoring: scenarios size it to their pages',
  'src/mem/host-memory.ts~mem.store(m.frameData, f, d);':
    'restoring a swapped page into a frame that never held a payload: a scenario would need a third page reclaimed between',
  'src/policies/viommu/host.ts~this.mem.store(this.m.shadowRefs, g, 0)': TEARDOWN,
  'src/policies/viommu/host.ts~isPresent(this.mem.load(this.m.iopt, i))': TEARDOWN,
  'src/mem/io-radix-table.ts~PT_POOL.HIGH) - this.mem.load': 'inUse: tests and the teardown check only',
  'src/mem/io-radix-table.ts~if (level === 0) return this.mem.load(this.table, iova)':
    "passthrough's device walk (FlatWalkTable): its host IOMMU table is written once at VM creation, there is no protocol to race",
  'src/policies/viommu/host.ts~shadowRefs, g) > 0': 'pinnedFor: read by the accounting check only',
  'src/policies/viommu/host.ts~this.mem.store(this.m.shadow, i, 0)': TEARDOWN,
  'src/policies/viommu/host.ts~if (this.mem.load(this.m.shadow, i) !== 0) this.radix.clear(i)': TEARDOWN,
  'src/policies/viommu/host.ts~if (this.mem.load(this.m.shadow, i) !== 0) n++': TEARDOWN,
  'src/policies/viommu/host.ts~const s = mem.load(m.shadow, i) - 1;': TEARDOWN,
  'src/policies/viommu/host.ts~mem.load(m.framePinned, s) === 0': TEARDOWN,
  'src/policies/viommu/host.ts~mem.load(m.frameOwner, s) - 1, s, DETAIL': TEARDOWN,
  'src/policies/viommu/host.ts~refs += mem.load(m.shadowRefs, g)': TEARDOWN,
};
