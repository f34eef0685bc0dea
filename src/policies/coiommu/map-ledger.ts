// The map-count ledger: what the DTT map counts must add up to, checked on every unpin round and
// not only at teardown. Each vCPU counts the page maps it starts (before its first count goes up)
// and the ones it finishes (after its last count comes down: an unmap, or a failed map undone), on
// a line of its own. Raw Atomics, not the scheduled SharedMem: the ledger observes the protocol.
//
// Why the bound is race-free: at any instant a page's count <= maps started on it - maps finished
// on it (a start is counted before its increment, a finish after its decrement). A round reads
// FINISHED first, then the counts one by one, then STARTED; FINISHED only grows and so does STARTED,
// so the sum it read can never exceed STARTED(end) - FINISHED(start) unless some count was left
// behind (an unmap that skipped a page, a double increment). Pages not pinned are skipped: leaving
// them out only lowers the sum.
import { LINE_WORDS } from '../../machine/layout.js';
import type { Machine } from '../../machine/machine.js';
import { DETAIL, Oracle } from '../../core/oracle.js';
import { MAP_COUNT_MASK } from './dtt.js';
import type { DttTable } from './dtt-table.js';

const STARTED = 0;
const FINISHED = 1;

/** A vCPU's half: count page maps as they start and finish. */
export class MapLedger {
  private readonly at: number;

  constructor(
    private readonly m: Machine,
    vcpu: number,
  ) {
    this.at = vcpu * LINE_WORDS;
  }

  started(pages: number): void {
    Atomics.add(this.m.mapLedger, this.at + STARTED, pages);
  }

  finished(pages: number): void {
    Atomics.add(this.m.mapLedger, this.at + FINISHED, pages);
  }
}

function sumOver(m: Machine, word: number): number {
  let n = 0;
  for (let v = 0; v < m.spec.vcpus; v++) n = (n + Atomics.load(m.mapLedger, v * LINE_WORDS + word)) | 0;
  return n;
}

/** The host's half: after an unpin round, the counts of pinned pages against the maps in flight. */
export class MapCountCheck {
  private readonly oracle: Oracle;

  constructor(
    private readonly m: Machine,
    private readonly table: DttTable,
  ) {
    this.oracle = new Oracle(m.control, 'hypervisor', 0);
  }

  /** Returns false (and reports an accounting violation) if the counts exceed the maps in flight. */
  check(frameHigh: number): boolean {
    const { m, table } = this;
    const finished = sumOver(m, FINISHED);
    let counts = 0;
    for (let f = 0; f < frameHigh; f++) {
      if (Atomics.load(m.framePinned, f) === 0) continue;
      const owner = Atomics.load(m.frameOwner, f);
      if (owner === 0) continue;
      const e = table.locate(owner - 1, false);
      if (e >= 0) counts += Atomics.load(table.words, e) & MAP_COUNT_MASK;
      table.release();
    }
    const inFlight = (sumOver(m, STARTED) - finished) | 0;
    if (counts <= inFlight) return true;
    this.oracle.report('accounting', -1, -1, DETAIL.mapCountsExceed);
    return false;
  }
}
