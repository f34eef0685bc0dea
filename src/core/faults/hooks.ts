// The calls the protocols make at their failure points. Nothing happens unless a role worker has
// installed its fault injector (src/roles/fault-injector.ts): the explorer, the benchmarks and the
// unit tests run the same code with no hooks, at the cost of one check of a module variable.
import type { FailurePoint, FaultKind } from './kinds.js';

export interface FaultHooks {
  /** A failure point is reached: true if it must fail this time. May also stall (a preemption). */
  fail(point: FailurePoint): boolean;
  /** The host is about to serve a request: it may be delayed (slow-host). */
  serving(): void;
  /** The protocol reacted to an injected fault (a reaction counter of REACTIONS[kind]). */
  react(kind: FaultKind, reaction: string): void;
}

let hooks: FaultHooks | undefined;

/** One per worker: the role installs its injector when its run starts, and removes it after. */
export function installFaultHooks(h: FaultHooks | undefined): void {
  hooks = h;
}

/** True if this failure point must fail now (an injected fault or the fail-nth sweep's Nth). */
export function failHere(point: FailurePoint): boolean {
  return hooks !== undefined && hooks.fail(point);
}

/** A host handler starts serving a request. */
export function serveHook(): void {
  if (hooks !== undefined) hooks.serving();
}

/** A protocol's reaction to a failure it was handed (counted on the fault board; nothing unhooked). */
export function faultReaction(kind: FaultKind, reaction: string): void {
  if (hooks !== undefined) hooks.react(kind, reaction);
}
