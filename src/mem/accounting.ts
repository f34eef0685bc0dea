// Oracle item 4: the host's pinned-frame count, the frames marked pinned, the host IOMMU entries
// and the policy's own record (coIOMMU: PINNED bits of the DTT; vIOMMU: shadow references) must
// all agree. Checked under the pin-state lock.
import { CTL } from '../machine/layout.js';
import type { Machine } from '../machine/machine.js';
import { freeRunning, type SharedMem } from '../machine/shared-mem.js';
import { NO_LOCK, type Lock } from '../notify/lock.js';
import { DETAIL, Oracle } from '../core/oracle.js';
import { HostMemory } from './host-memory.js';
import { residencyConsistent } from './residency-check.js';

/** A policy's share of the check: its own record of each page, and rules of its own structures. */
export interface PolicyAccounting {
  pinnedFor?(g: number): boolean;
  checkAccounting?(oracle: Oracle): boolean;
}

/** One frame: pinned flag, host IOMMU entry and the policy's record agree. Returns 1 if pinned. */
function checkFrame(mem: SharedMem, m: Machine, f: number, oracle: Oracle, policy: PolicyAccounting): { pinned: number; ok: boolean } {
  const owner = mem.load(m.frameOwner, f);
  if (owner === 0) return { pinned: 0, ok: true };
  const g = owner - 1;
  const p = mem.load(m.framePinned, f) !== 0;
  const mapped = mem.load(m.iommu, g) === f + 1;
  const recorded = policy.pinnedFor ? policy.pinnedFor(g) : p;
  const ok = p === mapped && p === recorded;
  if (!ok) oracle.report('accounting', g, f, DETAIL.pinCountMismatch);
  return { pinned: p ? 1 : 0, ok };
}

/**
 * Each host IOMMU entry names a frame pinned for its own page. The frame walk above sees only
 * owned frames, so an entry left behind to a freed or reused frame (a DMA hole) shows only here.
 */
function iommuEntriesSound(mem: SharedMem, m: Machine, oracle: Oracle): boolean {
  for (let g = 0; g < m.iommu.length; g++) {
    const f = mem.load(m.iommu, g) - 1;
    if (f < 0) continue;
    if (f >= m.frameOwner.length || mem.load(m.frameOwner, f) !== g + 1 || mem.load(m.framePinned, f) === 0) {
      oracle.report('accounting', g, f, DETAIL.pinCountMismatch);
      return false;
    }
  }
  return true;
}

/** Frames checked per lock hold; a long walk keeps the caller's heartbeat going between slices. */
export const ACCOUNTING_SLICE = 1 << 16;

/**
 * The whole check: every frame, the policy's own structures, and the pinned total. O(frames), so
 * it runs at teardown (and in tests); `beat` is called between slices, so a 128 GiB guest is not
 * mistaken for a hung host.
 */
export function checkAccounting(mem: SharedMem, m: Machine, host: HostMemory, lock: Lock, oracle: Oracle, policy: PolicyAccounting = {}, beat?: () => void): boolean {
  lock.lock();
  try {
    const high = host.frameHigh();
    let pinned = 0;
    let ok = true;
    for (let f = 0; f < high; f++) {
      const r = checkFrame(mem, m, f, oracle, policy);
      pinned += r.pinned;
      ok &&= r.ok;
      if ((f & (ACCOUNTING_SLICE - 1)) === 0) beat?.();
    }
    if (!iommuEntriesSound(mem, m, oracle)) ok = false;
    if (policy.checkAccounting && !policy.checkAccounting(oracle)) ok = false;
    if (!residencyConsistent(mem, m)) {
      oracle.report('accounting', -1, -1, DETAIL.pinCountMismatch);
      ok = false;
    }
    if (pinned !== mem.load(m.control, CTL.PINNED_NOW)) {
      oracle.report('accounting', -1, -1, DETAIL.pinCountMismatch);
      ok = false;
    }
    return ok;
  } finally {
    lock.unlock();
  }
}

/**
 * The periodic check while the run goes on: one slice of frames per call, round robin, so each
 * call costs O(slice) however large the guest (the totals are compared at teardown).
 */
export class RollingAccounting {
  private cursor = 0;

  constructor(
    private readonly mem: SharedMem,
    private readonly m: Machine,
    private readonly host: HostMemory,
    private readonly lock: Lock,
    private readonly oracle: Oracle,
    private readonly policy: PolicyAccounting = {},
  ) {}

  step(slice = ACCOUNTING_SLICE): boolean {
    this.lock.lock();
    try {
      const high = this.host.frameHigh();
      if (this.cursor >= high) this.cursor = 0;
      const end = Math.min(high, this.cursor + slice);
      let ok = true;
      for (let f = this.cursor; f < end; f++) ok &&= checkFrame(this.mem, this.m, f, this.oracle, this.policy).ok;
      this.cursor = end;
      return ok;
    } finally {
      this.lock.unlock();
    }
  }
}

/**
 * The whole check on a machine at rest (a finished scenario schedule, a test): no lock to take, and
 * nothing reported to the machine's oracle (the verdict is the caller's outcome).
 */
export function accountingAtRest(m: Machine, policy: PolicyAccounting = {}): boolean {
  const silent = new Oracle(new Int32Array(CTL.WORDS), 'hypervisor', 0);
  return checkAccounting(freeRunning, m, new HostMemory(freeRunning, m), NO_LOCK, silent, policy);
}
