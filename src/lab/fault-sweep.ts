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

/** A tiny coIOMMU guest: 2 one-page buffers in turn, so every point is reached twice. */
const coiommuMap = (notify: string, extra: PartialScenario = {}): PartialScenario => ({
  policy: 'coiommu',
  notify,
  guestPages: 1024,
  ops: 12,
  durationMs: 60_000,
  drainMs: 20,
  net: { queueDepth: 1, batch: 1, reuseDistance: 1, rotateMs: 0 },
  host: { memoryPages: 0 },
  ...extra,
});

const MAP_PATH: FailurePoint[] = ['slot-write', 'pin', 'iommu-map', 'frame-alloc'];

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
};

export interface SweepRun {
  point: FailurePoint;
  n: number;
  ok: boolean;
  problem?: string;
  mapFailures: number;
}

export interface SweepResult {
  scenario: string;
  counts: Record<FailurePoint, number>;
  runs: SweepRun[];
}

/** Why the run failing `point` the `n`th time is not clean, or undefined. */
function check(r: RunReport, cfg: ScenarioConfig, point: FailurePoint): string | undefined {
  const v = r.violations;
  if (v.dmaToUnpinned + v.lostPayloads + v.accounting > 0) return `violations ${JSON.stringify(v)}`;
  if (r.teardownLeftovers.length > 0) return `teardown left: ${r.teardownLeftovers.join('; ')}`;
  if (r.dmaOps !== cfg.ops) return `${r.dmaOps} of ${cfg.ops} DMAs done`;
  const kind = POINT_KIND[point];
  const injected = kind ? (r.injectedFaults?.byKind[kind]?.injected ?? 0) : 0;
  if (kind && injected !== 1) return `the failure was injected ${injected} times, not once`;
  if (kind && r.mapFailures < 1) return 'the failure never reached the guest as a failed map';
  return undefined;
}

export async function sweep(name: string, onRun?: (r: SweepRun, done: number, total: number) => void, points?: FailurePoint[]): Promise<SweepResult> {
  const sc = SWEEP_SCENARIOS[name];
  const counting = resolveScenario({ ...sc.partial, faults: { failNth: { point: 'pin', n: 0 } } });
  const first = await runScenario(counting);
  const counts = first.injectedFaults!.points;
  const problem = check(first, counting, 'queue-submit');
  if (problem) throw new Error(`sweep ${name}: the counting run is not clean: ${problem}`);
  const todo = (points ?? sc.points).flatMap((point) => Array.from({ length: counts[point] }, (_, i) => ({ point, n: i + 1 })));
  const runs: SweepRun[] = [];
  for (const { point, n } of todo) {
    const cfg = resolveScenario({ ...sc.partial, faults: { failNth: { point, n } } });
    let run: SweepRun;
    try {
      const r = await runScenario(cfg);
      const why = check(r, cfg, point);
      run = { point, n, ok: why === undefined, problem: why, mapFailures: r.mapFailures };
    } catch (e) {
      run = { point, n, ok: false, problem: e instanceof Error ? e.message : String(e), mapFailures: 0 };
    }
    runs.push(run);
    onRun?.(run, runs.length, todo.length);
  }
  return { scenario: name, counts, runs };
}
