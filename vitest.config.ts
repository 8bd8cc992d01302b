import { defineConfig } from 'vitest/config';

// Two projects, as the models do: fast unit tests beside the sources, and
// integration tests against the real engine with long timeouts.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts'],
          environment: 'node',
          // Property tests run thousands of cases: seconds on a busy 2-core machine. Nothing here asserts a duration.
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // One engine: files run one at a time so churn stays modest and predictable.
          fileParallelism: false,
        },
      },
    ],
  },
});
