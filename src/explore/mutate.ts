// Mutation testing of the explorer itself: how many of the concurrency bugs one could write would
// its search find? A mutant applies one concurrency mutation at one operation site (a thread's
// operations on one shared word): drop a notify, split an RMW into a load and a store, let a store
// be seen only after the thread's next load, skip a store. The scenario's bounded search runs on
// each mutant; it is killed when the search reaches a FORBIDDEN outcome or a livelock.
import { NonPreemptive, RandomChooser, scheduleSeed } from './choosers.js';
import { explore, type SearchOptions } from './explore.js';
import { FLUSH_BASE, type MutationOp, type OpName } from './sched-layout.js';
import { STEP_LIMIT, type Scenario } from '../core/scenario.js';
import type { Chooser, ScheduleRunner, StepView } from './scheduler.js';
import { ExploreSession } from './session.js';
import { equivalentReason } from './mutate-equivalent.js';

export interface Site {
  thread: number;
  op: OpName;
  buf: number;
  addr: number;
  where: string;
}

export interface Mutant {
  thread: string;
  where: string;
  operator: MutationOp;
  status: 'killed' | 'survived' | 'equivalent';
  /** killed: the outcome that killed it; equivalent: why it cannot change the outcome. */
  outcome?: string;
  reason?: string;
  schedules: number;
}

export interface MutateResult {
  scenario: string;
  mutants: number;
  killed: number;
  equivalent: number;
  score: number;
  survivors: Mutant[];
  all: Mutant[];
}

const OPERATORS: Partial<Record<OpName, MutationOp[]>> = {
  notify: ['drop-notify'],
  add: ['split-rmw'],
  sub: ['split-rmw'],
  or: ['split-rmw'],
  and: ['split-rmw'],
  compareExchange: ['split-rmw'],
  store: ['delay-store', 'skip-store'],
};

/** Wraps a chooser and records the (thread, operation, word) of every step taken. */
class SiteRecorder implements Chooser {
  readonly sites = new Map<string, Site>();
  constructor(private readonly inner: Chooser, private readonly runner: ScheduleRunner) {}
  choose(enabled: readonly number[], step: number, last: number, view?: StepView): number {
    const t = this.inner.choose(enabled, step, last, view);
    if (t < FLUSH_BASE) {
      const op = this.runner.opOf(t);
      const { buf, addr } = this.runner.access(t);
      const key = `${t}|${op}|${buf}|${addr}`;
      if (OPERATORS[op] && !this.sites.has(key)) this.sites.set(key, { thread: t, op, buf, addr, where: this.runner.addressName(buf, addr) });
    }
    return t;
  }
}

/** The mutable sites the scenario's threads reach: the non-preemptive schedule and a few random ones. */
export function findSites(runner: ScheduleRunner, seeds = 16): Site[] {
  const all = new Map<string, Site>();
  for (let i = -1; i < seeds; i++) {
    const rec = new SiteRecorder(i < 0 ? new NonPreemptive() : new RandomChooser(scheduleSeed(0x6d7574, i)), runner);
    runner.run(rec);
    for (const [k, s] of rec.sites) all.set(k, s);
  }
  return [...all.values()].sort((a, b) => a.thread - b.thread || a.buf - b.buf || a.addr - b.addr || a.op.localeCompare(b.op));
}

export interface MutateOptions {
  /** The search run on each mutant: DFS with this preemption bound and budget. */
  preemptions: number;
  budget: number;
  maxSteps: number;
  onMutant?: (m: Mutant, done: number, total: number) => void;
}

/** Run every mutant of one scenario (real protocol, variant none). */
export async function mutate(scenario: Scenario, o: MutateOptions): Promise<MutateResult> {
  const session = await ExploreSession.open(scenario, 'none', { maxSteps: o.maxSteps });
  try {
    const sites = findSites(session.runner);
    // a mutant hits every operation of its thread on its word: one per (thread, word, operator)
    const keyed = new Map<string, { s: Site; operator: MutationOp }>();
    for (const s of sites) for (const operator of OPERATORS[s.op] ?? []) keyed.set(`${s.thread}|${s.buf}|${s.addr}|${operator}`, { s, operator });
    const plan = [...keyed.values()];
    const all: Mutant[] = [];
    for (const { s, operator } of plan) {
      all.push(runMutant(session, scenario, s, operator, o));
      o.onMutant?.(all[all.length - 1], all.length, plan.length);
    }
    return summarise(scenario.name, all);
  } finally {
    session.runner.setMutation(undefined);
    await session.close();
  }
}

function runMutant(session: ExploreSession, scenario: Scenario, s: Site, operator: MutationOp, o: MutateOptions): Mutant {
  const base = { thread: scenario.threads[s.thread], where: s.where, operator };
  const reason = equivalentReason(scenario.name, base);
  if (reason) return { ...base, status: 'equivalent', reason, schedules: 0 };
  session.runner.setMutation({ op: operator, thread: s.thread, buf: s.buf, addr: s.addr });
  const so: SearchOptions = {
    scenario: scenario.name,
    variant: 'none',
    strategy: 'dfs',
    budget: o.budget,
    seed: 1,
    depth: 3,
    preemptions: o.preemptions,
    maxSteps: o.maxSteps,
    stopOnForbidden: true,
    shrink: false,
  };
  const r = explore(session, scenario, so, [{ index: 0, count: 1 }]);
  session.runner.setMutation(undefined);
  const outcome = r.firstForbidden?.outcome ?? (r.histogram[STEP_LIMIT] ? STEP_LIMIT : undefined);
  return { ...base, status: outcome ? 'killed' : 'survived', ...(outcome ? { outcome } : {}), schedules: r.schedules };
}

function summarise(scenario: string, all: Mutant[]): MutateResult {
  const killed = all.filter((m) => m.status === 'killed').length;
  const equivalent = all.filter((m) => m.status === 'equivalent').length;
  const counted = all.length - equivalent;
  return { scenario, mutants: all.length, killed, equivalent, score: counted > 0 ? killed / counted : 1, survivors: all.filter((m) => m.status === 'survived'), all };
}
