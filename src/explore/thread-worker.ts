// A scenario thread as a worker: waits for the scheduler to start a schedule, runs its body with
// the controlled executor, reports its result, and waits for the next schedule.
import * as Comlink from 'comlink';
import { parentPort } from 'node:worker_threads';
import { SCHED, SCHED_ERROR_CHARS, schedErrorBase } from './sched-layout.js';
import { Machine } from '../machine/machine.js';
import { nodeEndpoint } from '../core/comlink-node.js';
import type { Variant } from '../core/types.js';
import { ControlledMem, ScheduleAborted } from './controlled-mem.js';
import { scenarioByName } from './scenarios.js';
import { SiteRecorder } from './coverage.js';

export interface ThreadInit {
  scenario: string;
  variant: Variant;
  thread: number;
  sched: SharedArrayBuffer;
  machine: SharedArrayBuffer;
  scratch: SharedArrayBuffer;
  /** Record the protocol site of every operation (a coverage run). */
  coverage?: boolean;
}

export interface ThreadApi {
  init(init: ThreadInit): void;
  /** Blocks this worker, serving schedules until the scheduler says quit. Returns schedules run. */
  serve(): number;
  /** Protocol sites this thread's operations came from (coverage runs; after serve returned). */
  sites(): string[];
}

export function serveExploreThread(): void {
  if (!parentPort) throw new Error('an explorer thread must run in a worker');
  let init: ThreadInit | undefined;
  let recorder: SiteRecorder | undefined;
  const api: ThreadApi = {
    sites() {
      return recorder ? [...recorder.sites] : [];
    },
    init(i) {
      init = i;
    },
    serve() {
      if (!init) throw new Error('explorer thread not initialised');
      const { thread, variant } = init;
      const scenario = scenarioByName(init.scenario);
      const sched = new Int32Array(init.sched);
      const m = new Machine(init.machine, scenario.spec);
      const scratch = new Int32Array(init.scratch);
      if (init.coverage) recorder = new SiteRecorder();
      let epoch = 0;
      let served = 0;
      for (;;) {
        while (Atomics.load(sched, SCHED.CMD) === epoch) Atomics.wait(sched, SCHED.CMD, epoch, 1000);
        const cmd = Atomics.load(sched, SCHED.CMD);
        if (cmd < 0) return served;
        epoch = cmd;
        const mem = new ControlledMem(sched, thread, init.machine, init.scratch);
        mem.coverage = recorder;
        try {
          mem.finish(scenario.run({ mem, m, scratch, variant, thread }), false);
        } catch (e) {
          if (e instanceof ScheduleAborted) mem.finish(-1, false); // cut off: the outcome is the step limit
          else {
            const text = (e instanceof Error ? e.message : String(e)).slice(0, SCHED_ERROR_CHARS - 1);
            const at = schedErrorBase(thread);
            for (let k = 0; k < SCHED_ERROR_CHARS; k++) Atomics.store(sched, at + k, k < text.length ? text.charCodeAt(k) : 0);
            mem.finish(-2, true);
          }
        }
        served++;
      }
    },
  };
  Comlink.expose(api, nodeEndpoint(parentPort));
}
