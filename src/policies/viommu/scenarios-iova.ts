// The IOVA allocator across two vCPUs (after Linux's iova rcache): each vCPU allocates three IOVAs,
// frees them (its 2-entry magazine fills and spills to the shared depot), allocates three again
// (refilling from the depot, possibly with what the other vCPU spilled) and frees them. No IOVA may
// be handed out while another holder still has it. The holders are tracked by the observer in the
// scenario's scratch words (plain Atomics: not part of the schedule).
import type { Scenario, ThreadCtx } from '../../core/scenario.js';
import { vcpuDone } from '../scenario-kit.js';
import { IovaAllocator } from './iova-allocator.js';

const MAGAZINE = 2;
const ROUNDS = 2;
const PER_ROUND = 3;
/** Scratch: live holders of each IOVA (LIVE + iova), and who held it last (OWNER + iova: vcpu + 1). */
const LIVE = 8;
const OWNER = 24;
const IOVAS = 8;
/** vCPU result bits. */
const R = { TWICE: 1, FROM_OTHER: 2, EXHAUSTED: 4 } as const;

function vcpuThread(ctx: ThreadCtx): number {
  const { mem, m, scratch, thread } = ctx;
  const iovas = new IovaAllocator(mem, m, MAGAZINE, 30_000, undefined, ctx.variant === 'iova-refill-unlocked');
  let res = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const held: number[] = [];
    for (let k = 0; k < PER_ROUND; k++) {
      const iova = iovas.alloc(1);
      if (iova < 0) {
        res |= R.EXHAUSTED;
        continue;
      }
      if (Atomics.add(scratch, LIVE + iova, 1) > 0) res |= R.TWICE;
      const last = Atomics.exchange(scratch, OWNER + iova, thread + 1);
      if (last !== 0 && last !== thread + 1) res |= R.FROM_OTHER;
      held.push(iova);
    }
    for (const iova of held) {
      Atomics.sub(scratch, LIVE + iova, 1); // the holder lets go before the allocator has it back
      iovas.free(iova, 1);
    }
  }
  vcpuDone(ctx);
  return res;
}

const OUT = {
  own: 'each vCPU got back only IOVAs it had freed itself',
  other: 'a vCPU refilled its magazine with IOVAs the other vCPU spilled to the depot',
  twice: 'an IOVA was handed out while another holder still had it',
  exhausted: 'the IOVA space ran out (an IOVA lost on the way?)',
} as const;

const twoVcpus: Scenario = {
  name: 'viommu-iova-two-vcpus',
  budget: 60,
  description:
    'Two vCPUs allocate and free IOVAs through their own 2-entry magazines and the shared depot (spill and ' +
    'refill under the IOVA lock) over an 8-page IOVA space; no IOVA may be handed out twice while live.',
  threads: ['vcpu0', 'vcpu1'],
  variants: ['none', 'iova-refill-unlocked'],
  spec: { guestPages: 4, vcpus: 2, hostFrames: 4, dataFrames: 4, ringEntries: 2, iovaPages: IOVAS, invqEntries: 4 },
  setup() {},
  run: vcpuThread,
  outcome(results) {
    const any = (bit: number) => results.some((r) => (r & bit) !== 0);
    if (any(R.TWICE)) return OUT.twice;
    if (any(R.EXHAUSTED)) return OUT.exhausted;
    return any(R.FROM_OTHER) ? OUT.other : OUT.own;
  },
  outcomes: { [OUT.own]: 'ACCEPTABLE', [OUT.other]: 'INTERESTING', [OUT.twice]: 'FORBIDDEN', [OUT.exhausted]: 'FORBIDDEN' },
  mustReach: [OUT.own, OUT.other],
};

export const VIOMMU_IOVA_SCENARIOS: readonly Scenario[] = [twoVcpus];
