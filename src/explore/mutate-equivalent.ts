// Mutants declared equivalent: the mutation cannot change what the scenario observes. Each entry
// says why; the mutation score leaves them out (killed / (mutants - equivalent)).
import type { MutationOp } from './sched-layout.js';

interface Declared {
  scenario: RegExp;
  thread?: RegExp;
  where: RegExp;
  /** One operator, or several sharing the reason. */
  operator: MutationOp | readonly MutationOp[];
  reason: string;
}

const DTT_WRITERS_TAKE_TURNS =
  "each mapped page's DTT entry has two writers, its vCPU (count add before its pin request, sub after the answer) and the pin handler (PINNED or-in while serving that request, which the vCPU waits for); no unpin scan runs in these scenarios, so the writes never overlap";
const BUSY_GUARDS_ACTIVE =
  "under iopf the reclaimer drains only a page it found not busy, after its flush's fence, and the device raises the page's busy count (a locked add: its store buffer drains) before an access begins and lowers it after the access ends: an access the drain could wait on or miss was busy at the check, and the reclaimer skipped the page (so drain() never waits on ACTIVE here)";
const NO_SHOOTDOWN =
  "the device's ACTIVE word and the fences around it answer a host shootdown (IotlbFlusher.post + drain, the only reader of ACTIVE and the only sleeper on it); this scenario reclaims nothing, so no thread posts a flush or drains";
const NO_FLUSH_IN_FLIGHT =
  "in viommu-ring-dma no flush meets a device access in flight: the map adds shadow entries and posts no flush, the unmap's flush comes after the vCPU reaped the completion, whose publish (wake()'s fence) drained the device's store buffer, and the device's last probe begins after the unmap returned (PCT under TSO and DPOR at bound 2, 4,000 schedules, never see drain() find ACTIVE busy)";
// A delay-store mutant leaves out the fence that follows the store (before the thread's next load),
// so its reason must argue about that fence, not about who reads the stored word.
const DECLARED: Declared[] = [
  {
    scenario: /^(coiommu|iopf)-/,
    where: /^control\.(PINNED_NOW|RESIDENT_NOW)$/,
    operator: 'split-rmw',
    reason: 'HostMemory changes its counters only with the pin-state lock held (src/mem/host-memory.ts): no other write can fall between the load and the store',
  },
  {
    scenario: /^coiommu-/,
    thread: /^pin-handler$/,
    where: /^slot\d+\.STATUS$/,
    operator: 'skip-store',
    reason:
      "the answer's STATUS (pages not pinned) is read by no decision: the coIOMMU driver looks each requested page up again in the DTT after the answer (requestPins in src/policies/coiommu/guest.ts)",
  },
  {
    scenario: /^coiommu-pin-fails$/,
    where: /^control\.DATA_NEXT$/,
    operator: 'split-rmw',
    reason: 'two host frames for three pages and no unpin scan: exactly one of the two maps succeeds, so only one vCPU ever DMAs and takes a data frame',
  },
  {
    scenario: /^coiommu-(pin-fails|ring-dma)$/,
    where: /^dtt\[[0-2]\]$/,
    operator: 'split-rmw',
    reason: DTT_WRITERS_TAKE_TURNS,
  },
  {
    scenario: /^coiommu-(probe-race|two-vcpus-new-leaf)$/,
    where: /^coiommu\[35\]$/,
    operator: 'split-rmw',
    reason: "the DTT's page count: pages 1 and 2 share one leaf, and only the vCPU whose install wins adds it, once (a CAS loser gives its page back uncounted); no shrinker runs here",
  },
  {
    scenario: /^coiommu-(probe-race|two-vcpus-new-leaf)$/,
    where: /^coiommu\[20(49|50)\]$/,
    operator: 'split-rmw',
    reason: DTT_WRITERS_TAKE_TURNS,
  },
  {
    scenario: /^coiommu-shrinker-vs-map$/,
    where: /^coiommu\[2049\]$/,
    operator: 'split-rmw',
    reason: DTT_WRITERS_TAKE_TURNS + ' (the shrinker only frees leaf pages whose entries are all zero; it writes no entry)',
  },
  {
    scenario: /^coiommu-shrinker-vs-map$/,
    thread: /^shrinker$/,
    where: /^coiommu\[3\]$/,
    operator: 'skip-store',
    reason:
      'the park count holds the lazy-unpin worker off while the shrinker frees DTT pages; no unpin worker runs in this scenario, so nothing reads it (coiommu-shrinker-vs-unpin, where one runs, kills this mutant)',
  },
  {
    scenario: /^coiommu-shrinker-vs-map$/,
    thread: /^shrinker$/,
    where: /^coiommu\[3\]$/,
    operator: 'drop-notify',
    reason: 'the unpark wakes the lazy-unpin worker parked on the park count; no unpin worker runs in this scenario (coiommu-shrinker-vs-unpin has one)',
  },
  {
    scenario: /^coiommu-busy-slot$/,
    thread: /^vcpu0$/,
    where: /^coiommu\[2049\]$/,
    operator: 'split-rmw',
    reason:
      "G's DTT entry: its only other writer is the pin handler's PINNED or-in, which runs only while the vCPU waits for the answer to its own request, after its count add and before its count sub (the DPOR at preemption bound 2 exhausted its space, 167 schedules, without a kill)",
  },
  {
    scenario: /^fands-unmap-vs-walk$/,
    thread: /^host$/,
    where: /^scratch\[2\]$/,
    operator: 'skip-store',
    reason: "the host's DRAINED mark is the scenario's observation, not protocol: skipping it only turns the device's strict-protection check off",
  },
  {
    scenario: /^viommu-unmap-vs-dma$/,
    thread: /^vcpu0$/,
    where: /^scratch\[1\]$/,
    operator: 'skip-store',
    reason: "the vCPU's UNMAPPED mark is the scenario's observation, not protocol: skipping it only turns the device's leak check off",
  },
  {
    scenario: /^viommu-optimistic-remap$/,
    thread: /^vcpu0$/,
    where: /^scratch\[1\]$/,
    operator: ['skip-store', 'drop-notify', 'delay-store'],
    reason: "the vCPU's phase marks (A posted, G1 evicted, drained) and their notifies are the scenario's harness, not protocol: they only start the device's gated accesses",
  },
  {
    scenario: /^viommu-(unmap-vs-dma|optimistic-remap)$/,
    where: /^iotlbLog\[(38|42|46|50)\]$/,
    operator: 'skip-store',
    reason: "a flush entry's FLAGS (entries of generations 1-4) say which page-table caches to drop; this scenario's device walks the flat shadow table and has none",
  },
  {
    scenario: /^viommu-ring-dma$/,
    thread: /^device$/,
    where: /^(data\[\d+\]|frameData\[\d+\]|iotlbLog\[16\])$/,
    operator: 'delay-store',
    reason: NO_FLUSH_IN_FLIGHT + ": so no drain reads ACTIVE while it is buffered and no host sleeps on it; the fence this store runs into (Iotlb.end's, or begin's after ACTIVE) orders nothing another thread reads (the same fence's ACTIVE mutant is killed in viommu-unmap-vs-dma and viommu-optimistic-remap)",
  },
  {
    scenario: /^viommu-ring-dma$/,
    thread: /^device$/,
    where: /^iotlbLog\[16\]$/,
    operator: 'skip-store',
    reason: NO_FLUSH_IN_FLIGHT + ': an ACTIVE left IDLE is what every drain here reads anyway',
  },
  {
    scenario: /^viommu-ring-dma$/,
    thread: /^hypervisor$/,
    where: /^iotlbLog\[(0|3[6-9]|4[0-3])\]$/,
    operator: 'delay-store',
    reason:
      NO_FLUSH_IN_FLIGHT +
      ": post()'s fence orders GEN before drain()'s read of ACTIVE, which is IDLE here either way; the unpin's locked subtract that follows drains GEN before the wait descriptor completes, so the device's last probe sees it (viommu-unmap-vs-dma and viommu-optimistic-remap kill it)",
  },
  {
    scenario: /^viommu-ring-dma$/,
    thread: /^hypervisor$/,
    where: /^iotlbLog\[(38|42)\]$/,
    operator: 'skip-store',
    reason:
      "a flush entry's FLAGS say whether the device drops its page-table caches too; here they point at the leaf page whose entries the unmap cleared, and no page-table page is reused, so a walk through them faults as a fresh walk does (fands-unmap-vs-walk reuses the page and kills it)",
  },
  {
    scenario: /^(coiommu|viommu|iopf)-/,
    thread: /^(pin-handler|hypervisor|fault-handler)$/,
    where: /^control\.HOST_PARKED$/,
    operator: 'delay-store',
    reason:
      "the host's Doorbell.sleep fence orders its parked flag before its pending() scan; in these scenarios the host's doorbell is only ever rung with ring() (a trapping vCPU's exit, a vCPU done, a trapping device's page request: a locked add on the word it waits on), so a bump its scan missed still fails the wait's compare (the futex call drains, then compares): the fence matters only for kick()'s sleepers (a sidecore's)",
  },
  {
    scenario: /^viommu-optimistic-remap$/,
    thread: /^hypervisor$/,
    where: /^iotlbLog\[(40|41|44|45)\]$/,
    operator: 'skip-store',
    reason:
      "the IOVA and PAGES of the second and third flushes (generations 2 and 3: G2's IOVA and the fresh IOVA of G1's second map); the device translates only A. A skipped IOVA leaves the slot's 0, which is A: the entry drops A early, and dropping more is always safe; a skipped PAGES drops nothing of a range the device never cached",
  },
  {
    scenario: /^(coiommu|viommu)-ring-dma$/,
    thread: /^vcpu0$/,
    where: /^compRings\[17\]$/,
    operator: 'delay-store',
    reason:
      "the vCPU sleeps on the completion ring's tail itself and pending() re-reads that word: a completion its re-check missed fails the wait's compare (the futex call drains, then compares), as in awaitChange(); the sleep fence matters for the device, which waits on its doorbell while pending() reads the descriptor ring",
  },
  {
    scenario: /^coiommu-/,
    thread: /^(vcpu\d+|shrinker)$/,
    where: /^control\.HOST_DOORBELL$/,
    operator: 'split-rmw',
    reason:
      "the host's doorbell is a change hint: a vCPU raises its slot's REQ (or its done count) before it bumps, and the host reads the doorbell before it scans for pending work (Doorbell.sleep). A stale write-back can only give the doorbell a value the host read after the other vCPU's bump, so after this vCPU's REQ: its scan finds the request without a wake-up",
  },
  {
    scenario: /^coiommu-two-vcpus-same-page$/,
    thread: /^vcpu[01]$/,
    where: /^data\[9\]$/,
    operator: 'skip-store',
    reason:
      "the payload's page-number word: both vCPUs DMA into page G, so both write the same value there; a skip before the other's DMA is filled in by it, one after it is silent",
  },
  {
    scenario: /^coiommu-two-vcpus-same-page$/,
    thread: /^vcpu[01]$/,
    where: /^frameData\[0\]$/,
    operator: 'skip-store',
    reason:
      "the first DMA into the frame records its data frame; skipped, the other vCPU's DMA finds none, takes another and records that, and its whole payload is what the page holds (the skipped one's read-back is not made here: the other vCPU may write in between)",
  },
  {
    scenario: /^coiommu-two-vcpus-same-page$/,
    where: /^control\.DATA_NEXT$/,
    operator: 'split-rmw',
    reason:
      "both vCPUs take a data frame only when their first DMAs into the fresh frame overlap in time; then the page may tear legitimately and its contents are not checked",
  },
  {
    scenario: /^iopf-fault-vs-reclaim$/,
    thread: /^device$/,
    where: /^(data\[\d+\]|frameData\[\d+\]|iotlbLog\[16\])$/,
    operator: 'delay-store',
    reason: BUSY_GUARDS_ACTIVE + ": the fence this store runs into (Iotlb.end's, or begin's after ACTIVE) orders nothing the reclaimer relies on",
  },
  {
    scenario: /^iopf-fault-vs-reclaim$/,
    thread: /^device$/,
    where: /^iotlbLog\[16\]$/,
    operator: 'skip-store',
    reason: BUSY_GUARDS_ACTIVE + ': an ACTIVE never published changes nothing the reclaimer decides',
  },
  {
    scenario: /^iopf-fault-vs-reclaim$/,
    thread: /^fault-handler$/,
    where: /^control\.PIN_LOCK$/,
    operator: ['split-rmw', 'drop-notify'],
    reason:
      'the fault handler takes the pin-state lock only to serve a fault, and the device faults only on the page the reclaimer unmapped inside its one critical section: the handler gets the lock after the reclaimer has released it for good, so nobody contends with it or waits for its unlock',
  },
  {
    scenario: /^iopf-two-faults-same-page$/,
    thread: /^device$/,
    where: /^(data\[\d+\]|frameData\[\d+\]|iotlbLog\[16\])$/,
    operator: 'delay-store',
    reason: NO_SHOOTDOWN + ": the fence this store runs into (Iotlb.end's, or begin's after ACTIVE) orders nothing anyone reads",
  },
  {
    scenario: /^iopf-two-faults-same-page$/,
    thread: /^device$/,
    where: /^iotlbLog\[16\]$/,
    operator: 'skip-store',
    reason: NO_SHOOTDOWN + ': the ACTIVE word it skips has no reader',
  },
  {
    scenario: /^iopf-/,
    thread: /^fault-handler$/,
    where: /^prq\[(289|305)\]$/,
    operator: 'skip-store',
    reason:
      "a page-request group's COST_NS word: the host's modeled service time, which the device only adds to its stall statistics (IopfDevice.fault); no decision and no outcome reads it",
  },
  {
    scenario: /^viommu-optimistic-remap$/,
    thread: /^hypervisor$/,
    where: /^framePinned\[1\]$/,
    operator: 'skip-store',
    reason:
      "frame 1 is G2's (pages fault in on their first pin, G1, G2, G3 in the vCPU's order, and nothing reclaims), and G2's IOVA is never A, the only IOVA the device translates; both stores to the word are skipped, the pin's and the unpin's, so at rest it reads 0 as it should",
  },
  {
    scenario: /^viommu-iova-two-vcpus$/,
    where: /^(scratch\[0\]|control\.HOST_DOORBELL)$/,
    operator: 'split-rmw',
    reason:
      "the done count and the host's doorbell are rung for a host thread (vcpuDone in src/policies/scenario-kit.ts); this scenario has none, so nobody reads either word: a lost count or bump changes nothing",
  },
  {
    scenario: /^litmus-sb/,
    where: /^scratch\[2[01]\]$/,
    operator: ['delay-store', 'skip-store'],
    reason: "the litmus outcome reads the threads' return values; this copy of one in scratch is read by nobody",
  },
  {
    scenario: /^litmus-sb$/,
    where: /^scratch\[1[01]\]$/,
    operator: 'skip-store',
    reason: 'litmus-sb forbids no outcome (it shows x86-TSO\'s relaxed one): a skipped store only picks another allowed r0/r1; litmus-sb-fenced kills it',
  },
  {
    scenario: /^litmus-mp$/,
    where: /^scratch\[11\]$/,
    operator: 'delay-store',
    reason: 'the flag is the writer\'s last store: seeing it later only delays the message, never reorders it before the data',
  },
  {
    scenario: /^litmus-mp$/,
    where: /^scratch\[11\]$/,
    operator: 'skip-store',
    reason: 'without the flag nothing is published: the reader sees r0=0, an allowed outcome',
  },
];

export function equivalentReason(scenario: string, m: { thread: string; where: string; operator: MutationOp }): string | undefined {
  return DECLARED.find(
    (d) =>
      d.scenario.test(scenario) &&
      (typeof d.operator === 'string' ? d.operator === m.operator : d.operator.includes(m.operator)) &&
      d.where.test(m.where) &&
      (!d.thread || d.thread.test(m.thread)),
  )?.reason;
}
