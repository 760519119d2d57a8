/**
 * Nightly incremental sync (issue 5): mirror mode with `--state` after 1% of the users changed, versus
 * a full read-and-diff run (no `--state`) of the same export from the same app state.
 *
 *   node .bench-build/bench/nightly.js [--md out.md]
 *   env: NIGHTLY_USERS=20000 (FULL=1: 100000), NIGHTLY_RATE=1000, LATENCY=50, JITTER=20
 *
 * Night 0: 10 rows per user (bench/gen-csv.ts). The emulator process starts from a state file in which
 * every user already has night 0's groups (as the initial migration left it). Then, each as its own
 * process, with the emulator at `--rate-limit NIGHTLY_RATE` and cgsync at `--rate NIGHTLY_RATE` to keep
 * the bench within minutes (the table also gives the time at the documented 200/s):
 *   1. night 0, mirror, --state: reads everyone, writes nothing, saves the snapshot
 *   2. night 0 again, --state: the unchanged export
 *   3. night 1 (1% of users changed), mirror, --state
 *   4. the emulator restarted from the same seed; night 1, mirror, no --state: the full read-and-diff
 * Runs 3 and 4 must leave the same end state (checked).
 */
import { copyFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Endpoint } from '../src/tencent/wire.js';
import { type ApplyRun, cgsyncApply } from './lib/cgsync.js';
import { ensureCsv } from './lib/data.js';
import { type EmulatorProcess, startEmulatorProcess } from './lib/emulator-process.js';
import { changeOnePercent, writeSeedState } from './lib/nightly-data.js';
import { DATA, OUT } from './lib/paths.js';
import {
  emitSection,
  envNumber,
  FULL,
  int,
  loadLine,
  machineLine,
  mb,
  note,
  secs,
  table,
} from './lib/report.js';

const DOCUMENTED_RATE = 200;
const WRITES: readonly Endpoint[] = ['create_contact_group', 'update_contact_group', 'del_contact_group'];

/** Mirror mode reads every affected user first, then writes: the two phases add up. */
function timeAt200(r: ApplyRun): number {
  const reads = r.endpoints.get_contact_group.calls;
  const writes = Math.max(...WRITES.map((e) => r.endpoints[e].calls));
  return ((reads + writes) / DOCUMENTED_RATE) * 1000;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { md: { type: 'string' } } });
  const users = envNumber('NIGHTLY_USERS', FULL ? 100_000 : 20_000);
  const rate = envNumber('NIGHTLY_RATE', 1000);
  const latency = envNumber('LATENCY', 50);
  const jitter = envNumber('JITTER', 20);
  const night0 = await ensureCsv({ rows: users * 10, users });
  const night1 = join(DATA, `nightly-${users}-night1.csv`);
  const seed = join(DATA, `nightly-${users}-seed.json`);
  const changed = await changeOnePercent(night0, night1);
  note(`night 1: ${changed} users changed; seeding the emulator state`);
  await writeSeedState(night0, seed);
  const header = machineLine();

  const stateFile = join(OUT, 'nightly.state');
  const scratch = join(OUT, 'nightly-emulator.json');
  const checkpoint = join(OUT, 'nightly.ckpt');
  const emulatorArgs = [
    '--latency',
    String(latency),
    '--jitter',
    String(jitter),
    '--rate-limit',
    String(rate),
    '--state-file',
    scratch,
  ];
  const applyArgs = ['--mode', 'mirror', '--rate', String(rate)];
  const startSeeded = async (): Promise<EmulatorProcess> => {
    await copyFile(seed, scratch);
    return startEmulatorProcess(emulatorArgs);
  };
  await rm(stateFile, { force: true });

  const runs: { name: string; r: ApplyRun }[] = [];
  let emulator = await startSeeded();
  let incrementalEnd: string;
  try {
    note('run 1: night 0, mirror, --state');
    runs.push({
      name: '1. night 0, `--state` (first run: snapshot saved)',
      r: await cgsyncApply(night0, emulator.url, checkpoint, [...applyArgs, '--state', stateFile]),
    });
    note('run 2: night 0 again, --state');
    runs.push({
      name: '2. night 0 again, `--state` (unchanged export)',
      r: await cgsyncApply(night0, emulator.url, checkpoint, [...applyArgs, '--state', stateFile]),
    });
    note('run 3: night 1, --state');
    runs.push({
      name: '3. night 1 (1% changed), `--state`',
      r: await cgsyncApply(night1, emulator.url, checkpoint, [...applyArgs, '--state', stateFile]),
    });
    incrementalEnd = await emulator.stateText();
  } finally {
    await emulator.close();
  }
  emulator = await startSeeded();
  let fullEnd: string;
  try {
    note('run 4: night 1, full read-and-diff');
    runs.push({
      name: '4. night 1 (1% changed), full read-and-diff (no `--state`)',
      r: await cgsyncApply(night1, emulator.url, checkpoint, applyArgs),
    });
    fullEnd = await emulator.stateText();
  } finally {
    await emulator.close();
    await rm(scratch, { force: true });
  }
  const sameEnd = incrementalEnd === fullEnd;
  const full = (runs[3] as { r: ApplyRun }).r;
  const endLoad = loadLine();

  await emitSection(values.md, [
    '## Nightly incremental sync (issue 5)',
    '',
    header,
    '',
    'Command: `npm run bench` (this part alone: `node .bench-build/bench/nightly.js`; `FULL=1` for 100k users).',
    `${int(users)} users, 10 CSV rows each (bench/gen-csv.ts); night 1 changes ${int(changed)} users (1%): one conversation replaced by another in one group.`,
    `Emulator process: \`cgsync emulator --latency ${latency} --jitter ${jitter} --rate-limit ${rate} --state-file …\`, started from night 0’s state (as the initial migration left it); restarted from it before run 4.`,
    `cgsync processes: \`cgsync apply <csv> --mode mirror --rate ${rate} [--state nightly.state] --json\`. The rate is raised from 200 to ${rate} to keep the bench short; “at 200/s” is (reads + the busiest write endpoint’s calls) / 200, since mirror reads every affected user before the first write.`,
    '',
    table(
      ['run', 'users skipped (unchanged)', 'get', 'update', 'create', 'del', 'wall', 'at 200/s', 'peak RSS'],
      runs.map(({ name, r }) => [
        name,
        int(r.unchangedUsers),
        int(r.endpoints.get_contact_group.calls),
        int(r.endpoints.update_contact_group.calls),
        int(r.endpoints.create_contact_group.calls),
        int(r.endpoints.del_contact_group.calls),
        secs(r.run.wallMs),
        secs(timeAt200(r)),
        mb(r.run.peakRssBytes),
      ]),
    ),
    '',
    `Reads in the full run: ${(full.endpoints.get_contact_group.calls / (full.run.wallMs / 1000)).toFixed(0)} per second of wall time at \`--rate ${rate}\` (start-up and CSV scan included).`,
    `Runs 3 and 4 leave the same end state in the emulator: ${sameEnd ? 'yes' : '**NO**'}. ${endLoad} at end.`,
  ]);
  if (!sameEnd) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
