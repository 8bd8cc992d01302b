import { defineConfig } from 'vitest/config';

// Two projects, as the models do: fast unit tests beside the sources, and
// integration tests against the real engine with long timeouts.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'bench/**/*.test.ts'],
          exclude: ['src/**/*.fuzz.test.ts'],
          environment: 'node',
          // Property tests run thousands of cases: seconds on a busy 2-core machine. Nothing here asserts a duration.
          testTimeout: 30_000,
        },
      },
      {
        // The in-process fuzz suites (10,000 cases per route with CI=true) keep both cores busy for
        // minutes: they run after the other projects, so no timing-sensitive test shares the machine with them.
        test: {
          name: 'fuzz',
          include: ['src/**/*.fuzz.test.ts'],
          environment: 'node',
          sequence: { groupOrder: 1 },
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
