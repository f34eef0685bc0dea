// The explorer commands' flags, checked: every bad value is a ConfigError (exit 2) that names the
// flag, the value and what is allowed, raised before any worker starts.
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { fmtInt } from '../lab/table.js';
import type { Scenario } from '../core/scenario.js';
import { ScheduleDivergedError } from '../explore/choosers.js';
import { DEFAULT_MAX_STEPS, STRATEGIES, type SearchOptions, type Slice, type Strategy } from '../explore/explore.js';
import { allScenarios, UnknownScenarioError, scenarioByName } from '../explore/scenarios.js';
import { ScheduleSyntaxError } from '../explore/schedule-string.js';
import { MEMORY_MODELS, type MemoryModel } from '../explore/sched-layout.js';
import { UnknownVariantError, checkVariant } from '../explore/session.js';
import type { Opts } from './context.js';

/** Exit code of a search that found a FORBIDDEN outcome (0: none, 1: the explorer failed, 2: bad usage). */
export const EXIT_FORBIDDEN = 3;

export interface ExploreCtx {
  out: (s: string) => void;
  err: (s: string) => void;
  stderrIsTTY: boolean;
}

export const SCENARIO_NAMES = (): string => allScenarios().map((s) => s.name).join(', ');

export function int(field: string, raw: unknown, min: number, max: number): number {
  const s = String(raw).trim();
  if (!/^\d+$/.test(s) || Number(s) < min || Number(s) > max)
    throw new ConfigError(field, String(raw), `must be a whole number in ${fmtInt(min)}..${fmtInt(max)}`);
  return Number(s);
}

export const maxStepsOf = (o: Opts): number => int('--max-steps', o.maxSteps ?? String(DEFAULT_MAX_STEPS), 10, 1_000_000);

export function parseShard(raw: unknown): Slice {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(String(raw));
  const allowed = 'must be i/n with 0 <= i < n <= 4096, e.g. 0/4 (shard 0 of 4)';
  if (!m) throw new ConfigError('--shard', String(raw), allowed);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || count > 4096 || index >= count) throw new ConfigError('--shard', String(raw), allowed);
  return { index, count };
}

export function scenarioOf(raw: unknown): Scenario {
  if (typeof raw !== 'string') throw new ConfigError('--scenario', undefined, `one of ${SCENARIO_NAMES()}`);
  try {
    return scenarioByName(raw);
  } catch (e) {
    if (e instanceof UnknownScenarioError) throw new ConfigError('--scenario', raw, `allowed values are ${SCENARIO_NAMES()}`);
    throw e;
  }
}

export function variantOf(s: Scenario, raw: unknown): SearchOptions['variant'] {
  const v = typeof raw === 'string' ? raw : 'none';
  try {
    return checkVariant(s, v);
  } catch (e) {
    if (e instanceof UnknownVariantError)
      throw new ConfigError('--variant', v, `allowed values for ${s.name} are ${s.variants.join(', ')}`);
    throw e;
  }
}

export function memoryModelOf(o: Opts): MemoryModel {
  const m = String(o.memoryModel ?? 'sc');
  if (!(MEMORY_MODELS as readonly string[]).includes(m)) throw new ConfigError('--memory-model', m, `allowed values are ${MEMORY_MODELS.join(', ')}`);
  return m as MemoryModel;
}

/** DPOR keeps one search tree: no shards, no pool threads; its dependence is per word, so SC only. */
export function checkDpor(o: Opts, options: SearchOptions): void {
  if (options.strategy !== 'dpor') return;
  if (o.shard !== undefined) throw new ConfigError('--shard', String(o.shard), 'is not available with --strategy dpor (one search tree)');
  if (o.threads !== undefined && String(o.threads).trim() !== '1') throw new ConfigError('--threads', String(o.threads), 'must be 1 with --strategy dpor');
  if (options.memoryModel === 'tso')
    throw new ConfigError('--memory-model', 'tso', 'is not available with --strategy dpor (a drain writes many words in one step): use dfs');
}

export function searchOptions(o: Opts): { options: SearchOptions; shard: Slice; threads: number } {
  const scenario = scenarioOf(o.scenario);
  const strategy = String(o.strategy ?? 'mixed');
  if (!(STRATEGIES as readonly string[]).includes(strategy))
    throw new ConfigError('--strategy', strategy, `allowed values are ${STRATEGIES.join(', ')}`);
  return {
    options: {
      scenario: scenario.name,
      variant: variantOf(scenario, o.variant),
      strategy: strategy as Strategy,
      budget: int('--budget', o.budget ?? String(scenario.budget ?? 1000), 1, 100_000_000),
      seed: int('--seed', o.seed ?? '1', 0, 2 ** 31 - 1),
      depth: int('--depth', o.depth ?? '3', 1, 16),
      preemptions: int('--preemptions', o.preemptions ?? '2', 0, 16),
      maxSteps: maxStepsOf(o),
      stopOnForbidden: o.stopOnForbidden === true,
      memoryModel: memoryModelOf(o),
    },
    shard: o.shard === undefined ? { index: 0, count: 1 } : parseShard(o.shard),
    threads: int('--threads', o.threads ?? '1', 1, 64),
  };
}

/** Fail before the run, not after it, when an output file cannot be written. */
export function writableFile(field: string, file: string): void {
  // a directory (or a name ending in a slash) would only fail at the write, after the run
  if (/[\\/]$/.test(file) || (existsSync(file) && statSync(file).isDirectory()))
    throw new ConfigError(field, file, 'must be a file path, not a directory (e.g. trace.json)');
  const dir = dirname(resolve(file));
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    accessSync(dir, constants.W_OK);
  } catch {
    throw new ConfigError(field, file, `must be a file in an existing, writable directory (${dir} is not)`);
  }
}

/** A schedule that does not parse or does not fit the scenario is bad usage, not a failed run. */
export function usageError(e: unknown, field: string, raw: string): never {
  if (e instanceof ScheduleSyntaxError || e instanceof ScheduleDivergedError) throw new ConfigError(field, raw, e.message);
  throw e;
}
