// The explorer's commands: explore, replay, scenarios, merge (one file each). Registered on the main
// program by src/cli/main.ts; bad input is a ConfigError (exit 2), a FORBIDDEN outcome exits 3.
import type { Command } from 'commander';
import { registerExplore } from './explore-cmd.js';
import type { ExploreCtx } from './explore-options.js';
import { registerMerge } from './merge-cmd.js';
import { registerMutate } from './mutate-cmd.js';
import { registerReplay } from './replay-cmd.js';
import { registerScenarios } from './scenarios-cmd.js';
import { registerCoverage } from './coverage-cmd.js';

export { EXIT_FORBIDDEN, searchOptions, type ExploreCtx } from './explore-options.js';
export { formatExplore, formatScenarios } from './explore-format.js';

export const EXPLORE_COMMANDS = ['explore', 'replay', 'scenarios', 'merge', 'mutate', 'coverage'] as const;

export function registerExploreCommands(program: Command, ctx: ExploreCtx, setCode: (code: number) => void): void {
  registerExplore(program, ctx, setCode);
  registerReplay(program, ctx, setCode);
  registerScenarios(program, ctx, setCode);
  registerMerge(program, ctx, setCode);
  registerCoverage(program, ctx, setCode);
  registerMutate(program, ctx, setCode);
}
