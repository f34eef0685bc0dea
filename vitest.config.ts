import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Test files run one at a time: end-to-end tests start spinning role workers, and this
    // machine has 2 cores; two files at once would oversubscribe them.
    fileParallelism: false,
    pool: 'forks',
    // The explorer's largest searches (8,000 DFS schedules) take ~50 s on 2 cores: room for a slow machine.
    testTimeout: 180_000,
    hookTimeout: 60_000,
  },
});
