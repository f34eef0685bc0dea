// Control plane, worker side: expose a role over comlink. `run` blocks this worker's thread until
// the shared run state says stop; nothing on the data path goes through here.
import * as Comlink from 'comlink';
import { parentPort } from 'node:worker_threads';
import { nodeEndpoint } from '../core/comlink-node.js';
import type { Role, RoleInit, RoleResult, SetupResult, TeardownResult } from './role.js';

export interface RoleApi {
  init(init: RoleInit): Promise<void>;
  setup(): SetupResult | undefined;
  run(t0: number): RoleResult;
  teardown(): TeardownResult | undefined;
}

export function serveRole(make: (init: RoleInit) => Role): void {
  if (!parentPort) throw new Error('a role must run in a worker thread');
  let role: Role | undefined;
  const need = (): Role => {
    if (!role) throw new Error('role not initialised: call init first');
    return role;
  };
  const api: RoleApi = {
    async init(init) {
      for (const url of init.plugins ?? []) await import(url);
      role = make(init);
    },
    setup: () => need().setup?.(),
    run: (t0) => need().run(t0),
    teardown: () => need().teardown?.(),
  };
  Comlink.expose(api, nodeEndpoint(parentPort));
}
