// Virtual time: each role's clock advances by the modeled cost of what it does (the cost table),
// so the figures project onto hardware and the policies' timers fire where hardware would see
// them, however fast this machine's threads happen to run. Clocks live in the machine's vclock
// region (Float64, ns); a synchronous request completes at max(its time, the host's) + its cost.
import { CTL, VCLOCK, vclockLine } from '../machine/layout.js';
import type { Machine } from '../machine/machine.js';
import { countedNotify } from '../machine/notify-ledger.js';
import type { CostTable, NotifyPath } from './types.js';

export const CLOCKS = ['virtual', 'wall'] as const;
export type ClockMode = (typeof CLOCKS)[number];

const line = (m: Machine, l: number) => l * VCLOCK.LINE;

/** Cycles to ns on the cost table's CPU. */
export const nsOf = (t: CostTable, cycles: number): number => cycles / t.cpuGhz;

/** One vCPU's clock. Its own work advances it; a request hands the host its time and waits for DONE. */
export class GuestClock {
  private readonly base: number;
  now = 0;

  constructor(
    private readonly m: Machine,
    vcpu: number,
    readonly costs: CostTable,
  ) {
    this.base = line(m, vclockLine.vcpu(vcpu));
    this.now = m.vclock[this.base + VCLOCK.NOW];
  }

  advance(ns: number): void {
    this.now += ns;
    this.m.vclock[this.base + VCLOCK.NOW] = this.now;
  }

  advanceCycles(cycles: number): void {
    this.advance(nsOf(this.costs, cycles));
  }

  /** Move to `t` if it is later (waiting costs the time waited). */
  advanceTo(t: number): void {
    if (t > this.now) this.advance(t - this.now);
  }

  /** Milliseconds, for the policies' timers. */
  ms(): number {
    return this.now / 1e6;
  }

  /**
   * Set by the vCPU's role: wait until every host timer due by now has run. Called before every
   * act the host's timers can see (a map, an unmap, a request; never with a lock held), so a host
   * timer at D sees exactly what the vCPU did before D.
   */
  onSync?: () => void;

  sync(): void {
    this.onSync?.();
  }

  /** A synchronous request is made now. */
  request(): void {
    this.m.vclock[this.base + VCLOCK.REQ] = this.now;
  }

  /** The host answered: continue from its completion time. */
  answered(): void {
    this.advanceTo(this.m.vclock[this.base + VCLOCK.DONE]);
  }

  /** This vCPU will not act again (the host's timers no longer wait for it). */
  leave(): void {
    this.m.vclock[this.base + VCLOCK.NOW] = Number.POSITIVE_INFINITY;
  }
}

/** What a host thread charges for one request, by notify path (the work itself is charged apart). */
export function requestNs(t: CostTable, notify: NotifyPath): number {
  if (notify === 'trap') return nsOf(t, t.exitCycles + t.trapRequestCycles);
  if (notify === 'sidecore') return nsOf(t, t.sidecoreRequestCycles);
  return 0;
}

/**
 * A host thread's clock (hypervisor or sidecore). Work done for a request is charged as it is done;
 * the request completes at max(its time, the host's) + the request's cost + that work.
 */
export class HostClock {
  private readonly base: number;
  private charged = 0;

  constructor(
    private readonly m: Machine,
    hostLine: number,
    readonly costs: CostTable,
    readonly notify: NotifyPath,
  ) {
    this.base = line(m, hostLine);
  }

  get now(): number {
    return this.m.vclock[this.base + VCLOCK.NOW];
  }

  /** Work done for the request being served (cycles). */
  charge(cycles: number): void {
    this.charged += nsOf(this.costs, cycles);
  }

  /**
   * vCPU v's request is done: stamp its completion time. A sidecore is one thread: requests queue
   * behind each other on its clock. A trapped request is handled on the trapping vCPU's own host
   * thread (as KVM handles an exit), and natively (bare) the vCPU programs the IOMMU itself: no
   * queue, so the order the threads happened to send requests in decides nothing.
   */
  complete(vcpu: number, extraNs = 0): void {
    const v = this.m.vclock;
    const at = line(this.m, vclockLine.vcpu(vcpu));
    const req = v[at + VCLOCK.REQ];
    const start = this.notify === 'sidecore' ? Math.max(req, this.now) : req;
    const done = start + requestNs(this.costs, this.notify) + extraNs + this.charged;
    this.charged = 0;
    v[at + VCLOCK.DONE] = done;
    if (this.notify === 'sidecore') v[this.base + VCLOCK.NOW] = done;
  }

  /** A host timer due at `deadline` ran now: the host's clock moves past it and its work. */
  timer(deadline: number): void {
    const v = this.m.vclock;
    v[this.base + VCLOCK.NOW] = Math.max(this.now, deadline) + this.charged;
    this.charged = 0;
  }
}

/**
 * The host timers' deadlines on the guests' timeline. The hypervisor publishes the next deadline;
 * a vCPU about to act past it waits until the host has run it, and the host runs it once every
 * vCPU has reached it: so the timer fires at the same point of every run, however the threads ran.
 */
export class TimerBarrier {
  private readonly host: number;

  constructor(private readonly m: Machine) {
    this.host = line(m, vclockLine.hypervisor(m.spec.vcpus));
  }

  next(): number {
    return this.m.vclock[this.host + VCLOCK.TIMER_NEXT];
  }

  done(): number {
    return this.m.vclock[this.host + VCLOCK.TIMER_DONE];
  }

  /** Host: every vCPU is at or past the deadline (or has left). */
  allArrived(deadline: number): boolean {
    for (let v = 0; v < this.m.spec.vcpus; v++) if (this.m.vclock[line(this.m, v) + VCLOCK.NOW] < deadline) return false;
    return true;
  }

  /** Host: the timer for the current deadline ran; publish the next one and wake waiting vCPUs. */
  ran(nextDeadline: number): void {
    const v = this.m.vclock;
    v[this.host + VCLOCK.TIMER_DONE] = v[this.host + VCLOCK.TIMER_NEXT];
    v[this.host + VCLOCK.TIMER_NEXT] = nextDeadline;
    Atomics.add(this.m.control, CTL.TIMER_SEQ, 1);
    countedNotify(this.m.notifyLedger, this.m.control, CTL.TIMER_SEQ);
  }

  /** Host: no more barriers (the guests stopped, or the clock is the wall's). */
  open(): void {
    this.m.vclock[this.host + VCLOCK.TIMER_NEXT] = Number.POSITIVE_INFINITY;
    Atomics.add(this.m.control, CTL.TIMER_SEQ, 1);
    countedNotify(this.m.notifyLedger, this.m.control, CTL.TIMER_SEQ);
  }
}

/**
 * The device's clocks: when each vCPU's queue is free to start its next DMA (word v of the device
 * line). One per queue, as a NIC's queues have engines of their own: the device serves the
 * queues in whatever order this machine's threads post to them, and one shared clock would let
 * that order decide the virtual times.
 */
export class DeviceClock {
  private readonly base: number;

  constructor(private readonly m: Machine) {
    this.base = line(m, vclockLine.device(m.spec.vcpus));
  }

  freeAt(queue: number): number {
    return this.m.vclock[this.base + queue];
  }

  setFreeAt(queue: number, t: number): void {
    this.m.vclock[this.base + queue] = t;
  }
}
