// The cost of watching a run: the same run (coiommu/trap, net, a fixed number of DMAs) with
// --timeline (10 ms sampling) and --series (100 ms) against the same run without, in this process.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultScenario } from '../../src/lab/config.js';
import { runScenario } from '../../src/lab/orchestrator.js';
import type { ScenarioConfig } from '../../src/lab/scenario.js';
import type { Benchmark } from '../lib/context.js';
import { makeResult } from '../lib/report.js';

const OPS = 20_000;

export const timelineOverhead: Benchmark = {
  name: 'timeline-overhead',
  title: `run time with --timeline (10 ms) and --series (100 ms) vs the same run without (coiommu/trap, ${OPS} DMAs), target <= 1.1`,
  async run(ctx) {
    const cfg: ScenarioConfig = { ...defaultScenario(), policy: 'coiommu', notify: 'trap', ops: OPS, durationMs: 120_000 };
    const dir = mkdtempSync(join(tmpdir(), 'viommu-bench-timeline-'));
    try {
      ctx.log('timeline: warm-up');
      await runScenario({ ...cfg, ops: 2000 });
      ctx.log('timeline: without');
      const plain = await runScenario(cfg);
      ctx.log('timeline: with --timeline and --series');
      const watched = await runScenario(cfg, { watch: { timeline: { file: join(dir, 't.json'), intervalMs: 10 }, series: { file: join(dir, 's.jsonl'), intervalMs: 100 } } });
      return makeResult({
        name: this.name,
        unit: 's',
        value: watched.seconds,
        baseline: plain.seconds,
        ratioOf: 'value/baseline',
        target: { op: '<=', limit: 1.1 },
        valueIs: `runScenario coiommu/trap ${OPS} DMAs with timeline + series`,
        baselineIs: `runScenario coiommu/trap ${OPS} DMAs`,
        spinningThreads: 0,
        detail: { value: `${watched.seconds.toFixed(2)} s`, baseline: `${plain.seconds.toFixed(2)} s`, notes: ['the main thread reads the shared counters every 10 ms; the roles do nothing extra'] },
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
