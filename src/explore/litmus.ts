// Memory-model litmus tests (Sewell et al.'s x86-TSO suite) run by the same controlled executor
// as the protocol scenarios, on two scratch words X and Y, both 0 at the start.
//   SB (store buffering): T0: X=1; r0=Y   T1: Y=1; r1=X. r0=r1=0 is impossible under SC and
//       allowed under TSO (each store still sits in its thread's buffer); a fence between each
//       store and load forbids it again.
//   MP (message passing): T0: X=1; Y=1   T1: r0=Y; r1=X. r0=1, r1=0 is impossible under SC and
//       under TSO (store buffers are FIFO, loads are not reordered with loads).
import type { Scenario, ThreadCtx, Verdict } from '../core/scenario.js';

const X = 10;
const Y = 11;
const SPEC = { guestPages: 1, vcpus: 1, hostFrames: 1, dataFrames: 1, ringEntries: 2 };
const RELAXED_SB = 'r0=0 r1=0: both loads missed the other thread\'s store (store buffering)';
const RELAXED_MP = 'r0=1 r1=0: the flag was seen before the data it publishes';

const outcomeOf = (r: number[]): string => `r0=${r[0]} r1=${r[1]}`;
const table = (relaxed: string, verdict: Verdict, rest: string[]): Record<string, Verdict> =>
  Object.fromEntries([[relaxed, verdict], ...rest.map((o) => [o, 'ACCEPTABLE' as Verdict])]);

function sb(fenced: boolean): Scenario {
  return {
    name: fenced ? 'litmus-sb-fenced' : 'litmus-sb',
    description: fenced
      ? 'Store buffering with a fence between each store and load: r0=r1=0 is forbidden under SC and TSO.'
      : 'Store buffering: r0=r1=0 is impossible under SC, allowed (INTERESTING) under x86-TSO.',
    threads: ['t0', 't1'],
    variants: ['none'],
    spec: SPEC,
    setup() {},
    run({ mem, scratch, thread }: ThreadCtx) {
      const [mine, other] = thread === 0 ? [X, Y] : [Y, X];
      mem.store(scratch, mine, 1);
      if (fenced) mem.fence();
      const r = mem.load(scratch, other);
      mem.store(scratch, 20 + thread, r);
      return r;
    },
    outcome: (r) => (r[0] === 0 && r[1] === 0 ? RELAXED_SB : outcomeOf(r)),
    outcomes: table(RELAXED_SB, fenced ? 'FORBIDDEN' : 'INTERESTING', ['r0=0 r1=1', 'r0=1 r1=0', 'r0=1 r1=1']),
  };
}

const mp: Scenario = {
  name: 'litmus-mp',
  description: 'Message passing: r0=1 r1=0 (flag seen, data not) is forbidden under SC and under x86-TSO.',
  threads: ['writer', 'reader'],
  variants: ['none'],
  spec: SPEC,
  setup() {},
  run({ mem, scratch, thread }: ThreadCtx) {
    if (thread === 0) {
      mem.store(scratch, X, 1);
      mem.store(scratch, Y, 1);
      return 0;
    }
    const r0 = mem.load(scratch, Y);
    const r1 = mem.load(scratch, X);
    return r0 * 2 + r1;
  },
  outcome: (r) => {
    const out = [r[1] >> 1, r[1] & 1];
    return out[0] === 1 && out[1] === 0 ? RELAXED_MP : outcomeOf(out);
  },
  outcomes: table(RELAXED_MP, 'FORBIDDEN', ['r0=0 r1=0', 'r0=0 r1=1', 'r0=1 r1=1']),
};

export const LITMUS_SCENARIOS: readonly Scenario[] = [sb(false), sb(true), mp];
