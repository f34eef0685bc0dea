// What a benchmark gets from the runner, and what it gives back.
import type { BenchResult } from './report.js';

export interface BenchContext {
  /** os.availableParallelism() */
  cores: number;
  /** Progress line on stderr (stdout stays the table or the JSON). */
  log(message: string): void;
  /** Run a measurement at most once per run (several benchmarks may share it). */
  once<T>(key: string, measure: () => Promise<T>): Promise<T>;
}

export interface Benchmark {
  name: string;
  /** One line for `--list`. */
  title: string;
  run(ctx: BenchContext): Promise<BenchResult>;
}

export function newContext(cores: number, log: (m: string) => void): BenchContext {
  const cache = new Map<string, Promise<unknown>>();
  return {
    cores,
    log,
    once<T>(key: string, measure: () => Promise<T>): Promise<T> {
      let p = cache.get(key) as Promise<T> | undefined;
      if (!p) {
        p = measure();
        cache.set(key, p);
      }
      return p;
    },
  };
}

/** A note when a benchmark runs more spinning threads than cores (its tails are scheduler ticks). */
export function spinnerNotes(ctx: BenchContext, spinners: number): string[] {
  if (spinners <= ctx.cores) return [];
  return [`${spinners} spinning threads on ${ctx.cores} cores: oversubscribed, tails include scheduler ticks`];
}
