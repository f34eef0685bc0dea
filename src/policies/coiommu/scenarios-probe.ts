// The shipped coIOMMU's probe (coiommu_enable_dtt) raced by two vCPUs: nothing is enabled at the
// start, each vCPU's driver probes before its first map. The first claims the level register (-1
// while it allocates the root), the other waits until the register holds the level; then both map.
import { CO } from './region.js';
import type { Scenario, ThreadCtx } from '../../core/scenario.js';
import { hostThread } from '../scenario-kit.js';
import { SAFETY, safety } from './shipped-scenarios.js';
import { shippedHost, shippedMapDmaUnmap, shippedSpec } from './shipped-parts.js';

const NOT_ENABLED = 'the DTT is not enabled at the end (level register not the table depth, or no root)';
const OUT = {
  oneLeaf: 'one vCPU probed and installed the leaf, the other found both',
  twoLeaves: 'both vCPUs allocated a leaf after the probe: the CAS loser gave its page back',
} as const;

const probeRace: Scenario = {
  name: 'coiommu-probe-race',
  description:
    'No DTT yet: two vCPUs probe the coIOMMU at once (claim the level register with a CAS, allocate the root, ' +
    'publish root then level; a loser waits for the level), then map pages 1 and 2, DMA and unmap. Both must ' +
    'walk from the one root the host walks; the final tree, pins and payloads are checked.',
  threads: ['vcpu0', 'vcpu1', 'pin-handler'],
  variants: ['none', 'probe-level-before-root'],
  budget: 250,
  spec: shippedSpec(2),
  setup: () => {}, // memory is zeroed: level register 0, no root
  run(ctx: ThreadCtx) {
    if (ctx.thread < 2) return shippedMapDmaUnmap(ctx, ctx.thread, 1 + ctx.thread);
    return hostThread(ctx, 2, shippedHost(ctx).coiommu);
  },
  outcome(results, m) {
    const bad = safety(m, results, 3, [
      [0, 1],
      [1, 2],
    ]);
    if (bad) return bad;
    if (Atomics.load(m.coiommu, CO.DTT_LEVEL) <= 0 || Atomics.load(m.coiommu, CO.DTT_ROOT_LO) === 0) return NOT_ENABLED;
    // pages taken from the pool: the root and one leaf, plus one a CAS loser gave back
    return Atomics.load(m.coiommu, CO.POOL_NEXT) > 2 ? OUT.twoLeaves : OUT.oneLeaf;
  },
  outcomes: {
    [OUT.oneLeaf]: 'ACCEPTABLE',
    [OUT.twoLeaves]: 'INTERESTING',
    [NOT_ENABLED]: 'FORBIDDEN',
    ...SAFETY,
  },
  mustReach: [OUT.oneLeaf, OUT.twoLeaves],
};

export const COIOMMU_PROBE_SCENARIOS: readonly Scenario[] = [probeRace];
