// Pieces both host roles (hypervisor and sidecore) build the same way.
import { CTL } from '../machine/layout.js';
import { NO_LOCK, PinStateLock, type Lock } from '../notify/lock.js';
import type { RoleBase } from './role.js';

/** The pin-state lock (or none, for the planted bug). A lock held past the watchdog is a hang. */
export function hostLock(r: RoleBase): Lock {
  return r.cfg.variant === 'no-pin-lock' ? NO_LOCK : new PinStateLock(r.mem, r.m.control, CTL.PIN_LOCK, r.cfg.watchdogMs);
}
