// The soak: policy x notify x workload combinations in turn, each with a random fault plan drawn
// from the seed, the oracle's counters read every second (a violation stops that combination at
// once), a time series (throughput, RSS, pinned, resident, faults) and a summary per combination.
import { RunError } from '../core/errors.js';
import type { RunReport } from '../core/types.js';
import { violationTotal } from '../core/violations.js';
import { CTL } from '../machine/layout.js';
import { comparisonPairs } from '../policies/index.js';
import { workloadNames } from '../workloads/index.js';
import { resolveScenario, type PartialScenario } from './config.js';
import { randomFaultPlan } from './fault-plan-random.js';
import { runScenario, type LiveRun } from './orchestrator.js';
import { sumStat } from './report.js';
import { rssTrend, type RssTrend } from './rss-trend.js';
import type { ScenarioConfig } from './scenario.js';

export interface SoakSample {
  combo: string;
  /** Seconds since the soak started. */
  t: number;
  opsPerSecond: number;
  rssMB: number;
  pinned: number;
  resident: number;
  faults: number;
  violations: number;
}

export interface ComboSummary {
  combo: string;
  plan: string[];
  seconds: number;
  dmaOps: number;
  injected: number;
  survived: number;
  detected: number;
  violations: number;
  lostPayloads: number;
  rssStartMB: number;
  /** RSS once the combination has warmed up (after its first minute, or a quarter of it if shorter). */
  rssWarmMB: number;
  /** At the run's last sample, while its workers still live. */
  rssEndMB: number;
  /** (end - warm) / warm, in %. */
  rssGrowthPct: number;
  /** RSS's fitted slope over the samples after warm-up, MB/min with its 95% interval (rss-trend.ts). */
  rssTrend?: RssTrend;
  error?: string;
  /** The first try's workers did not start in time (a loaded machine): this is the second. */
  retried?: boolean;
  /** The oracle's record of the first violation (kind, role, page, frame, time, detail). */
  firstViolation?: string;
  reproduce: string;
}

export interface SoakOptions {
  durationMs: number;
  seed: number;
  /** The base scenario (flags), beside policy, notify, workload, duration, seed and plan. */
  base?: PartialScenario;
  /** policy/notify/workload triples to run (default: every compare pair x every workload). */
  combos?: [string, string, string][];
  sampleMs?: number;
  onSample?: (s: SoakSample) => void;
  onCombo?: (c: ComboSummary, index: number, total: number) => void;
  onStart?: (combo: string, index: number, total: number, plan: string[]) => void;
  signal?: AbortSignal;
}

export interface SoakResult {
  combos: ComboSummary[];
  series: SoakSample[];
  interrupted: boolean;
}

/** The orchestrator's error when the role workers did not start in time. */
const START_FAILED = 'starting the role workers did not finish';

const rssMB = () => process.memoryUsage().rss / 2 ** 20;

/** Every compare pair x every workload that runs on `base` (a trace replay needs its file; a working set must fit). */
export function soakCombos(base: PartialScenario = {}): [string, string, string][] {
  const runnable = (w: string) => {
    try {
      resolveScenario({ ...base, workload: w });
      return true;
    } catch {
      return false;
    }
  };
  return workloadNames().filter(runnable).flatMap((w) => comparisonPairs().map(([p, n]): [string, string, string] => [p, n, w]));
}

/** The one-line command that reruns a combination with its plan. */
export function reproduceLine(cfg: ScenarioConfig, base: PartialScenario, plan: string[]): string {
  const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
  const extra = base.guestPages !== undefined ? ` --guest-mem ${Number(base.guestPages) * 4}KiB` : '';
  const faults = plan.map((f) => ` --fault ${q(f)}`).join('');
  return `viommu-lab run --policy ${cfg.policy} --notify ${cfg.notify} --workload ${cfg.workload} --seed ${cfg.seed} --duration ${cfg.durationMs}ms${extra}${faults}`;
}

export async function soak(o: SoakOptions): Promise<SoakResult> {
  const combos = o.combos ?? soakCombos(o.base);
  const sliceMs = Math.max(2000, Math.floor(o.durationMs / combos.length));
  const result: SoakResult = { combos: [], series: [], interrupted: false };
  const t0 = performance.now();
  for (let i = 0; i < combos.length && !o.signal?.aborted; i++) {
    const [policy, notify, workload] = combos[i];
    const base = o.base ?? {};
    const cfg0 = resolveScenario({ ...base, policy, notify, workload, durationMs: sliceMs, seed: (o.seed + i) >>> 0 });
    const plan = randomFaultPlan(cfg0, (o.seed * 31 + i) >>> 0);
    const cfg = resolveScenario({ ...base, policy, notify, workload, durationMs: sliceMs, seed: cfg0.seed, faults: { plan } });
    const combo = `${policy}/${notify}/${workload}`;
    o.onStart?.(combo, i, combos.length, plan);
    const push = (s: Omit<SoakSample, 't'>) => {
      const sample = { ...s, t: (performance.now() - t0) / 1000 };
      result.series.push(sample);
      o.onSample?.(sample);
    };
    let summary = await runCombo(cfg, combo, plan, o, push);
    // workers that could not even start (a loaded machine) ran no protocol: one more try
    if (summary.error?.startsWith(START_FAILED) && !o.signal?.aborted) summary = { ...(await runCombo(cfg, combo, plan, o, push)), retried: true };
    summary.reproduce = reproduceLine(cfg, base, plan);
    result.combos.push(summary);
    o.onCombo?.(summary, i, combos.length);
  }
  result.interrupted = o.signal?.aborted ?? false;
  return result;
}

/** RSS once warm (after `at` ms of the run) and at the run's last sample. */
interface RssMarks {
  at: number;
  mb: number;
  last: number;
  /** The samples after warm-up: minutes since the run started, and MB. */
  minutes: number[];
  mbs: number[];
}

/** Every oracle counter a running machine keeps (the series' column and the stop condition). */
const LIVE_VIOLATIONS = ['VIOL_DMA', 'VIOL_LOST', 'VIOL_ACCT', 'VIOL_RELY', 'VIOL_WAKE', 'VIOL_MAPFAIL', 'VIOL_DRAIN'] as const;

/** Sample the live run every second: the series, and a violation ends the combination at once. */
function sampler(live: LiveRun, cfg: ScenarioConfig, combo: string, stop: AbortController, warm: RssMarks, push: (s: Omit<SoakSample, 't'>) => void, every: number): NodeJS.Timeout {
  const m = live.machine;
  let lastOps = 0;
  let lastT = performance.now();
  const started = performance.now();
  return setInterval(() => {
    const now = performance.now();
    const ops = sumStat(m, cfg.vcpus, 'guest', 'DMA_OPS');
    const violations = LIVE_VIOLATIONS.reduce((n, w) => n + Atomics.load(m.control, CTL[w]), 0);
    const rss = rssMB();
    if (warm.mb === 0 && now - started >= warm.at) warm.mb = rss;
    if (warm.mb !== 0) {
      warm.minutes.push((now - started) / 60_000);
      warm.mbs.push(rss);
    }
    warm.last = rss; // the run's last RSS while its workers live (after it, they are gone)
    push({ combo, opsPerSecond: ((ops - lastOps) * 1000) / Math.max(1, now - lastT), rssMB: rss, pinned: Atomics.load(m.control, CTL.PINNED_NOW), resident: Atomics.load(m.control, CTL.RESIDENT_NOW), faults: live.board.totalInjected(), violations });
    lastOps = ops;
    lastT = now;
    if (violations > 0) stop.abort();
  }, every);
}

async function runCombo(cfg: ScenarioConfig, combo: string, plan: string[], o: SoakOptions, push: (s: Omit<SoakSample, 't'>) => void): Promise<ComboSummary> {
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  o.signal?.addEventListener('abort', onAbort);
  const warm: RssMarks = { at: Math.min(60_000, cfg.durationMs / 4), mb: 0, last: 0, minutes: [], mbs: [] };
  const rssStartMB = rssMB();
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  let report: RunReport | undefined;
  let error: string | undefined;
  try {
    report = await runScenario(cfg, { signal: stop.signal, onStart: (live) => (timer = sampler(live, cfg, combo, stop, warm, push, o.sampleMs ?? 1000)) });
  } catch (e) {
    error = e instanceof RunError || e instanceof Error ? e.message : String(e);
  } finally {
    clearInterval(timer);
    o.signal?.removeEventListener('abort', onAbort);
  }
  return summarize(combo, plan, report, error, { rssStartMB, rssWarmMB: warm.mb, rssLastMB: warm.last, trend: rssTrend(warm.minutes, warm.mbs), seconds: (performance.now() - t0) / 1000 });
}

function summarize(combo: string, plan: string[], r: RunReport | undefined, error: string | undefined, f: { rssStartMB: number; rssWarmMB: number; rssLastMB: number; trend?: RssTrend; seconds: number }): ComboSummary {
  const v = r?.violations;
  const violations = v ? violationTotal(v) : 0;
  const byKind = r?.injectedFaults?.byKind ?? {};
  const injected = Object.values(byKind).reduce((s, c) => s + (c?.injected ?? 0), 0);
  // what the protocol saw and handled, as events: clean map failures, blocked rogue DMAs, balloon
  // inflations that met a mapped page (their refused pages are counted per kind in the JSON)
  const detected = (r?.mapFailures ?? 0) + (byKind['rogue-dma']?.blocked ?? 0) + (byKind.balloon?.refusals ?? 0);
  const rssEndMB = f.rssLastMB || rssMB();
  const warmMB = f.rssWarmMB || f.rssStartMB;
  return {
    combo,
    plan,
    seconds: f.seconds,
    dmaOps: r?.dmaOps ?? 0,
    injected,
    survived: error === undefined && violations === 0 ? injected : 0,
    detected,
    violations,
    lostPayloads: v?.lostPayloads ?? 0,
    rssStartMB: f.rssStartMB,
    rssWarmMB: warmMB,
    rssEndMB,
    rssGrowthPct: (100 * (rssEndMB - warmMB)) / warmMB,
    rssTrend: f.trend,
    firstViolation: v?.first ? `${v.first.kind} by ${v.first.role} at ${v.first.atMs} ms, page ${v.first.gfn}, frame ${v.first.frame}: ${v.first.detail}` : undefined,
    error: error ?? (r && r.teardownLeftovers.length > 0 ? `teardown left: ${r.teardownLeftovers.join('; ')}` : undefined),
    reproduce: '',
  };
}

/** A combination failed: an error, a violation or a lost payload. */
export const comboFailed = (c: ComboSummary): boolean => c.error !== undefined || c.violations > 0 || c.lostPayloads > 0;
