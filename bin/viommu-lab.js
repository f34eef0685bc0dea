#!/usr/bin/env node
// Launcher: the compiled CLI when it has been built, otherwise the TypeScript sources through tsx.
import { existsSync } from 'node:fs';

const dist = new URL('../dist/src/cli/main.js', import.meta.url);
let cli;
if (existsSync(dist)) {
  cli = await import(dist.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(new URL('../src/cli/main.ts', import.meta.url).href);
}
cli.quietOnBrokenPipe(); // `viommu-lab ... | head` is not an error
process.exitCode = await cli.main(process.argv.slice(2));
