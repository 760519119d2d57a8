// @ts-check
/**
 * StrykerJS on the core (`npm run mutate`, test/mutation/run.mjs; not in CI: it takes hours). One run
 * per folder: `CGSYNC_MUTATE=executor npx stryker run test/mutation/stryker.config.mjs` (from the repo's
 * top: the globs and paths below are relative to it) mutates src/executor only, keeps its own
 * incremental file (test/mutation/incremental/executor.json, committed) and reports under
 * reports/mutation/executor/, so a rerun only tests the mutants
 * whose code or covering tests changed (`--force` tests them all again). Without CGSYNC_MUTATE, every
 * folder at once. The globs take files moved into subfolders (src/executor/rate/…) along.
 */
export const FOLDERS = {
  planner: ['src/planner/**/*.ts'],
  executor: ['src/executor/**/*.ts'],
  tencent: ['src/tencent/**/*.ts'],
  // The reader's row rules: the header, one row's validation, and the row codec of the work files.
  reader: ['src/reader/**/header.ts', 'src/reader/**/row-validator.ts', 'src/reader/**/row-codec.ts'],
};

const folder = process.env.CGSYNC_MUTATE;
if (folder !== undefined && !(folder in FOLDERS)) {
  throw new Error(`CGSYNC_MUTATE=${folder}: expected one of ${Object.keys(FOLDERS).join(', ')}`);
}
const name = folder ?? 'all';
const out = `reports/mutation/${name}`;

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'test/mutation/vitest.config.ts', related: true },
  checkers: ['typescript'],
  // src only (test/mutation/tsconfig.json): a mutant's type errors are in src; type-checking the tests,
  // bench and scripts too made the checker's start 2.4x and each check slower.
  tsconfigFile: 'test/mutation/tsconfig.json',
  mutate:
    folder === undefined ? Object.values(FOLDERS).flat() : FOLDERS[/** @type {keyof FOLDERS} */ (folder)],
  // Two cores shared with other work: one test runner (the TypeScript checker is a second process).
  concurrency: 1,
  coverageAnalysis: 'perTest',
  incremental: true,
  // Committed (test/mutation/incremental/): a fresh clone's run tests again only the mutants whose code
  // or covering tests changed since the recorded one, instead of hours from scratch.
  incrementalFile: `test/mutation/incremental/${name}.json`,
  reporters: ['progress', 'clear-text', 'html', 'json'],
  htmlReporter: { fileName: `${out}/index.html` },
  jsonReporter: { fileName: `${out}/mutation.json` },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  thresholds: { high: 90, low: 80, break: null },
  ignorePatterns: ['dist', 'bench/out', 'coverage', '.cgsync', '.scratch', '.bench-build', 'reports'],
  tempDirName: '.stryker-tmp',
  timeoutMS: 10_000,
};
