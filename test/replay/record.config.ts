import { defineConfig } from 'vitest/config';

// `npm run histories:record`: runs each workflow once on the production engine and saves its history
// under test/replay/histories, for test/unit/workflow-replay.test.ts to replay against later code.
export default defineConfig({
  test: {
    include: ['test/replay/histories.record.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
    pool: 'forks',
  },
});
