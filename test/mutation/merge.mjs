#!/usr/bin/env node
// Merges Stryker incremental files of one folder, written by runs in other checkouts (runs of different
// files of a folder, in parallel, each in its own checkout), into the committed one:
//
//   node test/mutation/merge.mjs executor /work/wt/a/reports/mutation/executor/incremental.json@17e1ee2 …
//
// For each source file, the last input that holds it wins (its mutants, and the commit after `@`, which
// test/mutation/incremental/<folder>.measured.json records). Test ids are numbered per report, so the
// tests are matched by file and name and numbered anew; a test file present in several inputs keeps the
// tests of all of them and the source of the last. A later incremental run compares the test files with
// that source: a mutant measured against an older version of a test file whose tests only grew is not
// tested again (its Killed stands; a Survived may be stale, on the side of a lower score).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FOLDERS } from './stryker.config.mjs';

process.chdir(fileURLToPath(new URL('../..', import.meta.url)));
const [folder, ...inputs] = process.argv.slice(2);
if (folder === undefined || !(folder in FOLDERS) || inputs.length === 0) {
  console.error(`usage: merge.mjs <${Object.keys(FOLDERS).join('|')}> <incremental.json>[@commit] …`);
  process.exit(2);
}
const target = `test/mutation/incremental/${folder}.json`;
const measuredPath = `test/mutation/incremental/${folder}.measured.json`;
const sources = [
  ...(existsSync(target) ? [{ path: target, commit: undefined }] : []),
  ...inputs.map((arg) => {
    const at = arg.lastIndexOf('@');
    return at > 0 ? { path: arg.slice(0, at), commit: arg.slice(at + 1) } : { path: arg, commit: undefined };
  }),
];

const measured = existsSync(measuredPath) ? JSON.parse(readFileSync(measuredPath, 'utf8')) : {};
const testFiles = new Map(); // path -> { source, names: Map<name, newId> }
const files = {};
let nextId = 0;
let base;
for (const { path, commit } of sources) {
  const report = JSON.parse(readFileSync(path, 'utf8'));
  base ??= report;
  const idOf = new Map(); // this report's test id -> merged id
  for (const [testPath, { tests, source }] of Object.entries(report.testFiles ?? {})) {
    const merged = testFiles.get(testPath) ?? { source, tests: new Map() };
    merged.source = source;
    for (const t of tests) {
      let entry = merged.tests.get(t.name);
      if (entry === undefined) {
        entry = { ...t, id: String(nextId++) };
        merged.tests.set(t.name, entry);
      }
      idOf.set(t.id, entry.id);
    }
    testFiles.set(testPath, merged);
  }
  const remap = (ids) => ids?.map((id) => idOf.get(id) ?? id);
  for (const [file, result] of Object.entries(report.files)) {
    files[file] = {
      ...result,
      mutants: result.mutants.map((m) => ({
        ...m,
        ...(m.coveredBy ? { coveredBy: remap(m.coveredBy) } : {}),
        ...(m.killedBy ? { killedBy: remap(m.killedBy) } : {}),
      })),
    };
    if (commit !== undefined) measured[file] = commit;
  }
}

const out = {
  ...base,
  files: Object.fromEntries(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
  testFiles: Object.fromEntries(
    [...testFiles].map(([path, { source, tests }]) => [path, { tests: [...tests.values()], source }]),
  ),
  projectRoot: '.',
};
writeFileSync(target, `${JSON.stringify(out)}\n`);
const sorted = Object.fromEntries(Object.entries(measured).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
writeFileSync(measuredPath, `${JSON.stringify(sorted, null, 2)}\n`);
console.log(`${target}: ${Object.keys(files).length} files, ${nextId} tests`);
