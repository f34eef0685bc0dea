// The command line: one file per command; this one builds the program and maps failures to exit
// codes: 0 ok, 1 the run failed, 2 bad usage or configuration (3: explore found FORBIDDEN outcomes).
import { readFileSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../core/errors.js';
import { registerBench } from './bench.js';
import { registerCompare } from './compare.js';
import { NAME, type Ctx, type RunScenario } from './context.js';
import { EXPLORE_COMMANDS, registerExploreCommands } from './explore.js';
import { registerRun } from './run.js';
import { registerTrace } from './trace-cmd.js';

export type { RunScenario } from './context.js';

export interface CliIO {
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  /** Whether stderr is a terminal, for the progress bar default (default: process.stderr.isTTY). */
  stderrIsTTY?: boolean;
  /** Stand-in for the orchestrator (tests). */
  runScenario?: RunScenario;
}

const ALL_COMMANDS: readonly string[] = ['run', 'compare', 'bench', 'trace', ...EXPLORE_COMMANDS];

/** The package's version, from src/cli or dist/src/cli. */
function version(): string {
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === NAME && pkg.version) return pkg.version;
    } catch {
      // not there: try one level up
    }
  }
  return 'unknown';
}

function buildProgram(ctx: Ctx, setCode: (code: number) => void): Command {
  const program = new Command(NAME)
    .description(
      'A laboratory for the memory-management designs of direct device assignment\n' +
        '(static pinning, coIOMMU, emulated vIOMMU) run on real worker threads over shared memory.',
    )
    .version(version(), '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({ writeOut: ctx.out, writeErr: ctx.err, outputError: () => {} })
    .addHelpText('after', `\nRun "${NAME} <command> --help" for the options, units and examples.\n`);
  registerRun(program, ctx, setCode);
  registerCompare(program, ctx, setCode);
  registerExploreCommands(program, ctx, setCode);
  registerBench(program, ctx, setCode);
  registerTrace(program, ctx, setCode);
  return program;
}

/** Runs the command line; returns the process exit code. */
export async function main(argv: string[], io: CliIO = {}): Promise<number> {
  const ctx: Ctx = {
    out: io.stdout ?? ((s) => void process.stdout.write(s)),
    err: io.stderr ?? ((s) => void process.stderr.write(s)),
    stderrIsTTY: io.stderrIsTTY ?? Boolean(process.stderr.isTTY),
    runScenario: io.runScenario,
  };
  let code = 0;
  const program = buildProgram(ctx, (c) => (code = c));
  if (argv.length === 0) {
    ctx.out(program.helpInformation());
    return 0;
  }
  const usage = (message: string) => {
    const cmd = argv.find((a) => ALL_COMMANDS.includes(a));
    ctx.err(`${NAME}: ${message}\nsee: ${NAME}${cmd ? ` ${cmd}` : ''} --help\n`);
    return 2;
  };
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : usage(e.message.replace(/^error: /, ''));
    if (e instanceof ConfigError) return usage(e.message);
    const msg = e instanceof Error ? e.message || e.name : String(e);
    ctx.err(`${NAME}: run failed: ${msg}\n`);
    return 1;
  }
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

/** A reader that went away (`| head`) is not an error: stop quietly. */
export function quietOnBrokenPipe(): void {
  for (const s of [process.stdout, process.stderr])
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw e;
    });
}

if (isEntryPoint()) {
  quietOnBrokenPipe();
  process.exitCode = await main(process.argv.slice(2));
}
