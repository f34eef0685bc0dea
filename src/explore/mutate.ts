// Mutation testing of the explorer itself: how many of the concurrency bugs one could write would
// its search find? A mutant applies one concurrency mutation at one operation site (a thread's
// operations on one shared word): drop a notify, split an RMW into a load and a store, let a store
// be seen only after the thread's next load, skip a store. The scenario's bounded search runs on
// each mutant; it is killed when the search reaches a FORBIDDEN outcome or a livelock.
//
// A delayed store is a TSO effect: under x86-TSO every plain store may already be seen after the
// thread's next load, so delay-store runs under TSO as "the fence after this store left out". A
// survivor is equivalent, with the evidence of the schedules searched, when the mutation cannot
// have changed anything: a split RMW on a word no other thread wrote, a fence-less store (nothing
// to leave out), a skipped store that only ever wrote the value already there.
import { NonPreemptive, RandomChooser, scheduleSeed } from './choosers.js';
import { explore, type SearchOptions } from './explore.js';
import { FLUSH_BASE, type MemoryModel, type MutationOp, type OpName } from './sched-layout.js';
import { STEP_LIMIT, verdictOf, type Scenario } from '../core/scenario.js';
import { FocusSearch } from './focus.js';
import { ConfigError } from '../core/errors.js';
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
  /** killed: the search that found it (the bounded DFS / DPOR, the focused search, PCT). */
  by?: 'dfs' | 'dpor' | 'focus' | 'pct';
  schedules: number;
}

export interface MutateResult {
  scenario: string;
  mutants: number;
  killed: number;
  equivalent: number;
  /** killed / (mutants - equivalent); null when every mutant is equivalent (nothing to score). */
  score: number | null;
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
  /**
   * The bounded search on each mutant under SC: DPOR (default: one schedule per Mazurkiewicz trace,
   * so the same budget covers more of the bound) or plain DFS. delay-store mutants run under TSO,
   * where the DPOR has no flush steps: they always get the DFS.
   */
  strategy?: 'dpor' | 'dfs';
  /** The search run on each mutant: this preemption bound and budget. */
  preemptions: number;
  budget: number;
  maxSteps: number;
  /** Schedules of the focused search (src/explore/focus.ts, on the mutant's word) run on a mutant the bounded search left alive. */
  focus?: number;
  /** The steps after each operation on the word at which the focused search preempts (default 12). */
  focusWindow?: number;
  /** Schedules of PCT (depth 3) run on a mutant still alive after that, before it is called a survivor. */
  extra?: number;
  /** Only the mutants whose thread, operator and word match the ones given (re-run one survivor). */
  only?: { thread?: string; operator?: MutationOp; where?: string };
  onMutant?: (m: Mutant, done: number, total: number) => void;
}

/** The mutant at site `s` with `operator` is one `only` asks for (or there is no filter). */
function wanted(scenario: Scenario, s: Site, operator: MutationOp, only: MutateOptions['only']): boolean {
  if (!only) return true;
  const { thread, where } = only;
  return (thread ?? scenario.threads[s.thread]) === scenario.threads[s.thread] && (only.operator ?? operator) === operator && (where ?? s.where) === s.where;
}

/** Run every mutant of one scenario (real protocol, variant none). */
export async function mutate(scenario: Scenario, o: MutateOptions): Promise<MutateResult> {
  const session = await ExploreSession.open(scenario, 'none', { maxSteps: o.maxSteps });
  try {
    const sites = findSites(session.runner);
    // a mutant hits every operation of its thread on its word: one per (thread, word, operator)
    const keyed = new Map<string, { s: Site; operator: MutationOp }>();
    for (const s of sites) for (const operator of OPERATORS[s.op] ?? []) keyed.set(`${s.thread}|${s.buf}|${s.addr}|${operator}`, { s, operator });
    const plan = [...keyed.values()].filter(({ s, operator }) => wanted(scenario, s, operator, o.only));
    if (plan.length === 0) {
      const { thread = '', operator = '', where = '' } = o.only ?? {};
      throw new ConfigError('--only', `${thread}:${operator}:${where}`, `THREAD:OPERATOR:WORD of a mutant of ${scenario.name} (run without --only to see them all)`);
    }
    for (const model of ['sc', 'tso'] as const) control(session, scenario, o, model);
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

/** The search each mutant gets: the bounded DFS, stopping at the first FORBIDDEN outcome. */
function search(session: ExploreSession, scenario: Scenario, o: MutateOptions, model: MemoryModel, strategy: 'dfs' | 'dpor' | 'pct', budget: number) {
  const so: SearchOptions = {
    scenario: scenario.name,
    variant: 'none',
    strategy,
    budget,
    seed: 1,
    depth: 3,
    preemptions: o.preemptions,
    maxSteps: o.maxSteps,
    stopOnForbidden: true,
    stopOnStepLimit: true,
    shrink: false,
    memoryModel: model,
  };
  const r = explore(session, scenario, so, [{ index: 0, count: 1 }]);
  return { schedules: r.schedules, outcome: r.firstForbidden?.outcome ?? (r.histogram[STEP_LIMIT] ? STEP_LIMIT : undefined) };
}

/** Mutants only mean something if the real protocol passes the same search: check it first. */
function control(session: ExploreSession, scenario: Scenario, o: MutateOptions, model: MemoryModel): void {
  session.runner.setMutation(undefined);
  session.runner.setMemoryModel(model);
  const r = search(session, scenario, o, model, boundedSearch(o, model), o.budget);
  // the PCT schedules a surviving mutant gets are the same (seed 1) on every mutant: check them too
  if (!r.outcome && (o.extra ?? 0) > 0) r.outcome = search(session, scenario, o, model, 'pct', o.extra ?? 0).outcome;
  if (r.outcome) throw new Error(`mutate: the real protocol of ${scenario.name} reaches "${r.outcome}" under ${model.toUpperCase()}: fix that before scoring mutants`);
}

/** DPOR under SC unless told otherwise; the DFS under TSO (the DPOR has no store-buffer flush steps). */
const boundedSearch = (o: MutateOptions, model: MemoryModel): 'dfs' | 'dpor' => (model === 'tso' ? 'dfs' : (o.strategy ?? 'dpor'));

type Mutation = NonNullable<Parameters<ScheduleRunner['setMutation']>[0]>;

function runMutant(session: ExploreSession, scenario: Scenario, s: Site, operator: MutationOp, o: MutateOptions): Mutant {
  const base = { thread: scenario.threads[s.thread], where: s.where, operator };
  const reason = equivalentReason(scenario.name, base);
  if (reason) return { ...base, status: 'equivalent', reason, schedules: 0 };
  const model: MemoryModel = operator === 'delay-store' ? 'tso' : 'sc';
  const { runner } = session;
  runner.setMemoryModel(model);
  const mutation: Mutation = { op: operator, thread: s.thread, buf: s.buf, addr: s.addr };
  runner.setMutation(mutation);
  runner.writers = new Map();
  try {
    const bounded = boundedSearch(o, model);
    let { schedules, outcome } = search(session, scenario, o, model, bounded, o.budget);
    let by: Mutant['by'] = bounded;
    const later: [NonNullable<Mutant['by']>, () => { schedules: number; outcome?: string }][] = [
      ['focus', () => focused(session, scenario, s, mutation, o.focus ?? 0, o.focusWindow)],
      ['pct', () => search(session, scenario, o, model, 'pct', o.extra ?? 0)],
    ];
    for (const [name, more] of later) {
      if (outcome || noEffect(runner, s, operator)) break;
      const r = more();
      schedules += r.schedules;
      ({ outcome } = r);
      by = name;
    }
    if (outcome) return { ...base, status: 'killed', outcome, by, schedules };
    const why = noEffect(runner, s, operator, schedules);
    return why ? { ...base, status: 'equivalent', reason: why, schedules } : { ...base, status: 'survived', schedules };
  } finally {
    runner.setMutation(undefined);
    runner.writers = undefined;
  }
}

/**
 * The focused search on the mutant's word (for a missing fence, also on the last store before the
 * fence left out): killed at the first FORBIDDEN outcome or livelock. The control run held the real
 * protocol to the bounded search and PCT, not to these schedules, so the killing schedule is run
 * once more without the mutation: if the real protocol fails there too, that is a finding.
 */
function focused(session: ExploreSession, scenario: Scenario, s: Site, mutation: Mutation, budget: number, window?: number): { schedules: number; outcome?: string } {
  const { runner } = session;
  const backOn = mutation.op === 'split-rmw' ? 'touch' : 'fire';
  const bad = (outcome: string) => outcome === STEP_LIMIT || verdictOf(scenario, outcome) === 'FORBIDDEN';
  const searches = [new FocusSearch({ buf: s.buf, addr: s.addr, backOn, thread: s.thread }, scenario.threads.length, window)];
  for (let i = 0; i < budget; i++) {
    const f = searches[i % searches.length];
    const { outcome } = runner.run(f.next());
    // a missing fence: take turns with a search on the last store before the fence it left out
    const fence = searches.length === 1 ? runner.skippedFenceWord() : undefined;
    if (fence && (fence.buf !== s.buf || fence.addr !== s.addr)) searches.push(new FocusSearch({ ...fence, backOn, thread: s.thread }, scenario.threads.length, window));
    if (!bad(outcome)) continue;
    confirmOnRealProtocol(runner, scenario, s, mutation, f, bad);
    return { schedules: i + 1, outcome };
  }
  return { schedules: budget };
}

/** Run the focused search's killing schedule on the real protocol (the control run never ran it). */
function confirmOnRealProtocol(runner: ScheduleRunner, scenario: Scenario, s: Site, mutation: Mutation, f: FocusSearch, bad: (o: string) => boolean): void {
  runner.setMutation(undefined);
  const real = runner.run(f.again()).outcome;
  runner.setMutation(mutation);
  if (bad(real)) throw new Error(`mutate: the real protocol of ${scenario.name} reaches "${real}" under a focused schedule (word ${s.where}): fix that before scoring mutants`);
}

/** Why the surviving mutant could not have changed anything in the schedules searched, if it could not. */
function noEffect(runner: ScheduleRunner, s: Site, operator: MutationOp, schedules = 0): string | undefined {
  const n = `${schedules} schedules searched`;
  if (operator === 'split-rmw') {
    const others = [...(runner.writers?.get(`${s.buf}|${s.addr}`) ?? [])].filter((t) => t !== s.thread);
    return others.length === 0 ? `no other thread wrote ${s.where} (${n}): no write can fall between the load and the store` : undefined;
  }
  if (runner.mutationFired() > 0) return undefined;
  if (operator === 'delay-store')
    return `no fence follows this store before the thread's next load or locked instruction (${n} under TSO): x86-TSO already lets it be seen late, there is no fence to leave out`;
  if (operator === 'skip-store') return `a silent store: it wrote the value ${s.where} already held in every one of the ${n}`;
  return undefined;
}

function summarise(scenario: string, all: Mutant[]): MutateResult {
  const killed = all.filter((m) => m.status === 'killed').length;
  const equivalent = all.filter((m) => m.status === 'equivalent').length;
  const counted = all.length - equivalent;
  return { scenario, mutants: all.length, killed, equivalent, score: counted > 0 ? killed / counted : null, survivors: all.filter((m) => m.status === 'survived'), all };
}
