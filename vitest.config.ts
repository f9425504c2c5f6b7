import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Builds dist/ first: workers and the CLI under test run the compiled code.
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Suites start worker pools of their own; on a 2-core machine two files at a time is enough.
    maxWorkers: 2,
  },
});
