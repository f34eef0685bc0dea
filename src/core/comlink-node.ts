// comlink over worker_threads: a small Endpoint adapter (comlink's own node adapter is not
// packaged for ESM). Node ports deliver the data itself; comlink wants {data} events.
import type { Endpoint } from 'comlink';
import type { MessagePort, Worker } from 'node:worker_threads';

type Port = Pick<Worker | MessagePort, 'postMessage' | 'on' | 'off'>;
type Listener = (ev: { data: unknown }) => void;
type ListenerLike = Listener | { handleEvent: Listener };

export function nodeEndpoint(port: Port): Endpoint {
  const bound = new WeakMap<object, (data: unknown) => void>();
  return {
    postMessage: (message: unknown, transfer?: unknown[]) => port.postMessage(message, transfer as never),
    addEventListener: (_type: string, listener: unknown) => {
      const l = listener as ListenerLike;
      const f = (data: unknown) => ('handleEvent' in l ? l.handleEvent({ data }) : l({ data }));
      bound.set(l, f);
      port.on('message', f);
    },
    removeEventListener: (_type: string, listener: unknown) => {
      const f = bound.get(listener as object);
      if (f) port.off('message', f);
    },
  } as unknown as Endpoint;
}
