// Happens-before and races of one executed schedule, for source-set DPOR (Abdulla, Aronis,
// Jonsson, Sagonas, POPL'14). Two steps are dependent when different threads touch the same
// shared word and at least one writes it; happens-before is program order plus dependence,
// kept as vector clocks (clock[t] = 1 + the index of the latest step of thread t before).
import type { Access } from './scheduler.js';

export interface Event {
  thread: number;
  access: Access;
}

export const dependent = (a: Event, b: Event): boolean =>
  a.thread !== b.thread && a.access.buf === b.access.buf && a.access.addr === b.access.addr && (a.access.write || b.access.write);

/** Accesses of two threads' pending steps commute (for sleep sets). */
export const independent = (a: Access, b: Access): boolean => a.buf !== b.buf || a.addr !== b.addr || (!a.write && !b.write);

export class HappensBefore {
  readonly clocks: Int32Array[] = [];
  /** Earlier dependent steps of other threads, per step. */
  readonly deps: number[][] = [];
  private readonly prev: number[] = [];

  constructor(readonly events: readonly Event[], width: number) {
    const lastOf = new Map<number, number>();
    events.forEach((e, j) => {
      const c = new Int32Array(width);
      const p = lastOf.get(e.thread) ?? -1;
      if (p >= 0) c.set(this.clocks[p]);
      const d: number[] = [];
      for (let i = 0; i < j; i++) {
        if (!dependent(events[i], e)) continue;
        d.push(i);
        const ci = this.clocks[i];
        for (let k = 0; k < width; k++) if (ci[k] > c[k]) c[k] = ci[k];
      }
      c[e.thread] = j + 1;
      this.clocks.push(c);
      this.deps.push(d);
      this.prev.push(p);
      lastOf.set(e.thread, j);
    });
  }

  /** Step i happens before step j (i < j). */
  hb(i: number, j: number): boolean {
    return this.clocks[j][this.events[i].thread] >= i + 1;
  }

  /** Races i ⋖ j: j depends on i and nothing else orders them (no k between with i -> k -> j). */
  racesOf(j: number): number[] {
    const d = this.deps[j];
    const p = this.prev[j];
    return d.filter((i) => !(p >= 0 && this.hb(i, p)) && !d.some((k) => k !== i && k > i && this.hb(i, k)));
  }

  /**
   * Initials of notdep(i).j: the threads whose first step in "the steps after i that do not
   * happen after i, then j" has no predecessor there. Running one of them at i reverses the race.
   */
  initials(i: number, j: number): number[] {
    const v: number[] = [];
    for (let k = i + 1; k < j; k++) if (!this.hb(i, k)) v.push(k);
    v.push(j);
    const out: number[] = [];
    v.forEach((k, x) => {
      const t = this.events[k].thread;
      if (out.includes(t)) return;
      if (!v.slice(0, x).some((q) => this.hb(q, k))) out.push(t);
    });
    return out;
  }
}
