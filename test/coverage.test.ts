// Coverage of the protocol code by the explorer's scenarios: every shared-memory operation site in
// the protocol, notify and memory code is reached by some scenario's real protocol under the
// default strategy, or is a documented exception (src/explore/coverage-exceptions.ts).
import { describe, expect, it } from 'vitest';
import { coverageRun } from '../src/explore/coverage-run.js';
import { coverageOf, protocolSites, staleExceptions } from '../src/explore/coverage.js';
import { COVERAGE_EXCEPTIONS } from '../src/explore/coverage-exceptions.js';
import { allScenarios } from '../src/explore/scenarios.js';

describe('coverage', () => {
  it('lists the protocol sites as file:line', () => {
    const sites = protocolSites();
    expect(sites.length).toBeGreaterThan(100);
    for (const s of sites) expect(s).toMatch(/^src\/(notify|mem|policies|workloads)\/.+\.ts:\d+$/);
    expect(coverageOf([]).reached).toBe(0);
  });

  it('every documented exception still names a protocol site', () => {
    expect(staleExceptions(COVERAGE_EXCEPTIONS)).toEqual([]);
  });

  it('every protocol site is reached by a scenario (20 schedules each) or documented', async () => {
    const c = await coverageRun(allScenarios(), undefined, 20);
    expect(c.unreached).toEqual([]);
    expect(c.reached + Object.keys(c.exceptions).length).toBe(c.sites);
    expect(c.percent).toBeGreaterThan(80);
  }, 600_000);
});
