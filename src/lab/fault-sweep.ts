// The fail-nth sweep (as the Linux iommufd selftests do): run a short deterministic scenario once
// counting its failure points, then once per point and ordinal, failing exactly the Nth time that
// point is reached. Every run must end with clean accounting, nothing lost and every DMA done.
import type { FailurePoint } from '../core/faults/kinds.js';
import { POINT_KIND } from '../core/faults/kinds.js';
import type { RunReport } from '../core/types.js';
import { resolveScenario, type PartialScenario } from './config.js';
import { runScenario } from './orchestrator.js';
import type { ScenarioConfig } from './scenario.js';

export interface SweepScenario {
  help: string;
  partial: PartialScenario;
  /** The points failed in turn (a point the protocol has no failure path for is only counted). */
  points: FailurePoint[];
}

/** A tiny guest: one-page buffers in turn, one in flight, no host memory limit. */
const tinyGuest = (policy: string, notify: string, ops: number, extra: PartialScenario = {}): PartialScenario => ({
  policy,
  notify,
  guestPages: 1024,
  ops,
  durationMs: 60_000,
  drainMs: 20,
  net: { queueDepth: 1, batch: 1, reuseDistance: 1, rotateMs: 0 },
  host: { memoryPages: 0 },
  ...extra,
});

/** A tiny coIOMMU guest: 2 one-page buffers in turn, so every point is reached twice. */
const coiommuMap = (notify: string, extra: PartialScenario = {}): PartialScenario => tinyGuest('coiommu', notify, 12, extra);

const MAP_PATH: FailurePoint[] = ['slot-write', 'pin', 'iommu-map', 'frame-alloc'];

/**
 * A tiny vIOMMU guest: 2 one-page buffers in turn, 4 DMAs. Every map submits an invalidation the
 * host shadows (and pins) the page on; strict: every unmap submits one too and unpins.
 */
const viommuMap = (policy: string, notify: string): PartialScenario => tinyGuest(policy, notify, 4);

const SHADOW_PATH: FailurePoint[] = ['queue-submit', 'pin', 'iommu-map', 'frame-alloc'];

export const SWEEP_SCENARIOS: Record<string, SweepScenario> = {
  'coiommu-map': {
    help: 'coIOMMU map path on the trap path: 1 vCPU, 2 one-page buffers, 12 DMAs (slot writes, pins, IOMMU maps, frame allocations)',
    partial: coiommuMap('trap'),
    points: MAP_PATH,
  },
  'coiommu-map-sidecore': {
    help: 'the same map path on the sidecore path',
    partial: coiommuMap('sidecore'),
    points: MAP_PATH,
  },
  'coiommu-rotate': {
    help: 'coIOMMU with the pool moving every 20 us of virtual time, a 1 ms unpin scan and a 16-page host budget: pins, lazy unpins, reclaim and restore, 40 DMAs',
    partial: coiommuMap('trap', { ops: 40, net: { queueDepth: 2, batch: 1, reuseDistance: 2, rotateMs: 0.02 }, host: { memoryPages: 16 }, coiommu: { unpinIntervalMs: 1 } }),
    points: MAP_PATH,
  },
  'viommu-map': {
    help: 'vIOMMU (strict) on the trap path: 1 vCPU, 2 one-page buffers, 4 DMAs (invalidation-queue submissions of maps and unmaps, shadow pins, IOMMU maps, frame allocations)',
    partial: viommuMap('viommu-strict', 'trap'),
    points: SHADOW_PATH,
  },
  'viommu-lazy': {
    help: "vIOMMU with a flush queue on the sidecore path: the same, the unmaps' invalidations deferred to one batch",
    partial: viommuMap('viommu-lazy', 'sidecore'),
    points: SHADOW_PATH,
  },
};

export interface SweepRun {
  point: FailurePoint;
  n: number;
  ok: boolean;
  problem?: string;
  mapFailures: number;
  /** Refused teardown submissions the guest submitted again (queue-submit). */
  resubmitted: number;
}

export interface SweepResult {
  scenario: string;
  counts: Record<FailurePoint, number>;
  runs: SweepRun[];
}

const resubmittedOf = (r: RunReport): number => r.injectedFaults?.byKind['queue-error']?.resubmitted ?? 0;

/** Why the run failing `point` the `n`th time (none: the counting run) is not clean, or undefined. */
function check(r: RunReport, cfg: ScenarioConfig, point: FailurePoint | undefined): string | undefined {
  const v = r.violations;
  const bad = Object.entries(v).filter(([k, n]) => k !== 'first' && typeof n === 'number' && n > 0);
  if (bad.length > 0) return `violations ${JSON.stringify(Object.fromEntries(bad))}`;
  if (r.teardownLeftovers.length > 0) return `teardown left: ${r.teardownLeftovers.join('; ')}`;
  if (r.dmaOps !== cfg.ops) return `${r.dmaOps} of ${cfg.ops} DMAs done`;
  const kind = point && POINT_KIND[point];
  if (!kind) return r.mapFailures > 0 ? `${r.mapFailures} map failures with nothing injected` : undefined;
  const injected = r.injectedFaults?.byKind[kind]?.injected ?? 0;
  if (injected !== 1) return `the failure was injected ${injected} times, not once`;
  // the one failure is handled once: a failed map the driver retries, or a teardown submitted again
  const handled = r.mapFailures + resubmittedOf(r);
  if (handled !== 1) return handled === 0 ? 'the failure never reached the guest as a failed map' : `one failure handled ${handled} times`;
  return undefined;
}

export async function sweep(name: string, onRun?: (r: SweepRun, done: number, total: number) => void, points?: FailurePoint[]): Promise<SweepResult> {
  const sc = SWEEP_SCENARIOS[name];
  const counting = resolveScenario({ ...sc.partial, faults: { failNth: { point: 'pin', n: 0 } } });
  const first = await runScenario(counting);
  const counts = first.injectedFaults!.points;
  const problem = check(first, counting, undefined);
  if (problem) throw new Error(`sweep ${name}: the counting run is not clean: ${problem}`);
  const todo = (points ?? sc.points).flatMap((point) => Array.from({ length: counts[point] }, (_, i) => ({ point, n: i + 1 })));
  const runs: SweepRun[] = [];
  for (const { point, n } of todo) {
    const cfg = resolveScenario({ ...sc.partial, faults: { failNth: { point, n } } });
    let run: SweepRun;
    try {
      const r = await runScenario(cfg);
      const why = check(r, cfg, point);
      run = { point, n, ok: why === undefined, problem: why, mapFailures: r.mapFailures, resubmitted: resubmittedOf(r) };
    } catch (e) {
      run = { point, n, ok: false, problem: e instanceof Error ? e.message : String(e), mapFailures: 0, resubmitted: 0 };
    }
    runs.push(run);
    onRun?.(run, runs.length, todo.length);
  }
  return { scenario: name, counts, runs };
}
