import { defineConfig } from 'vitest/config';

/**
 * The tests `npm run mutate` (StrykerJS, stryker.config.mjs) runs against each mutant: the unit tests
 * of the mutated folders, in this process, so that the mutated sources are what they import. Stryker
 * runs only the tests that cover a mutant (`coverageAnalysis: 'perTest'`). Left out:
 * - everything that runs `dist/cli/main.js` or another built module as a process (test/cli,
 *   test/faults, test/sync, test/bench, the driver processes of test/executor/redis-gate.test.ts):
 *   a child process runs the built dist/, never the mutant, so those tests cannot kill one;
 * - test/planner/report-browser.test.ts: seconds of headless Chromium per run, for the HTML text that
 *   test/planner/report.test.ts checks already;
 * - the emulator's own tests (src/emulator is not mutated).
 * No global setup: nothing here needs dist/ (the redis-gate drivers that do are covered by nothing
 * mutated, so Stryker never runs them against a mutant).
 */
export default defineConfig({
  test: {
    include: ['test/{planner,executor,tencent,reader}/**/*.test.ts'],
    exclude: ['test/planner/report-browser.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
