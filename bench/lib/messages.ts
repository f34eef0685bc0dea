// What the bench runner (main thread) and the bench worker (`workers/bench.ts`) say to each other.
// One worker entry, many modes: each request names a mode; the worker runs it to the end and
// answers with the same id. Data-path coordination between two bench workers goes through a
// small SharedArrayBuffer (the "bench block"), never through messages.
import type { MessagePort } from 'node:worker_threads';
import { ringWords, type MachineSpec } from '../../src/machine/layout.js';
import type { NotifyPath } from '../../src/core/types.js';

// ---- the bench block: Int32 words, each group on its own 64-byte line ----
export const BB = {
  /** Workers that reached their measuring loop (a start barrier). */
  READY: 0,
  /** The ping-pong word (one Int32: odd = ping, even = pong, STOP_VALUE = stop). */
  PING: 16,
  /** Parked flags beside the ping word (same line, as in a notify slot). */
  PINGER_PARKED: 17,
  PONGER_PARKED: 18,
  /** The ring under test (SpscRing layout: tail line, head line, entries). */
  RING: 32,
} as const;
export const STOP_VALUE = -1;
/** Words of a bench block holding a ring of `ringCapacity` entries (0: no ring). */
export const benchBlockWords = (ringCapacity: number): number => BB.RING + (ringCapacity > 0 ? ringWords(ringCapacity) : 0);
export const newBenchBlock = (ringCapacity = 0): SharedArrayBuffer => new SharedArrayBuffer(benchBlockWords(ringCapacity) * 4);
/** The ring's words inside a bench block. */
export const ringView = (sab: SharedArrayBuffer, capacity: number): Int32Array => new Int32Array(sab, BB.RING * 4, ringWords(capacity));

/** A round-trip loop's answer: an encoded hdr histogram (ns) and the loop's wall time. */
export interface RoundTrips {
  histogram: string;
  count: number;
  totalMs: number;
  /** Requests whose answer said "not pinned" (must be 0). */
  failures: number;
  /** Times the measuring side gave up spinning and parked (spin baselines only). */
  parks: number;
}

export interface RingRun {
  /** Entries received in the timed part of the run. */
  entries: number;
  ms: number;
  /** Sum of every entry word received: checked against the producer's sum. */
  checksum: number;
  parks: number;
}

export interface RingProduced {
  checksum: number;
  parks: number;
}

export type RingFlavour = 'spsc' | 'bare';

export type BenchRequest =
  | { mode: 'spin-ping'; sab: SharedArrayBuffer; warmup: number; count: number; spinUs: number; expectReady: number }
  | { mode: 'spin-pong'; sab: SharedArrayBuffer; spinUs: number }
  | { mode: 'wait-ping'; sab: SharedArrayBuffer; warmup: number; count: number; expectReady: number }
  | { mode: 'wait-pong'; sab: SharedArrayBuffer }
  | {
      mode: 'pin-request';
      sab: SharedArrayBuffer;
      spec: MachineSpec;
      path: NotifyPath;
      gfn: number;
      spinUs: number;
      timeoutMs: number;
      warmup: number;
      count: number;
    }
  | {
      /** viommu-strict map + unmap of one page, in a loop: the host served by a role (trap,
       * sidecore) or run inline on this thread ('inline': no vIOMMU exit, no other thread). */
      mode: 'viommu-map';
      sab: SharedArrayBuffer;
      spec: MachineSpec;
      path: NotifyPath | 'inline';
      gfn: number;
      spinUs: number;
      timeoutMs: number;
      warmup: number;
      count: number;
    }
  | { mode: 'pin-comlink-host'; sab: SharedArrayBuffer; spec: MachineSpec; port: MessagePort }
  | { mode: 'pin-comlink-guest'; port: MessagePort; gfn: number; warmup: number; count: number }
  | {
      mode: 'ring-produce';
      sab: SharedArrayBuffer;
      flavour: RingFlavour;
      capacity: number;
      batch: number;
      total: number;
      spinUs: number;
      expectReady: number;
    }
  | {
      mode: 'ring-consume';
      sab: SharedArrayBuffer;
      flavour: RingFlavour;
      capacity: number;
      total: number;
      warmup: number;
      spinUs: number;
    };

export type BenchMode = BenchRequest['mode'];

export interface BenchEnvelope {
  id: number;
  request: BenchRequest;
}

export type BenchReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };
