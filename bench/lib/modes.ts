// The bench worker's modes (run inside `workers/bench.ts`). Each measuring loop times every round
// trip with performance.now() and records it (ns) into an hdr histogram *outside* the timed part.
// Every wait is a bounded spin followed by Atomics.wait, so a descheduled peer costs a park, not a
// burnt core.
import * as Comlink from 'comlink';
import type { MessagePort } from 'node:worker_threads';
import { RING, STAT } from '../../src/machine/layout.js';
import { Machine } from '../../src/machine/machine.js';
import { freeRunning } from '../../src/machine/shared-mem.js';
import { InvalidationQueue } from '../../src/notify/invalidation-queue.js';
import { SlotRequester } from '../../src/notify/pin-request.js';
import { IovaAllocator } from '../../src/policies/viommu/iova-allocator.js';
import { ViommuGuest } from '../../src/policies/viommu/guest.js';
import { viommuHost } from '../../src/policies/viommu/host.js';
import { buildHost } from '../../src/policies/wiring.js';
import { SpscRing } from '../../src/notify/ring.js';
import { coiommuHost, type CoiommuHost } from '../../src/policies/coiommu/host.js';
import { defaultScenario } from '../../src/lab/config.js';
import { nodeEndpoint } from '../../src/core/comlink-node.js';
import { encodeHistogram, newHistogram, type Histogram } from '../../src/core/latency.js';
import { bareAwaitChange, bareParks, resetBareParks } from './bare.js';
import { BB, STOP_VALUE, ringView, type BenchRequest, type RingProduced, type RingRun, type RoundTrips } from './messages.js';

const now = (): number => performance.now();
const ns = (ms: number): number => Math.max(1, Math.round(ms * 1e6));

/** The pin handling a comlink call does, the same as one raised notify slot served by serveSlots. */
export interface PinService {
  /** Pin each page; returns how many could not be pinned (the slot's STATUS). */
  pin(gfns: number[]): number;
}

/** Start barrier: count this worker in, then sleep (never spin) until `expect` workers are in. */
function arriveAndWait(w: Int32Array, expect: number): void {
  Atomics.add(w, BB.READY, 1);
  Atomics.notify(w, BB.READY);
  const deadline = now() + 30_000;
  for (let seen = Atomics.load(w, BB.READY); seen < expect; seen = Atomics.load(w, BB.READY)) {
    Atomics.wait(w, BB.READY, seen, 20);
    if (now() > deadline) throw new Error(`start barrier: ${seen} of ${expect} workers arrived in 30 s`);
  }
}

function arrive(w: Int32Array): void {
  Atomics.add(w, BB.READY, 1);
  Atomics.notify(w, BB.READY);
}

function roundTrips(hist: Histogram, count: number, totalMs: number, failures = 0, parks = 0): RoundTrips {
  return { histogram: encodeHistogram(hist), count, totalMs, failures, parks };
}

// ---- bare spin ping-pong on one Int32 word -------------------------------------------------------

function spinPing(r: Extract<BenchRequest, { mode: 'spin-ping' }>): RoundTrips {
  const w = new Int32Array(r.sab);
  arriveAndWait(w, r.expectReady);
  const hist = newHistogram();
  let v = Atomics.load(w, BB.PING);
  const once = (): number => {
    const t0 = now();
    const ping = v + 1;
    Atomics.store(w, BB.PING, ping);
    if (Atomics.load(w, BB.PONGER_PARKED) !== 0) Atomics.notify(w, BB.PING);
    v = bareAwaitChange(w, BB.PING, ping, r.spinUs, BB.PINGER_PARKED);
    return now() - t0;
  };
  for (let i = 0; i < r.warmup; i++) once();
  resetBareParks();
  const start = now();
  for (let i = 0; i < r.count; i++) hist.recordValue(ns(once()));
  const total = now() - start;
  const parks = bareParks;
  Atomics.store(w, BB.PING, STOP_VALUE);
  Atomics.notify(w, BB.PING);
  return roundTrips(hist, r.count, total, 0, parks);
}

function spinPong(r: Extract<BenchRequest, { mode: 'spin-pong' }>): { served: number } {
  const w = new Int32Array(r.sab);
  let last = Atomics.load(w, BB.PING);
  arrive(w);
  let served = 0;
  for (;;) {
    const v = bareAwaitChange(w, BB.PING, last, r.spinUs, BB.PONGER_PARKED);
    if (v === STOP_VALUE) break;
    last = v + 1;
    Atomics.store(w, BB.PING, last);
    if (Atomics.load(w, BB.PINGER_PARKED) !== 0) Atomics.notify(w, BB.PING);
    served++;
  }
  return { served };
}

// ---- bare Atomics.wait / notify ping-pong ----------------------------------------------------------

function waitPing(r: Extract<BenchRequest, { mode: 'wait-ping' }>): RoundTrips {
  const w = new Int32Array(r.sab);
  arriveAndWait(w, r.expectReady);
  const hist = newHistogram();
  let v = Atomics.load(w, BB.PING);
  const once = (): number => {
    const t0 = now();
    const ping = v + 1;
    Atomics.store(w, BB.PING, ping);
    Atomics.notify(w, BB.PING, 1);
    const deadline = t0 + 5000;
    while ((v = Atomics.load(w, BB.PING)) === ping) {
      Atomics.wait(w, BB.PING, ping, 100);
      if (now() > deadline) throw new Error('wait/notify ping-pong: no answer in 5 s');
    }
    return now() - t0;
  };
  for (let i = 0; i < r.warmup; i++) once();
  const start = now();
  for (let i = 0; i < r.count; i++) hist.recordValue(ns(once()));
  const total = now() - start;
  Atomics.store(w, BB.PING, STOP_VALUE);
  Atomics.notify(w, BB.PING);
  return roundTrips(hist, r.count, total);
}

function waitPong(r: Extract<BenchRequest, { mode: 'wait-pong' }>): { served: number } {
  const w = new Int32Array(r.sab);
  let last = Atomics.load(w, BB.PING);
  arrive(w);
  let served = 0;
  for (;;) {
    let v: number;
    while ((v = Atomics.load(w, BB.PING)) === last) Atomics.wait(w, BB.PING, last, 100);
    if (v === STOP_VALUE) break;
    last = v + 1;
    Atomics.store(w, BB.PING, last);
    Atomics.notify(w, BB.PING, 1);
    served++;
  }
  return { served };
}

// ---- the real pin request (guest side) -------------------------------------------------------------

function pinRequest(r: Extract<BenchRequest, { mode: 'pin-request' }>): RoundTrips {
  const m = new Machine(r.sab, r.spec);
  const requester = new SlotRequester(r.path, freeRunning, m, 0, r.spinUs, r.timeoutMs, m.guestStats(0));
  const gfns = new Int32Array([r.gfn]);
  const hist = newHistogram();
  let failures = 0;
  const once = (): number => {
    const t0 = now();
    if (requester.request(gfns, 1) !== 0) failures++;
    return now() - t0;
  };
  for (let i = 0; i < r.warmup; i++) once();
  const start = now();
  for (let i = 0; i < r.count; i++) hist.recordValue(ns(once()));
  return roundTrips(hist, r.count, now() - start, failures);
}

// ---- vIOMMU (un)map: viommu-strict map + unmap of one page ---------------------------------------

function viommuMap(r: Extract<BenchRequest, { mode: 'viommu-map' }>): RoundTrips {
  const m = new Machine(r.sab, r.spec);
  const stats = m.guestStats(0);
  const cfg = defaultScenario();
  const queue = new InvalidationQueue(r.path === 'inline' ? 'trap' : r.path, freeRunning, m, 0, r.spinUs, r.timeoutMs, stats);
  if (r.path === 'inline') {
    // No vIOMMU exit and no other thread: the host's handling runs right here, as a bare-metal
    // driver would program its IOMMU itself.
    const host = buildHost({ host: viommuHost }, freeRunning, m, cfg, m.statsBlock(0), r.timeoutMs).policy!;
    queue.onTailWrite = () => void host.serve();
  }
  const guest = new ViommuGuest(freeRunning, m, queue, new IovaAllocator(freeRunning, m), 'strict', cfg.viommu, stats);
  const hist = newHistogram();
  let failures = 0;
  const once = (): number => {
    const t0 = now();
    const iova = guest.map(r.gfn, 1);
    if (iova < 0) failures++;
    else guest.unmap(iova, r.gfn, 1);
    return now() - t0;
  };
  for (let i = 0; i < r.warmup; i++) once();
  const start = now();
  for (let i = 0; i < r.count; i++) hist.recordValue(ns(once()));
  return roundTrips(hist, r.count, now() - start, failures);
}

// ---- the same request as a comlink call --------------------------------------------------------------

function pinComlinkHost(r: Extract<BenchRequest, { mode: 'pin-comlink-host' }>): { serving: true } {
  const m = new Machine(r.sab, r.spec);
  const stats = m.statsBlock(0);
  const cfg = defaultScenario();
  const host = buildHost({ host: coiommuHost }, freeRunning, m, cfg, stats).policy as CoiommuHost;
  const service: PinService = {
    pin(gfns) {
      let failed = 0;
      for (const g of gfns) if (!host.pin(g)) failed++;
      stats[STAT.REQUESTS_SERVED]++;
      return failed;
    },
  };
  Comlink.expose(service, nodeEndpoint(r.port));
  return { serving: true };
}

async function pinComlinkGuest(r: Extract<BenchRequest, { mode: 'pin-comlink-guest' }>): Promise<RoundTrips> {
  const port: MessagePort = r.port;
  const remote = Comlink.wrap<PinService>(nodeEndpoint(port));
  const hist = newHistogram();
  const gfns = [r.gfn];
  let failures = 0;
  try {
    for (let i = 0; i < r.warmup; i++) await remote.pin(gfns);
    const start = now();
    for (let i = 0; i < r.count; i++) {
      const t0 = now();
      if ((await remote.pin(gfns)) !== 0) failures++;
      hist.recordValue(ns(now() - t0));
    }
    return roundTrips(hist, r.count, now() - start, failures);
  } finally {
    remote[Comlink.releaseProxy]();
    port.close();
  }
}

// ---- ring throughput: SpscRing vs the same batching on a bare Int32Array ---------------------------

function ringProduce(r: Extract<BenchRequest, { mode: 'ring-produce' }>): RingProduced {
  const w = new Int32Array(r.sab);
  const words = ringView(r.sab, r.capacity);
  arriveAndWait(w, r.expectReady);
  let sum = 0;
  let seq = 0;
  let parks = 0;
  const { batch, total, spinUs } = r;
  if (r.flavour === 'spsc') {
    const mem = freeRunning;
    const ring = new SpscRing(mem, words, r.capacity);
    const entry = new Int32Array(RING.ENTRY_WORDS);
    for (let sent = 0; sent < total; sent += batch) {
      while (ring.space() < batch) {
        const head = ring.released.value();
        if (ring.space() >= batch) break;
        if (!ring.released.spin(head, spinUs)) {
          parks++;
          ring.released.awaitChange(head, 20);
        }
      }
      for (let k = 0; k < batch; k++, seq++) {
        entry[0] = seq;
        entry[1] = ~seq;
        entry[2] = k;
        entry[3] = (seq * 3) | 0;
        ring.put(entry);
        sum = (sum + seq + ~seq + k + ((seq * 3) | 0)) | 0;
      }
      ring.publish();
      ring.published.wake();
    }
  } else {
    const mask = r.capacity - 1;
    let tail = Atomics.load(words, RING.TAIL);
    resetBareParks();
    for (let sent = 0; sent < total; sent += batch) {
      let head = Atomics.load(words, RING.HEAD);
      while (r.capacity - ((tail - head) | 0) < batch) head = bareAwaitChange(words, RING.HEAD, head, spinUs, RING.PRODUCER_PARKED);
      for (let k = 0; k < batch; k++, seq++) {
        const base = RING.ENTRIES + (tail & mask) * RING.ENTRY_WORDS;
        Atomics.store(words, base, seq);
        Atomics.store(words, base + 1, ~seq);
        Atomics.store(words, base + 2, k);
        Atomics.store(words, base + 3, (seq * 3) | 0);
        tail = (tail + 1) | 0;
        sum = (sum + seq + ~seq + k + ((seq * 3) | 0)) | 0;
      }
      Atomics.store(words, RING.TAIL, tail);
      if (Atomics.load(words, RING.CONSUMER_PARKED) !== 0) Atomics.notify(words, RING.TAIL);
    }
    parks = bareParks;
  }
  return { checksum: sum, parks };
}

function ringConsume(r: Extract<BenchRequest, { mode: 'ring-consume' }>): RingRun {
  const w = new Int32Array(r.sab);
  const words = ringView(r.sab, r.capacity);
  arrive(w);
  const { total, warmup, spinUs } = r;
  let sum = 0;
  let got = 0;
  let parks = 0;
  let t0 = 0;
  let from = -1;
  if (r.flavour === 'spsc') {
    const mem = freeRunning;
    const ring = new SpscRing(mem, words, r.capacity);
    while (got < total) {
      const n = ring.available();
      if (n === 0) {
        const tail = ring.published.value();
        if (ring.available() > 0) continue;
        if (!ring.published.spin(tail, spinUs)) {
          parks++;
          ring.published.awaitChange(tail, 20);
        }
        continue;
      }
      for (let i = 0; i < n; i++) sum = (sum + ring.peek(i, 0) + ring.peek(i, 1) + ring.peek(i, 2) + ring.peek(i, 3)) | 0;
      ring.release(n);
      ring.released.wake();
      got += n;
      if (from < 0 && got >= warmup) {
        from = got;
        t0 = now();
      }
    }
  } else {
    const mask = r.capacity - 1;
    let head = Atomics.load(words, RING.HEAD);
    let tail = Atomics.load(words, RING.TAIL);
    resetBareParks();
    while (got < total) {
      if (tail === head) tail = bareAwaitChange(words, RING.TAIL, tail, spinUs, RING.CONSUMER_PARKED);
      const n = (tail - head) | 0;
      for (let i = 0; i < n; i++) {
        const base = RING.ENTRIES + ((head + i) & mask) * RING.ENTRY_WORDS;
        sum =
          (sum +
            Atomics.load(words, base) +
            Atomics.load(words, base + 1) +
            Atomics.load(words, base + 2) +
            Atomics.load(words, base + 3)) |
          0;
      }
      head = (head + n) | 0;
      Atomics.store(words, RING.HEAD, head);
      if (Atomics.load(words, RING.PRODUCER_PARKED) !== 0) Atomics.notify(words, RING.HEAD);
      got += n;
      if (from < 0 && got >= warmup) {
        from = got;
        t0 = now();
      }
      tail = Atomics.load(words, RING.TAIL);
    }
    parks = bareParks;
  }
  return { entries: got - from, ms: now() - t0, checksum: sum, parks };
}

/** Run one request to the end (the worker's thread is busy meanwhile). */
export async function runMode(r: BenchRequest): Promise<unknown> {
  switch (r.mode) {
    case 'spin-ping':
      return spinPing(r);
    case 'spin-pong':
      return spinPong(r);
    case 'wait-ping':
      return waitPing(r);
    case 'wait-pong':
      return waitPong(r);
    case 'pin-request':
      return pinRequest(r);
    case 'viommu-map':
      return viommuMap(r);
    case 'pin-comlink-host':
      return pinComlinkHost(r);
    case 'pin-comlink-guest':
      return pinComlinkGuest(r);
    case 'ring-produce':
      return ringProduce(r);
    case 'ring-consume':
      return ringConsume(r);
  }
}
