import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { FastFirstSequencer } from './fast-first.js';

/**
 * The tests `npm run mutate` (StrykerJS, test/mutation/stryker.config.mjs) runs against each mutant:
 * the unit tests of the mutated folders, in this process, so that the mutated sources are what they
 * import. Stryker runs only the tests that cover a mutant (`coverageAnalysis: 'perTest'`), in one
 * worker thread, and stops at the first failure. Left out:
 * - everything that runs `dist/cli/main.js` or another built module as a process (test/cli,
 *   test/faults, test/sync, test/bench): a child process runs the built dist/, never the mutant;
 * - test/executor/redis-gate.test.ts: a real redis-server and driver processes on dist/, on the real
 *   clock (the gate's pure parts are in slot-pump.test.ts and redis-gate.unit.test.ts, which stay);
 * - test/planner/report-browser.test.ts: seconds of headless Chromium per run, for the HTML text that
 *   test/planner/report.test.ts checks already;
 * - the emulator's own tests (src/emulator is not mutated), and test/tencent/client-emulator.test.ts:
 *   the client against the emulator's HTTP server, whose worker thread runs dist/emulator/http-thread.js
 *   (not in Stryker's sandbox: the file fails there), on the real clock; test/tencent/client.test.ts
 *   covers the client on a stub server;
 * - test/executor/limiters-real-clock.test.ts: on two loaded cores its time bounds can fail by chance,
 *   which would count a mutant as killed; the same rules on an injected clock (limiters.test.ts,
 *   limiters.unit.test.ts) stay.
 * No global setup: nothing here needs dist/.
 *
 * Speed (a mutant's cost is mostly loading its test files): `isolate: false` lets the test files of a
 * run share the worker's module graph instead of each importing its own (all 510 tests pass that way,
 * and a mutant of a module-level constant is still re-evaluated: each run starts a fresh worker);
 * FastFirstSequencer runs last time's failing files, then the fastest, first, so that the bail on the
 * first failure stops a killed mutant early.
 */
export default defineConfig({
  // The repo's top, whatever the working directory (the include globs are relative to it).
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/{planner,executor,tencent,reader}/**/*.test.ts'],
    exclude: [
      'test/executor/redis-gate.test.ts',
      'test/executor/limiters-real-clock.test.ts',
      'test/planner/report-browser.test.ts',
      'test/tencent/client-emulator.test.ts',
    ],
    isolate: false,
    sequence: { sequencer: FastFirstSequencer },
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
