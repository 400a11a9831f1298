import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Starts PostgreSQL and Temporal once per run (and, on a fresh machine, builds the Temporal CLI;
    // vitest puts no timeout on globalSetup, so that build can take the minutes it needs).
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Global teardown stops both servers; vitest force-exits after this, so leave them time.
    teardownTimeout: 60_000,
    // Temporal's native bridge and workers don't belong in worker_threads.
    pool: 'forks',
    // 2-core machines: more parallel files just makes Temporal-backed tests time out.
    maxWorkers: 2,
  },
});
