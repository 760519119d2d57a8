#!/usr/bin/env node
// `npm run mutate`: StrykerJS on the core, one folder at a time (test/mutation/stryker.config.mjs), then the mutation
// score per folder. Not in CI: a full run takes hours on two cores; reruns are incremental.
//
//   npm run mutate                       # planner, executor, tencent, reader in turn, then the scores
//   npm run mutate -- executor reader    # only those folders
//   npm run mutate -- --force executor   # test every mutant again, not only those whose code or tests changed
//   npm run mutate -- --report           # no run: the scores (and survivors) of the last reports
//   npm run mutate -- --report --files   # … and the score of each file
//   npm run mutate -- executor --only=src/executor/reconcile.ts,src/executor/log/*.ts
//                                        # mutate only those files; the folder's report keeps the
//                                        # results of its other files from earlier runs (incremental)
//
// Reports: reports/mutation/<folder>/index.html (browse the mutants), mutation.json; the incremental file of
// each folder is committed: test/mutation/incremental/<folder>.json.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FOLDERS } from './stryker.config.mjs';

// Stryker's globs and report paths are relative to the repo's top.
process.chdir(fileURLToPath(new URL('../..', import.meta.url)));
const CONFIG = 'test/mutation/stryker.config.mjs';

/**
 * The files whose surviving mutants are listed one by one (each must be killed or explained as
 * equivalent in test/MUTATION.md): the rate budget, the checkpoint, the reconciliation of unknown outcomes.
 */
const WATCHED = /^src\/executor\/(rate\/|log\/|reconcile\.ts$)/;

const args = process.argv.slice(2);
const force = args.includes('--force');
const reportOnly = args.includes('--report');
const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const unknown = args.filter(
  (a) => a.startsWith('--') && !['--force', '--report', '--files'].includes(a) && !a.startsWith('--only='),
);
const names = args.filter((a) => !a.startsWith('--'));
const bad = names.filter((n) => !(n in FOLDERS));
if (unknown.length > 0 || bad.length > 0) {
  console.error(
    `mutate: unknown ${[...unknown, ...bad].join(', ')}; expected folders among ${Object.keys(FOLDERS).join(', ')}, --force, --report, --files, --only=GLOBS`,
  );
  process.exit(2);
}
if (only !== undefined && (names.length !== 1 || only === '')) {
  console.error('mutate: --only=GLOBS takes one folder and a comma-separated list of files in it');
  process.exit(2);
}
const folders = names.length > 0 ? names : Object.keys(FOLDERS);

const commit = git(['rev-parse', '--short', 'HEAD']);
// The incremental files are the runs' own output, not the tree under test.
const dirty =
  git([
    'status',
    '--porcelain',
    '--untracked-files=no',
    '--',
    'src',
    'test',
    ':!test/mutation/incremental',
  ]) !== '';
const measuredAt = `${commit}${dirty ? ' with uncommitted changes' : ''}`;
const seconds = {};
let failed = false;
if (!reportOnly) {
  for (const folder of folders) {
    console.log(`\n== mutate ${folder} (${FOLDERS[folder].join(' ')})`);
    const started = Date.now();
    const run = spawnSync(
      'npx',
      ['stryker', 'run', ...(force ? ['--force'] : []), ...(only ? ['--mutate', only] : []), CONFIG],
      {
        stdio: 'inherit',
        env: { ...process.env, CGSYNC_MUTATE: folder },
      },
    );
    seconds[folder] = Math.round((Date.now() - started) / 1000);
    // The tree the mutants were tested on (the report itself does not say), per file: a run with --only
    // leaves the other files' results, and their commits, as they were.
    if (run.status === 0) recordMeasuredAt(folder);
    if (run.status !== 0) {
      failed = true;
      console.error(`mutate: stryker failed on ${folder} (exit ${String(run.status ?? run.signal)})`);
    }
  }
}

const rows = [];
const survivors = [];
const perFile = [];
for (const folder of folders) {
  const report = readReport(folder);
  if (report === undefined) {
    rows.push({ folder, missing: true });
    continue;
  }
  const measured = readMeasured(folder);
  const count = {
    Killed: 0,
    Timeout: 0,
    Survived: 0,
    NoCoverage: 0,
    CompileError: 0,
    RuntimeError: 0,
    Ignored: 0,
  };
  for (const [file, { mutants }] of Object.entries(report.files)) {
    const mine = { detected: 0, valid: 0 };
    for (const m of mutants) {
      count[m.status] = (count[m.status] ?? 0) + 1;
      if (m.status === 'Killed' || m.status === 'Timeout') mine.detected++;
      if (['Killed', 'Timeout', 'Survived', 'NoCoverage'].includes(m.status)) mine.valid++;
      if ((m.status === 'Survived' || m.status === 'NoCoverage') && WATCHED.test(file)) {
        const { line, column } = m.location.start;
        survivors.push(`${file}:${line}:${column} ${m.mutatorName} ${oneLine(m.replacement)} (${m.status})`);
      }
    }
    perFile.push({ file, ...mine, at: measured[file] ?? 'unknown' });
  }
  const detected = count.Killed + count.Timeout;
  const valid = detected + count.Survived + count.NoCoverage;
  const tree = [...new Set(Object.keys(report.files).map((f) => measured[f] ?? 'unknown'))].join(', ');
  rows.push({ folder, count, detected, valid, score: valid === 0 ? 100 : (100 * detected) / valid, tree });
}

console.log(`\nMutation score per folder (now at ${measuredAt}):`);
console.log('folder     score   killed timeout survived no-cov  invalid  run      measured at');
for (const r of rows) {
  if (r.missing) {
    console.log(`${r.folder.padEnd(10)} no report yet (npm run mutate -- ${r.folder})`);
    continue;
  }
  const c = r.count;
  const time = seconds[r.folder] === undefined ? '' : `${Math.round(seconds[r.folder] / 60)} min`;
  console.log(
    [
      r.folder.padEnd(10),
      `${r.score.toFixed(1)}%`.padStart(6),
      String(c.Killed).padStart(8),
      String(c.Timeout).padStart(7),
      String(c.Survived).padStart(8),
      String(c.NoCoverage).padStart(6),
      String(c.CompileError + c.RuntimeError).padStart(8),
      time.padStart(8),
      ` ${r.tree}`,
    ].join(' '),
  );
}
if (args.includes('--files')) {
  console.log('\nPer file (detected / valid mutants):');
  for (const f of perFile) {
    const score = f.valid === 0 ? 100 : (100 * f.detected) / f.valid;
    console.log(
      `  ${`${score.toFixed(1)}%`.padStart(6)} ${String(f.detected).padStart(4)}/${f.valid} ${f.file} (at ${f.at})`,
    );
  }
}
if (survivors.length > 0) {
  console.log('\nSurviving mutants in the rate budget, the checkpoint and the reconciliation:');
  for (const s of survivors) console.log(`  ${s}`);
}
const low = rows.filter((r) => !r.missing && r.score < 80).map((r) => r.folder);
if (low.length > 0) console.log(`\nBelow 80%: ${low.join(', ')}`);
process.exit(failed ? 1 : 0);

/**
 * A folder's last results: the HTML run's JSON report, or (a fresh clone, no run yet) the committed
 * incremental file, which Stryker writes in the same schema at the end of each run.
 */
function readReport(folder) {
  for (const path of [`reports/mutation/${folder}/mutation.json`, incrementalFile(folder)]) {
    if (existsSync(path)) return JSON.parse(readFileSync(path, 'utf8'));
  }
  return undefined;
}

function incrementalFile(folder) {
  return `test/mutation/incremental/${folder}.json`;
}

/** `{ file: commit }`: the tree each file's mutants were last tested on (committed beside the incremental file). */
function readMeasured(folder) {
  const path = `test/mutation/incremental/${folder}.measured.json`;
  return existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : {};
}

/** After a run: the files it mutated (all of the folder's, or those --only named) were tested at `measuredAt`. */
function recordMeasuredAt(folder) {
  const report = readReport(folder);
  if (report === undefined) return;
  const globs = (only ?? FOLDERS[folder].join(',')).split(',').map(globToRegExp);
  const measured = readMeasured(folder);
  for (const file of Object.keys(report.files)) {
    if (globs.some((g) => g.test(file))) measured[file] = measuredAt;
  }
  const sorted = Object.fromEntries(
    Object.entries(measured).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
  writeFileSync(`test/mutation/incremental/${folder}.measured.json`, `${JSON.stringify(sorted, null, 2)}\n`);
}

/** The globs --only and FOLDERS use: `**` any path, `*` any name part. */
function globToRegExp(glob) {
  const part = (text) => text.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*');
  return new RegExp(`^${glob.trim().split('**/').map(part).join('(?:.*/)?')}$`);
}

function git(gitArgs) {
  const run = spawnSync('git', gitArgs, { encoding: 'utf8' });
  return run.status === 0 ? run.stdout.trim() : 'unknown';
}

function oneLine(text) {
  const flat = String(text ?? '').replace(/\s+/g, ' ');
  return flat.length > 60 ? `${flat.slice(0, 57)}...` : flat;
}
