// The proof of the plug-in architecture: a new policy, written here and registered with one call,
// runs end to end in real role workers, is known to the config, the CLI help and the tables, and
// no file under src/ knows its name. (Role workers import this module too, to register it in their
// own thread; they must not run the tests, hence the isMainThread guard.)
import { isMainThread } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import type { GuestDmaPolicy } from '../src/core/guest-dma-policy.js';
import { main } from '../src/cli/main.js';
import { resolveScenario } from '../src/lab/config.js';
import { runScenario } from '../src/lab/orchestrator.js';
import { formatCompareTable } from '../src/lab/table.js';
import { registerPolicy } from '../src/policies/index.js';
import type { Policy } from '../src/policies/policy.js';
import { smallScenario } from './helpers/scenario.js';

/** The guest's DMA address is its physical address; nothing to do per buffer. */
class IdentityMap implements GuestDmaPolicy {
  maps = 0;
  map(gfn: number): number {
    this.maps++;
    return gfn;
  }
  unmap(): void {}
}

const identity: Policy = {
  name: 'identity',
  family: 'identity',
  help: 'a toy: identity map, all guest memory pinned at creation',
  notifyPaths: ['trap'],
  compareOn: ['trap'],
  pinsAtCreation: true,
  requests: 'none',
  identityDma: true,
  guest: () => new IdentityMap(),
  cost: (c, t) => ({ toyMap: c.dmaOps > 0 ? t.dttUpdateCycles : 0 }),
};

registerPolicy(identity, import.meta.url);

if (isMainThread) {
  describe('a policy added from a test file with one registry call', () => {
    it('runs end to end in real workers with zero violations', async () => {
      const cfg = resolveScenario({ ...smallScenario(), policy: 'identity', notify: 'trap', durationMs: 500 });
      const r = await runScenario(cfg);
      expect(r.policy).toBe('identity');
      expect(r.dmaOps).toBeGreaterThan(0);
      expect(r.violations).toEqual({ dmaToUnpinned: 0, lostPayloads: 0, accounting: 0, unpinnedWhileMapped: 0, lostWakeups: 0, mapFailures: 0, undrainedUnpins: 0 });
      expect(r.teardownLeftovers).toEqual([]);
      expect(r.staticPin?.pages).toBe(cfg.guestPages); // pinned at creation, as it declared
      expect(r.exits).toBe(0);
      expect(r.modeled.breakdown).toEqual({ toyMap: cfg.costTable.dttUpdateCycles });
      expect(formatCompareTable([r])).toMatch(/^identity\s+-\s+/m);
    });

    it('is a value the config, the CLI and its help accept', async () => {
      let out = '';
      const code = await main(['run', '--help'], { stdout: (s) => void (out += s) });
      expect(code).toBe(0);
      expect(out).toContain('identity');
      expect(out).toContain('a toy: identity map');
      let err = '';
      await main(['run', '--policy', 'nope'], { stderr: (s) => void (err += s) });
      expect(err).toContain('identity');
    });
  });
}
