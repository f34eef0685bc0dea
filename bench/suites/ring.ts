// Ring throughput, batch 16: SpscRing (put x16 + publish / available + peek + release, parked
// flags and wakeIfParked) vs the same batching written directly on an Int32Array with Atomics.
// Two workers, each side spinning (bounded) then parking: exactly two spinning threads. The two
// flavours alternate on the same pair of workers and the median round of each is kept.
import type { Benchmark } from '../lib/context.js';
import { spinnerNotes } from '../lib/context.js';
import { newBenchBlock, type RingFlavour, type RingProduced, type RingRun } from '../lib/messages.js';
import { fmtNum, makeResult } from '../lib/report.js';
import { withBenchWorkers, type BenchWorker } from '../lib/workers.js';

const CAPACITY = 64; // the net workload's ring size with the default queue depth
const BATCH = 16;
const TOTAL = 4_000_000;
const WARMUP = 500_000;
const ROUNDS = 3;
const SPIN_US = 50;

interface Round {
  rate: number;
  parks: number;
}

async function oneRound(producer: BenchWorker, consumer: BenchWorker, flavour: RingFlavour): Promise<Round> {
  const sab = newBenchBlock(CAPACITY);
  const c = consumer.call<RingRun>({ mode: 'ring-consume', sab, flavour, capacity: CAPACITY, total: TOTAL, warmup: WARMUP, spinUs: SPIN_US });
  const p = await producer.call<RingProduced>({
    mode: 'ring-produce',
    sab,
    flavour,
    capacity: CAPACITY,
    batch: BATCH,
    total: TOTAL,
    spinUs: SPIN_US,
    expectReady: 2,
  });
  const run = await c;
  if (run.checksum !== p.checksum) throw new Error(`ring ${flavour}: checksum ${run.checksum} != produced ${p.checksum} (lost or torn entries)`);
  return { rate: run.entries / (run.ms / 1000), parks: run.parks + p.parks };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

export const ringBatch16: Benchmark = {
  name: 'ring-batch16',
  title: 'SpscRing throughput, batch 16, two workers vs a bare Atomics SPSC loop, target <= 1.5x (baseline rate / ours)',
  async run(ctx) {
    const rounds = await withBenchWorkers(['producer', 'consumer'], async (producer, consumer) => {
      const out: Record<RingFlavour, Round[]> = { spsc: [], bare: [] };
      ctx.log(`ring: ${ROUNDS} rounds x 2 flavours of ${TOTAL.toLocaleString('en-US')} entries`);
      for (let r = 0; r < ROUNDS; r++)
        for (const flavour of r % 2 === 0 ? (['bare', 'spsc'] as const) : (['spsc', 'bare'] as const))
          out[flavour].push(await oneRound(producer, consumer, flavour));
      return out;
    });
    const ours = median(rounds.spsc.map((r) => r.rate));
    const base = median(rounds.bare.map((r) => r.rate));
    const line = (rs: Round[]) =>
      `median of ${rs.map((r) => fmtNum(r.rate)).join(', ')} entries/s; parks ${rs.map((r) => r.parks).join(', ')}`;
    return makeResult({
      name: this.name,
      unit: 'entries/s',
      value: ours,
      baseline: base,
      ratioOf: 'baseline/value',
      target: { op: '<=', limit: 1.5 },
      valueIs: `SpscRing, ${CAPACITY} entries, producer put x${BATCH} + publish, consumer available + peek x4 words + release`,
      baselineIs: `the same batching on a bare Int32Array with Atomics (same layout, same parked flags)`,
      spinningThreads: 2,
      detail: { value: line(rounds.spsc), baseline: line(rounds.bare), notes: spinnerNotes(ctx, 2) },
    });
  },
};
