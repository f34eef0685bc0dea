import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

/** Newest (or oldest) modification time of the files under dir whose name ends with ext. */
function mtimes(dir: string, ext: string, pick: (a: number, b: number) => number, start: number): number {
  let t = start;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith(ext)) t = pick(t, statSync(join(e.parentPath, e.name)).mtimeMs);
  }
  return t;
}

/**
 * Workers (roles, explorer threads, pool tasks) start from dist/ when it was built after the last
 * change to src/ and workers/ (as in CI: build, then test); otherwise through tsx, from sources.
 */
function builtWorkersFresh(): boolean {
  try {
    const newestSource = Math.max(mtimes('src', '.ts', Math.max, 0), mtimes('workers', '.ts', Math.max, 0));
    const oldestBuilt = mtimes('dist', '.js', Math.min, Infinity);
    return oldestBuilt !== Infinity && oldestBuilt >= newestSource;
  } catch {
    return false; // no dist/: tsx
  }
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Test files run one at a time: end-to-end tests start spinning role workers, and this
    // machine has 2 cores; two files at once would oversubscribe them.
    fileParallelism: false,
    pool: 'forks',
    env: { VIOMMU_LAB_BUILT_WORKERS: builtWorkersFresh() ? '1' : '0' },
    // The explorer's largest searches (8,000 DFS schedules) take ~50 s on 2 cores: room for a slow machine.
    testTimeout: 180_000,
    hookTimeout: 60_000,
  },
});
