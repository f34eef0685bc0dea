// The `trace` workload's settings (and --record-trace, which any workload's run can use).
import { existsSync } from 'node:fs';
import { section } from '../../core/settings.js';
import { checkStallOnly } from '../storage/config.js';
import { scanTrace } from './scan.js';

export interface TraceConfig {
  /** The trace to replay (--workload trace). */
  file: string;
  /** `max`, or how many times faster than recorded the replay runs. */
  speed: string;
  /** `on`: malformed lines are counted and passed over. */
  skipBad: string;
  /** Write this run's map / unmap events to this file, in the dma: events' format. */
  record: string;
}

const SPEED = /^(\d+(\.\d*)?|\.\d+)$/;
export const speedOf = (t: TraceConfig): number => (t.speed === 'max' ? Infinity : Number(t.speed));

export const TRACE_SECTION = section<TraceConfig>(
  'trace',
  [
    { key: 'file', flag: '--trace', kind: 'text', values: () => [''], accepts: { test: (v) => v.length > 0, text: '<file>' }, default: '', help: 'trace: the Linux DMA trace to replay (iommu:map/unmap or dma: events)' },
    {
      ...{ key: 'speed', flag: '--trace-speed', kind: 'text', values: () => ['max'], default: '1' },
      ...{ accepts: { test: (v) => SPEED.test(v) && Number(v) > 0 && Number(v) <= 1e6, text: '<factor> (> 0; 1 = as recorded)' } },
      help: "trace: the trace's timestamps pace the replay on the virtual clock at this speed, or max: as fast as it goes",
    },
    { key: 'skipBad', flag: '--trace-skip-bad', kind: 'text', values: () => ['on', 'off'], bare: 'on', default: 'off', help: 'trace: count malformed lines and go on instead of stopping at the first' },
    { key: 'record', flag: '--record-trace', kind: 'text', values: () => [''], accepts: { test: (v) => v.length > 0, text: '<file>' }, default: '', help: "write the run's map/unmap events to this file as dma: trace events (replay it with --workload trace)", runOnly: true },
  ],
  (cfg, fail, name) => {
    if (cfg.workload !== 'trace') return;
    checkStallOnly(cfg, fail, name, 'trace');
    const t = cfg.trace as TraceConfig;
    if (t.file === '') fail(['trace.file', 'workload'], `${name('workload')} trace needs ${name('trace.file')} <file>: the trace to replay`);
    if (!existsSync(t.file)) fail(['trace.file'], 'must be a readable trace file (see README: capturing a DMA trace)');
    scanTrace(t.file, t.skipBad === 'on'); // a malformed line stops the run here, with its line number
  },
);
