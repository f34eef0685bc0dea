// `bench`: the benchmark table (bench/run.ts), run from the package root with the same arguments.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type { Ctx, SetCode } from './context.js';

/** The package root, from src/cli or dist/src/cli. */
function packageRoot(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  for (const up of ['../..', '../../..']) {
    const root = fileURLToPath(new URL(up, `file://${here}/`));
    if (existsSync(`${root}/bench/run.ts`)) return root;
  }
  throw new Error('bench/run.ts not found: the benchmarks ship with the sources, not the package');
}

export function registerBench(program: Command, ctx: Ctx, setCode: SetCode): void {
  program
    .command('bench')
    .description('run the benchmarks (every figure a ratio against a baseline measured in the same run); --list, --only a,b, --json')
    .allowUnknownOption()
    .helpOption(false)
    .argument('[args...]', 'passed to the benchmark runner')
    .action(async (args: string[]) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], { cwd: packageRoot(), stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.on('data', (b: Buffer) => ctx.out(b.toString()));
      child.stderr.on('data', (b: Buffer) => ctx.err(b.toString()));
      const code = await new Promise<number>((done) => {
        child.on('error', (e) => {
          ctx.err(`${e.message}\n`);
          done(1);
        });
        child.on('close', (c) => done(c ?? 1));
      });
      setCode(code);
    });
}
