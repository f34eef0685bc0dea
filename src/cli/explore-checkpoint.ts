// explore --checkpoint / --resume: which file, and the options a resumed search runs with.
import { ConfigError } from '../core/errors.js';
import { CheckpointError, readCheckpoint, type CheckpointState } from '../explore/checkpoint.js';
import type { ExploreResult, SearchOptions, Slice } from '../explore/explore.js';
import type { Opts } from './context.js';
import { int, writableFile } from './explore-options.js';

/** Exit code of a search ended early by Ctrl-C or SIGTERM (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;

interface Parsed {
  options: SearchOptions;
  shard: Slice;
  threads: number;
}

/** The search options, taken from the checkpoint when resuming, and the checkpoint to keep. */
export function withCheckpoint(o: Opts, parse: (o: Opts) => Parsed): Parsed & { checkpoint?: { file: string; resume?: CheckpointState<SearchOptions, ExploreResult> } } {
  const resumeFile = typeof o.resume === 'string' ? o.resume : undefined;
  const file = typeof o.checkpoint === 'string' ? o.checkpoint : resumeFile;
  if (file === undefined) return parse(o);
  writableFile(o.checkpoint !== undefined ? '--checkpoint' : '--resume', file);
  if (o.shard !== undefined) throw new ConfigError('--shard', String(o.shard), 'is not available with --checkpoint / --resume');
  if (o.threads !== undefined && String(o.threads).trim() !== '1') throw new ConfigError('--threads', String(o.threads), 'must be 1 with --checkpoint / --resume');
  if (resumeFile === undefined) return { ...parse(o), checkpoint: { file } };
  let resume: CheckpointState<SearchOptions, ExploreResult>;
  try {
    resume = readCheckpoint<SearchOptions, ExploreResult>(resumeFile);
  } catch (e) {
    if (e instanceof CheckpointError) throw new ConfigError('--resume', resumeFile, e.message);
    throw e;
  }
  const budget = o.budget === undefined ? resume.options.budget : int('--budget', o.budget, resume.options.budget, 100_000_000);
  return { options: { ...resume.options, budget }, shard: { index: 0, count: 1 }, threads: 1, checkpoint: { file, resume } };
}
