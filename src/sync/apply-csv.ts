import { tmpdir } from 'node:os';
import type { UserWork } from '../executor/apply-user.js';
import { openCheckpoint } from '../executor/log/checkpoint.js';
import { judgeFailure } from '../executor/retry.js';
import type { RunResult } from '../executor/run-apply.js';
import { type InputScan, scanInput } from '../reader/index.js';
import { VERSION } from '../version.js';
import { createWorkDir, removeWorkDir } from '../work-dir.js';
import { planMirror } from './apply-mirror.js';
import { UserSelection } from './apply-selection.js';
import { type ApplyJobOptions, type ApplyJobResult, shardText } from './apply-types.js';
import { applyOptions, runWrites, workOf } from './apply-writes.js';
import { limitFailures, userFailures } from './failure-items.js';
import type { FailuresSink } from './failures-file.js';
import { type PlannedUser, planUsers } from './plan-users.js';
import { loadSnapshot, saveSnapshot } from './state-snapshot.js';

/**
 * `cgsync apply input.csv`, in phases:
 * 1. scan: the file is validated and staged (rejected rows go to the failures file as they come);
 * 2. users are selected ({@link UserSelection}): with `--state`, users whose rows did not change are
 *    left out before any call, and in mirror mode users of the snapshot missing from the input are
 *    emptied; users the checkpoint has as done (a resumed run) are left out before they are read, so
 *    resuming a finished run makes no call;
 * 3. merge: users stream through read → plan → write, so reads and writes overlap. Mirror: every
 *    user is read and planned first, and the deletion guard is decided before anything is written
 *    ({@link planMirror});
 * 4. write and flush; the state snapshot is saved when the run finished.
 * Working files (the staged rows, mirror's plan) live in the run's working directory, removed when
 * the job ends, however it ends.
 */
export async function applyCsv(options: ApplyJobOptions, failures: FailuresSink): Promise<ApplyJobResult> {
  const snapshot =
    options.state === undefined
      ? undefined
      : await loadSnapshot(options.state, { mode: options.mode, shard: shardText(options.shard) });
  const dir = await createWorkDir(tmpdir());
  try {
    const scan = await scanCsv(options, failures, dir);
    const checkpoint = await openCheckpoint(options.checkpoint, {
      identity: {
        inputDigest: scan.summary.inputDigest,
        mode: options.mode,
        assumeEmpty: options.assumeEmpty,
        options: { shard: shardText(options.shard) },
      },
      toolVersion: VERSION,
    }).catch(async (err: unknown) => {
      await scan.dispose();
      throw err;
    });
    const selection = new UserSelection(snapshot, checkpoint, options);
    const planned = planUsers(selection.withVanished(scan.users()), {
      mode: options.mode,
      assumeEmpty: options.assumeEmpty,
      api: options.api,
      scheduler: options.scheduler,
      skip: selection.skip,
      ...(options.shard === undefined ? {} : { shard: options.shard }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.onWarning === undefined ? {} : { onWarning: options.onWarning }),
    });
    const report = (p: PlannedUser): UserWork => reportPlanned(p, failures);
    const base = {
      staleUsers: 0,
      replannedUsers: 0,
      scan: scan.summary,
      rejectedRows: scan.summary.rejectedRows,
    };

    let users: AsyncIterable<UserWork>;
    let mirror: Awaited<ReturnType<typeof planMirror>> | undefined;
    if (options.mode === 'mirror') {
      mirror = await planMirror(planned, options, dir, report, () => selection.unchangedMemberships).catch(
        async (err: unknown) => {
          await checkpoint.close();
          throw err;
        },
      );
      if (mirror.users === undefined) {
        await checkpoint.close();
        return {
          ...base,
          run: undefined,
          refused: mirror.guard,
          guard: mirror.guard,
          planSummary: mirror.summary,
          unchangedUsers: selection.unchangedUsers,
          failuresWritten: await failures.close(),
          stateSaved: false,
        };
      }
      users = mirror.users;
    } else users = mergeUsers(planned, report, options.signal);

    const progress = options.onPlanned?.(mirror?.summary);
    const applied = await runWrites(
      options,
      users,
      checkpoint,
      applyOptions(options, failures, selection.onOutcome, progress),
    );
    const run: RunResult =
      selection.resumedDone === 0
        ? applied
        : {
            ...applied,
            users: { ...applied.users, alreadyDone: applied.users.alreadyDone + selection.resumedDone },
          };
    let stateSaved = false;
    if (
      snapshot !== undefined &&
      options.state !== undefined &&
      run.fatal === undefined &&
      !run.interrupted
    ) {
      await saveSnapshot(options.state, snapshot);
      stateSaved = true;
    }
    return {
      ...base,
      run,
      ...(mirror === undefined ? {} : { guard: mirror.guard, planSummary: mirror.summary }),
      unchangedUsers: selection.unchangedUsers,
      failuresWritten: await failures.close(),
      stateSaved,
    };
  } finally {
    await removeWorkDir(dir);
  }
}

/** Phase 1: validates and stages the CSV in `dir`; rejected rows go to the failures file as they come. */
async function scanCsv(options: ApplyJobOptions, failures: FailuresSink, dir: string): Promise<InputScan> {
  await options.onPhase?.('scan');
  const scan = await scanInput(options.input, {
    tmpDir: dir,
    ...(options.strict === undefined ? {} : { strict: options.strict }),
    ...(options.maxInvalid === undefined ? {} : { maxInvalid: options.maxInvalid }),
    ...(options.groupNameLimit === undefined ? {} : { groupNameMaxBytes: options.groupNameLimit }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    onRejected: (rejection) => failures.writeRejected(rejection),
  });
  failures.open(scan.summary.header);
  return scan;
}

/**
 * A planned user as work for the executor. A user whose state could not be read fails whole: every
 * row goes to the failures file with the read's code. A user over a limit: its rows go there with
 * the limit's code.
 */
export function reportPlanned(p: PlannedUser, failures: FailuresSink): UserWork {
  if (p.readFailure !== undefined) {
    for (const item of userFailures(p.desired, p.readFailure.errorCode, p.readFailure.message)) {
      failures.writeFailed(item);
    }
    return { user: p.desired.user, operations: [], failure: p.readFailure };
  }
  for (const item of limitFailures(p.desired, p.plan)) failures.writeFailed(item);
  return workOf(p.plan, p.desired);
}

/** Merge: users stream through read → plan → write; a read stopped by the run's own signal ends the stream. */
export async function* mergeUsers(
  planned: AsyncIterable<PlannedUser>,
  report: (p: PlannedUser) => UserWork,
  signal: AbortSignal | undefined,
): AsyncGenerator<UserWork> {
  try {
    for await (const p of planned) yield report(p);
  } catch (err) {
    // A read stopped by the run's own signal: the run is interrupted, not failed.
    if (signal?.aborted === true && judgeFailure(err).kind === 'aborted') return;
    throw err;
  }
}
