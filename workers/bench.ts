// Worker entry: the benchmark worker. One entry, many modes (bench/lib/modes.ts): the runner
// posts {id, request}; the worker runs the mode to the end and answers {id, ok, result | error}.
import { parentPort } from 'node:worker_threads';
import type { BenchEnvelope, BenchReply } from '../bench/lib/messages.js';
import { runMode } from '../bench/lib/modes.js';

if (!parentPort) throw new Error('workers/bench.ts must run in a worker thread');
const port = parentPort;
port.on('message', (env: BenchEnvelope) => {
  runMode(env.request).then(
    (result) => port.postMessage({ id: env.id, ok: true, result } satisfies BenchReply),
    (err: unknown) =>
      port.postMessage({
        id: env.id,
        ok: false,
        error: err instanceof Error ? (err.stack ?? err.message) : String(err),
      } satisfies BenchReply),
  );
});
