// A scatter-gather list maps as one: under coIOMMU the unpinned pages of all its segments go to
// the host in one pin request (one per notify slot's worth), and a failure leaves nothing mapped.
import { describe, expect, it } from 'vitest';
import { STAT } from '../src/machine/layout.js';
import { PIN_INFO_MAX_PAGES } from '../src/policies/coiommu/region.js';
import { makeRig } from './helpers/inline-host.js';

describe('coIOMMU mapSg', () => {
  it('three segments, twelve unpinned pages: one pin request; mapped again: none', () => {
    const rig = makeRig({ guestPages: 128 });
    const gfns = [4, 40, 90];
    const pages = [4, 4, 4];
    const dmas: number[] = [];
    expect(rig.guest.mapSg(gfns, pages, dmas)).toBe(true);
    expect(dmas).toEqual(gfns);
    expect(rig.guestStats[0][STAT.PIN_REQUESTS]).toBe(1);
    expect(rig.guestStats[0][STAT.PIN_REQUEST_PAGES]).toBe(12);
    for (const g of [4, 7, 40, 43, 90, 93]) expect([rig.count(g), rig.pinned(g)]).toEqual([1, true]);
    for (let s = 0; s < 3; s++) rig.guest.unmap(dmas[s], gfns[s], pages[s]);
    expect(rig.guest.mapSg(gfns, pages, dmas)).toBe(true);
    expect(rig.guestStats[0][STAT.PIN_REQUESTS]).toBe(1); // still pinned (lazy unpinning): no request
    expect(rig.violations().dmaToUnpinned).toBe(0);
  });

  it(`more unpinned pages than a slot holds (${PIN_INFO_MAX_PAGES}): one request per request buffer's worth`, () => {
    const rig = makeRig({ guestPages: 128 });
    expect(rig.guest.mapSg([0, 40, 80], [32, 32, 16], [])).toBe(true);
    expect(rig.guestStats[0][STAT.PIN_REQUESTS]).toBe(Math.ceil(80 / PIN_INFO_MAX_PAGES));
    expect(rig.guestStats[0][STAT.PIN_REQUESTS]).toBe(2);
  });

  it('a pin the host cannot grant: the whole list is undone (counts back to 0, ACCESSED cleared)', () => {
    const rig = makeRig({ guestPages: 128, hostFrames: 6 });
    expect(rig.guest.mapSg([10, 50], [4, 4], [])).toBe(false);
    for (const g of [10, 13, 50, 53]) expect([rig.count(g), rig.accessed(g)]).toEqual([0, false]);
    expect(rig.guestStats[0][STAT.MAP_FAILURES]).toBe(1);
  });
});
