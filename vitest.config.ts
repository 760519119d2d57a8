import { defineConfig } from 'vitest/config';

/**
 * Test files that measure real time (calls per second against an exact window, resident memory
 * over a run): they run in their own project, one file at a time, after every other file has
 * finished (`sequence.groupOrder`), so no other test file competes for the cores while they
 * measure. Everything else runs first, in parallel.
 */
const TIMING = [
  'test/timing/**/*.test.ts',
  'test/executor/limiters.test.ts',
  'test/executor/limiters-real-clock.test.ts',
  'test/executor/redis-gate.test.ts',
  'test/cli/shards-redis.test.ts',
  'test/faults/soak.test.ts',
];

const shared = {
  testTimeout: 30_000,
  hookTimeout: 30_000,
  pool: 'forks',
} as const;

export default defineConfig({
  test: {
    // Builds dist/ once for both projects (the root project's global setup runs once).
    globalSetup: ['test/global-setup.ts'],
    projects: [
      {
        test: {
          ...shared,
          name: 'main',
          include: ['test/**/*.test.ts'],
          exclude: TIMING,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...shared,
          name: 'timing',
          include: TIMING,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
