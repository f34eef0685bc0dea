// The vIOMMU paper's table on the virtual clock: % of 10 GbE line rate for bare metal,
// trap-and-emulate and a sidecore x strict, batched (lazy) and optimistic teardown (net, 1 vCPU).
// Each figure is a ratio against the link's rate in the same run; the paper's figure is beside it.
import { resolveScenario } from '../../src/lab/config.js';
import { runScenario } from '../../src/lab/orchestrator.js';
import type { Benchmark, BenchContext } from '../lib/context.js';
import { fmtNum, makeResult } from '../lib/report.js';

const OPS = 20_000;
const MODES = ['strict', 'lazy', 'optimistic'] as const;
const PATHS = ['bare', 'trap', 'sidecore'] as const;
/** vIOMMU (ATC'11), 10 GbE netperf stream, % of line rate; the paper has no sidecore batched figure. */
const PAPER: Record<(typeof PATHS)[number], Record<(typeof MODES)[number], number | undefined>> = {
  bare: { strict: 43, lazy: 91, optimistic: 100 },
  trap: { strict: 10, lazy: 11, optimistic: 82 },
  sidecore: { strict: 30, lazy: undefined, optimistic: 100 },
};

function lineRate(mode: (typeof MODES)[number], path: (typeof PATHS)[number]): Benchmark {
  const name = `line-${mode}-${path}`;
  return {
    name,
    title: `viommu-${mode}/${path}: modeled Gbit/s vs the 10 Gbit/s link (virtual clock, ${OPS.toLocaleString('en-US')} DMAs; reported, paper ${PAPER[path][mode] ?? '-'}%)`,
    async run(ctx: BenchContext) {
      const cfg = resolveScenario({ policy: `viommu-${mode}`, notify: path, ops: OPS, durationMs: 60_000 });
      ctx.log(`line rate: viommu-${mode}/${path}, ${OPS} DMAs`);
      const r = await runScenario(cfg);
      if (r.dmaOps < OPS) throw new Error(`${name}: only ${r.dmaOps} of ${OPS} DMAs within 60 s`);
      const paper = PAPER[path][mode];
      return makeResult({
        name,
        unit: 'Gbit/s',
        value: r.modeled.gbps ?? 0,
        baseline: cfg.net.lineRateGbps,
        ratioOf: 'value/baseline',
        target: null,
        valueIs: `modeled Gbit/s of viommu-${mode}/${path}`,
        baselineIs: 'the link rate (--line-rate)',
        spinningThreads: r.parallelism.spinners,
        detail: {
          value: `${fmtNum(r.modeled.lineRatePercent ?? 0)}% of line rate, ${fmtNum(r.exitsPerDma)} exits/DMA, ${fmtNum(r.invSubmits / r.dmaOps)} submissions/DMA`,
          baseline: `${cfg.net.lineRateGbps} Gbit/s, ${cfg.net.packetBytes}-byte packets`,
          notes: [paper === undefined ? 'the paper has no figure for this cell' : `the vIOMMU paper measured ${paper}% of line rate`],
        },
      });
    },
  };
}

export const lineRates: Benchmark[] = MODES.flatMap((mode) => PATHS.map((path) => lineRate(mode, path)));
