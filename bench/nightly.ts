/**
 * Nightly incremental sync (issue 5): mirror mode with `--state` after 1% of the users changed, versus
 * a full read-and-diff run (no `--state`) of the same export from the same app state.
 *
 *   node .bench-build/bench/nightly.js [--md out.md]
 *   env: NIGHTLY_USERS=20000 (FULL=1: 100000), NIGHTLY_RATE=1000, LATENCY=50, JITTER=20
 *
 * Night 0: 10 rows per user in ~2 groups (bench/gen-csv.ts); night 1 replaces one conversation of 1% of
 * the users. The emulator runs as its own process at `--rate-limit NIGHTLY_RATE` and cgsync at
 * `--rate NIGHTLY_RATE` to keep the bench within minutes (the table also gives the time at the
 * documented 200/s). Setup: the unlimited client (clients/unlimited.ts) writes night 0 into the emulator,
 * as the initial migration would have. Then, each a `cgsync apply --mode mirror` process:
 *   1. night 0, --state: reads everyone, writes nothing, saves the snapshot
 *   2. night 0 again, --state: the unchanged export (the same bytes: answered from `<state>.input`)
 *   3. night 1, no --state: the full read-and-diff
 *   (setup: the changed users' night-0 rows in mirror mode put them back as they were)
 *   4. night 1, --state: the incremental run, from the same app state as run 3
 * Runs 3 and 4 must leave the same end state (checked). Before run 3, `cgsync plan <night 1> --mode mirror`
 * (reading the app, as run 3 will) predicts its duration; the section compares the estimate with run 3.
 *
 * Why not seed with `cgsync emulator --state-file`: the emulator re-saves the whole state file at most
 * every 200 ms while it changes, and stringifying a 100k-user state stalls it for long enough to
 * distort the write phases being measured.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Endpoint } from '../src/tencent/wire.js';
import { type ApplyRun, cgsyncApply, cgsyncPlanEstimate, type PlanEstimate } from './lib/cgsync.js';
import { ensureCsv } from './lib/data.js';
import { type EmulatorProcess, startEmulatorProcess } from './lib/emulator-process.js';
import { lastJsonLine, runNode } from './lib/measure.js';
import { changeOnePercent, selectChangedUsers } from './lib/nightly-data.js';
import { BENCH_BUILD, DATA, OUT } from './lib/paths.js';
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

/** Writes `csv` into the emulator with the unlimited client (setup, not measured). */
async function seed(emulator: EmulatorProcess, csv: string): Promise<void> {
  const run = await runNode([
    join(BENCH_BUILD, 'clients', 'unlimited.js'),
    csv,
    '--endpoint',
    emulator.url,
    '--concurrency',
    '128',
  ]);
  const result = lastJsonLine(run);
  const failures = Object.values((result.endpoints ?? {}) as Record<string, { failures?: number }>).reduce(
    (n, e) => n + (e.failures ?? 0),
    0,
  );
  if (run.exitCode !== 0 || failures > 0) {
    throw new Error(
      `seeding failed (exit ${run.exitCode}, ${failures} failed calls): ${run.stderr.slice(-2000)}`,
    );
  }
  note(`seeded night 0 in ${secs(run.wallMs)}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { md: { type: 'string' } } });
  const users = envNumber('NIGHTLY_USERS', FULL ? 100_000 : 20_000);
  const rate = envNumber('NIGHTLY_RATE', 1000);
  const latency = envNumber('LATENCY', 50);
  const jitter = envNumber('JITTER', 20);
  const night0 = await ensureCsv({ rows: users * 10, users, groupsPerUser: 2 });
  const night1 = join(DATA, `nightly-${users}-night1.csv`);
  const revert = join(DATA, `nightly-${users}-revert.csv`);
  const changed = await changeOnePercent(night0, night1);
  await selectChangedUsers(night0, revert);
  const header = machineLine();

  const stateFile = join(OUT, 'nightly.state');
  const checkpoint = join(OUT, 'nightly.ckpt');
  const mirror = ['--mode', 'mirror', '--rate', String(rate)];
  const withState = [...mirror, '--state', stateFile];
  await rm(stateFile, { force: true });

  const emulator = await startEmulatorProcess([
    '--latency',
    String(latency),
    '--jitter',
    String(jitter),
    '--rate-limit',
    String(rate),
  ]);
  const runs: { name: string; r: ApplyRun }[] = [];
  let fullEnd: string;
  let incrementalEnd: string;
  let estimate: PlanEstimate;
  try {
    note(`seeding the emulator with night 0 (${night0})`);
    await seed(emulator, night0);
    note('run 1: night 0, --state');
    runs.push({
      name: '1. night 0, `--state` (first run: snapshot saved)',
      r: await cgsyncApply(night0, emulator.url, checkpoint, withState),
    });
    note('run 2: night 0 again, --state');
    runs.push({
      name: '2. night 0 again, `--state` (unchanged export)',
      r: await cgsyncApply(night0, emulator.url, checkpoint, withState),
    });
    note('plan: night 1, mirror, the estimate of run 3');
    estimate = await cgsyncPlanEstimate(night1, emulator.url, mirror);
    note('run 3: night 1, full read-and-diff');
    runs.push({
      name: '3. night 1 (1% changed), full read-and-diff (no `--state`)',
      r: await cgsyncApply(night1, emulator.url, checkpoint, mirror),
    });
    fullEnd = await emulator.stateText();
    note('setup: the changed users back to night 0');
    runs.push({
      name: '(setup: the changed users’ night-0 rows, no `--state`, `--max-delete 100%`)',
      // Every changed user loses a membership here, more than the guard's default 10% of this small file.
      r: await cgsyncApply(revert, emulator.url, checkpoint, [...mirror, '--max-delete', '100%']),
    });
    note('run 4: night 1, --state');
    runs.push({
      name: '4. night 1 (1% changed), `--state`',
      r: await cgsyncApply(night1, emulator.url, checkpoint, withState),
    });
    incrementalEnd = await emulator.stateText();
  } finally {
    await emulator.close();
  }
  const sameEnd = incrementalEnd === fullEnd;
  const full = (runs[2] as { r: ApplyRun }).r;
  const ratio = full.run.wallMs / 1000 / estimate.estimatedSeconds;
  // Run 2 makes no call: its wall time is start-up, the CSV scan and the snapshot, which the estimate leaves out.
  const noCalls = (runs[1] as { r: ApplyRun }).r.run.wallMs;
  const callsRatio = (full.run.wallMs - noCalls) / 1000 / estimate.estimatedSeconds;

  await emitSection(values.md, [
    '## Nightly incremental sync (issue 5)',
    '',
    header,
    '',
    'Command: `npm run bench` (this part alone: `node .bench-build/bench/nightly.js`; `FULL=1` for 100k users).',
    `${int(users)} users, 10 CSV rows each in ~2 groups (bench/gen-csv.ts); night 1 changes ${int(changed)} users (1%): one conversation replaced by another in one group.`,
    `Emulator process: \`cgsync emulator --latency ${latency} --jitter ${jitter} --rate-limit ${rate}\`, holding night 0 (written by the unlimited client before run 1, as the initial migration would have).`,
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
    `Estimate against the real duration (run 3): \`cgsync plan <night 1> --mode mirror --rate ${rate} --json\` just before it (same app state) estimated ${secs(estimate.estimatedSeconds * 1000)} (reading every user first: ${secs(estimate.estimatedReadSeconds * 1000)}; latency ${estimate.latencyMs} ms, the median of the plan's own reads; 60 users in flight; at most the ${estimate.observedCallsPerSecond.toFixed(0)} reads/s the plan reached; plan's wall time ${secs(estimate.run.wallMs)}); run 3 took ${secs(full.run.wallMs)} of wall time (start-up and the CSV scan included), ${ratio.toFixed(2)}× the estimate; without the ${secs(noCalls)} that run 2 (no call) spent starting and hashing its export (answered from \`<state>.input\`: the same bytes as run 1, settled in full), ${callsRatio.toFixed(2)}×. The estimate counts the rate, the latency, the calls in flight and what the plan's reads reached; the CPU time a loaded machine stretches differently from one run to the next is what is left.`,
    '',
    `Reads in the full run: ${(full.endpoints.get_contact_group.calls / (full.run.wallMs / 1000)).toFixed(0)} per second of wall time at \`--rate ${rate}\` (start-up and CSV scan included).`,
    `Runs 3 and 4 start from the same app state and leave the same end state: ${sameEnd ? 'yes' : '**NO**'}. ${loadLine()} at end.`,
  ]);
  if (!sameEnd) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
