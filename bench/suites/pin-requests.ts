// Pin-request round trips across threads (DESIGN 5):
//   sidecore-rtt         the real SlotRequester (sidecore) against the real sidecore role's polling loop
//                        vs a bare two-worker spin ping-pong on one Int32 word;
//   trap-rtt             the real SlotRequester (trap) against the real hypervisor role parked on its
//                        doorbell vs a bare Atomics.wait / notify ping-pong;
//   sidecore-vs-comlink  the sidecore round trip vs the same pin request as one comlink call.
import { MessageChannel } from 'node:worker_threads';
import type { Benchmark, BenchContext } from '../lib/context.js';
import { spinnerNotes } from '../lib/context.js';
import { newBenchBlock, type RoundTrips } from '../lib/messages.js';
import { BENCH_GFN, pinBenchMachine, servedBy, stillPinned } from '../lib/pin-machine.js';
import { describeRoundTrips, makeResult, summarise, type RoundTripSummary } from '../lib/report.js';
import { BenchWorker, RoleWorker, withBenchWorkers } from '../lib/workers.js';

const SPIN = { warmup: 20_000, count: 200_000 };
const WAIT = { warmup: 2_000, count: 20_000 };
const COMLINK = { warmup: 1_000, count: 5_000 };

interface Pair {
  ours: RoundTripSummary;
  base: RoundTripSummary;
  notes: string[];
}

const check = (rt: RoundTrips, what: string): RoundTrips => {
  if (rt.failures > 0) throw new Error(`${what}: ${rt.failures} requests answered "not pinned"`);
  return rt;
};

/** Bare spin ping-pong between two bench workers: exactly two spinning threads. */
async function spinPingPong(pinger: BenchWorker, ponger: BenchWorker, spinUs: number): Promise<RoundTrips> {
  const sab = newBenchBlock();
  const pong = ponger.call<{ served: number }>({ mode: 'spin-pong', sab, spinUs });
  const rt = await pinger.call<RoundTrips>({ mode: 'spin-ping', sab, spinUs, expectReady: 2, ...SPIN });
  await pong;
  return rt;
}

function measureSidecore(ctx: BenchContext): Promise<Pair> {
  return ctx.once('sidecore', () =>
    withBenchWorkers(['guest', 'ponger'], async (guest, ponger) => {
      const { cfg, machine, initFor } = pinBenchMachine('sidecore');
      const spinUs = cfg.notifyPath.spinUs;
      ctx.log(`sidecore: bare spin ping-pong, ${SPIN.count} round trips`);
      const base = await spinPingPong(guest, ponger, spinUs);
      await ponger.terminate(); // idle anyway; only two threads exist on the data path from here

      ctx.log(`sidecore: SlotRequester against the sidecore role, ${SPIN.count} round trips`);
      const sidecore = await RoleWorker.start(initFor('sidecore'), machine.control);
      let ours: RoundTrips;
      try {
        sidecore.run();
        ours = await guest.call<RoundTrips>({
          mode: 'pin-request',
          sab: machine.sab,
          spec: machine.spec,
          path: 'sidecore',
          gfn: BENCH_GFN,
          spinUs,
          timeoutMs: cfg.watchdogMs,
          ...SPIN,
        });
      } finally {
        await sidecore.stop();
      }
      check(ours, 'sidecore');
      const served = servedBy(machine, 'sidecore');
      if (served !== SPIN.warmup + SPIN.count) throw new Error(`sidecore served ${served} requests, expected ${SPIN.warmup + SPIN.count}`);
      if (!stillPinned(machine)) throw new Error('the benchmark page lost PINNED during the run');
      const notes = [`bare ping-pong parked ${base.parks} times in ${SPIN.count} round trips`];
      return { ours: summarise(ours), base: summarise(base), notes };
    }),
  );
}

export const sidecoreRtt: Benchmark = {
  name: 'sidecore-rtt',
  title: 'sidecore pin-request round trip vs bare two-worker spin ping-pong (median), target <= 3x',
  async run(ctx) {
    const p = await measureSidecore(ctx);
    const spinners = 2;
    return makeResult({
      name: this.name,
      unit: 'µs (p50)',
      value: p.ours.p50,
      baseline: p.base.p50,
      ratioOf: 'value/baseline',
      target: { op: '<=', limit: 3 },
      valueIs: 'SlotRequester(sidecore) -> real sidecore role (serveSlots + CoiommuHost.pin on a PINNED page), round trip',
      baselineIs: 'bare spin ping-pong on one Int32 word between two workers, round trip',
      spinningThreads: spinners,
      detail: {
        value: describeRoundTrips(p.ours),
        baseline: describeRoundTrips(p.base),
        notes: [...p.notes, ...spinnerNotes(ctx, spinners)],
      },
    });
  },
};

export const trapRtt: Benchmark = {
  name: 'trap-rtt',
  title: 'trap pin-request round trip vs bare Atomics.wait/notify ping-pong (median), target <= 1.5x',
  async run(ctx) {
    const p = await withBenchWorkers(['guest', 'ponger'], async (guest, ponger) => {
      const { cfg, machine, initFor } = pinBenchMachine('trap');
      ctx.log(`trap: bare wait/notify ping-pong, ${WAIT.count} round trips`);
      const sab = newBenchBlock();
      const pong = ponger.call<{ served: number }>({ mode: 'wait-pong', sab });
      const base = await guest.call<RoundTrips>({ mode: 'wait-ping', sab, expectReady: 2, ...WAIT });
      await pong;
      await ponger.terminate();

      ctx.log(`trap: SlotRequester against the hypervisor role, ${WAIT.count} round trips`);
      const hypervisor = await RoleWorker.start(initFor('hypervisor'), machine.control);
      let ours: RoundTrips;
      try {
        hypervisor.run();
        ours = await guest.call<RoundTrips>({
          mode: 'pin-request',
          sab: machine.sab,
          spec: machine.spec,
          path: 'trap',
          gfn: BENCH_GFN,
          spinUs: 0, // an exit stops the vCPU at once (as guest-role.ts does)
          timeoutMs: cfg.watchdogMs,
          ...WAIT,
        });
      } finally {
        await hypervisor.stop();
      }
      check(ours, 'trap');
      const served = servedBy(machine, 'hypervisor');
      if (served !== WAIT.warmup + WAIT.count) throw new Error(`hypervisor served ${served} requests, expected ${WAIT.warmup + WAIT.count}`);
      if (!stillPinned(machine)) throw new Error('the benchmark page lost PINNED during the run');
      return { ours: summarise(ours), base: summarise(base) };
    });
    return makeResult({
      name: this.name,
      unit: 'µs (p50)',
      value: p.ours.p50,
      baseline: p.base.p50,
      ratioOf: 'value/baseline',
      target: { op: '<=', limit: 1.5 },
      valueIs: 'SlotRequester(trap) -> real hypervisor role (parked on the host doorbell, serveSlots + CoiommuHost.pin), round trip',
      baselineIs: 'bare Atomics.wait/notify ping-pong between two workers, round trip',
      spinningThreads: 0,
      detail: { value: describeRoundTrips(p.ours), baseline: describeRoundTrips(p.base) },
    });
  },
};

export const sidecoreVsComlink: Benchmark = {
  name: 'sidecore-vs-comlink',
  title: 'sidecore pin-request round trip vs the same request as one comlink call (median), target >= 20x faster',
  async run(ctx) {
    const side = await measureSidecore(ctx);
    const comlink = await withBenchWorkers(['guest', 'host'], async (guest, host) => {
      const { machine } = pinBenchMachine('sidecore');
      ctx.log(`comlink: one comlink call per pin request, ${COMLINK.count} round trips`);
      const { port1, port2 } = new MessageChannel();
      await host.call({ mode: 'pin-comlink-host', sab: machine.sab, spec: machine.spec, port: port1 }, [port1]);
      const rt = await guest.call<RoundTrips>({ mode: 'pin-comlink-guest', port: port2, gfn: BENCH_GFN, ...COMLINK }, [port2]);
      check(rt, 'comlink');
      if (!stillPinned(machine)) throw new Error('the benchmark page lost PINNED during the run');
      return summarise(rt);
    });
    return makeResult({
      name: this.name,
      unit: 'µs (p50)',
      value: side.ours.p50,
      baseline: comlink.p50,
      ratioOf: 'baseline/value',
      target: { op: '>=', limit: 20 },
      valueIs: 'sidecore pin-request round trip (the sidecore-rtt figure)',
      baselineIs: 'comlink call per request, worker to worker over a MessageChannel (CoiommuHost.pin in the callee)',
      spinningThreads: 2,
      detail: {
        value: describeRoundTrips(side.ours),
        baseline: describeRoundTrips(comlink),
        notes: ['the comlink side has no spinning thread (both event loops sleep between messages)'],
      },
    });
  },
};
