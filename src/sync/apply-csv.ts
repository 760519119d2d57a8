import { tmpdir } from 'node:os';
import type { UserWork } from '../executor/apply-user.js';
import type { Checkpoint } from '../executor/log/checkpoint.js';
import { judgeFailure } from '../executor/retry.js';
import type { RunResult } from '../executor/run-apply.js';
import type { DesiredUser } from '../model.js';
import { type InputScan, scanInput } from '../reader/index.js';
import { createWorkDir, removeWorkDir } from '../work-dir.js';
import { planMirror } from './apply-mirror.js';
import { UserSelection } from './apply-selection.js';
import { type ApplyJobOptions, type ApplyJobResult, shardText } from './apply-types.js';
import { applyOptions, openJobCheckpoint, runWrites, withJobFigures, workOf } from './apply-writes.js';
import { limitFailures, userFailures } from './failure-items.js';
import type { FailuresSink } from './failures-file.js';
import { inputFacts } from './input-facts.js';
import { countInputUsers, type InputTotals } from './input-totals.js';
import {
  type InputMatch,
  type LastInput,
  matchLastInput,
  readerFingerprint,
  readLastInput,
  recordLastInput,
} from './last-input.js';
import { type PlannedUser, planUsers } from './plan-users.js';
import { countReads } from './read-progress.js';
import { openStateFile, type StateIdentity, type StateSource } from './state-file.js';
import { clearStateMark, markStateUnsaved, repairUnsavedState } from './state-marker.js';

/**
 * `cgsync apply input.csv`, in phases:
 * 1. scan: the file is validated and staged (rejected rows go to the failures file as they come);
 * 2. users are selected ({@link UserSelection}): with `--state`, the input's users come in the
 *    canonical order and are merge-joined with the snapshot streamed beside them (STATE-FORMAT.md):
 *    users whose rows did not change are left out before any call, and in mirror mode users of the
 *    snapshot missing from the input are emptied once the guard, decided first from their counts in
 *    the snapshot, allows it; users the checkpoint has as done (a resumed run) are left out before
 *    they are read, so resuming a finished run makes no call;
 * 3. merge: users stream through read → plan → write, so reads and writes overlap. Mirror: every
 *    user is read and planned first, and the deletion guard is decided before anything is written
 *    ({@link planMirror});
 * 4. write and flush; the state snapshot is written anew, as a stream, when the write phase ends (a
 *    run stopped part way included).
 * Working files (the staged rows, mirror's plan) live in the run's working directory, removed when
 * the job ends, however it ends.
 */
export async function applyCsv(options: ApplyJobOptions, failures: FailuresSink): Promise<ApplyJobResult> {
  const started = performance.now();
  const identity: StateIdentity = {
    mode: options.mode,
    shard: shardText(options.shard),
    ...(options.target === undefined ? {} : { target: options.target }),
  };
  if (options.state !== undefined) await repairState(options.state, identity, options);
  const snapshot = options.state === undefined ? undefined : await openStateFile(options.state, identity);
  const dir = await createWorkDir(tmpdir());
  let selection: UserSelection | undefined;
  try {
    const { scan, last, checkpoint, totals } = await openInput(options, snapshot, failures, dir);
    const total = totals.users;
    const chosen = new UserSelection(snapshot, checkpoint, { ...options, dir });
    selection = chosen;
    if (last !== undefined) chosen.settleAsUnchanged(last);
    // Users done before count as done from the start (not as they are met: their burst would make
    // the rate, and so the ETA, absurd).
    const doneBefore = (): number => Math.max(chosen.resumedDone, totals.doneBefore);
    const settledUnread = (): number => chosen.unchangedUsers + doneBefore();
    const planOptions = {
      mode: options.mode,
      assumeEmpty: options.assumeEmpty,
      api: options.api,
      scheduler: options.scheduler,
      skip: chosen.skip,
      ...(options.shard === undefined ? {} : { shard: options.shard }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.onWarning === undefined ? {} : { onWarning: options.onWarning }),
    };
    // With a snapshot, users come in its order, so the two are merge-joined.
    const order = snapshot === undefined ? 'id' : 'canonical';
    const read = planUsers(scan === undefined ? noUsers() : chosen.join(scan.users({ order })), planOptions);
    const planned = countReads(read, total, options.onReadProgress, settledUnread);
    const report = (p: PlannedUser): UserWork => reportPlanned(p, failures);
    const base = {
      staleUsers: 0,
      replannedUsers: 0,
      scan: { rows: scan?.summary.rows ?? (last as LastInput).rows },
      rejectedRows: scan?.summary.rejectedRows ?? 0,
    };

    let users: AsyncIterable<UserWork>;
    let mirror: Awaited<ReturnType<typeof planMirror>> | undefined;
    if (options.mode === 'mirror') {
      const vanished =
        snapshot === undefined
          ? undefined
          : { counts: chosen.vanishedCounts, planned: () => planUsers(chosen.vanished(), planOptions) };
      mirror = await planMirror(
        planned,
        options,
        dir,
        report,
        () => chosen.unchangedMemberships,
        vanished,
      ).catch(async (err: unknown) => {
        await checkpoint.close();
        throw err;
      });
      if (mirror.users === undefined) {
        await checkpoint.close();
        return {
          ...base,
          run: undefined,
          refused: mirror.guard,
          guard: mirror.guard,
          planSummary: mirror.summary,
          unchangedUsers: chosen.unchangedUsers,
          failuresWritten: await failures.close(),
          stateSaved: false,
        };
      }
      users = mirror.users;
    } else users = mergeUsers(planned, report, options.signal);

    const sink = options.onPlanned?.(mirror?.summary, { users: total });
    // The users settled without a call (unchanged, done before) count as done for the progress.
    const progress = withJobFigures(sink, (stats) => ({
      ...stats,
      usersAlreadyDone: stats.usersAlreadyDone + doneBefore(),
      usersUnchanged: chosen.unchangedUsers,
      usersTotal: total,
    }));
    // From the first write until the snapshot is saved, it may not match the app for this run's users.
    if (options.state !== undefined) await markStateUnsaved(options.state, options.checkpoint);
    const applied = await runWrites(
      options,
      users,
      checkpoint,
      applyOptions(options, failures, chosen.onOutcome, progress),
    );
    // The run's duration is the job's: the scan and mirror's read phase included.
    const run: RunResult = {
      ...applied,
      durationMs: performance.now() - started,
      users: { ...applied.users, alreadyDone: applied.users.alreadyDone + chosen.resumedDone },
    };
    // Saved however the write phase ended: a run stopped part way (a signal, --max-duration, a fatal
    // error) has changed some users in the app, and the old snapshot would vouch for their old rows
    // (a later export back to those rows would leave them as this run made them). Its users that ended
    // done get their new lines; those it changed or may have changed without ending done lose theirs
    // (read again next time); the others keep theirs.
    let stateSaved = false;
    if (snapshot !== undefined && options.state !== undefined) {
      const generation = await chosen.save(identity);
      await clearStateMark(options.state);
      stateSaved = true;
      const settled = options.signal?.aborted !== true && allSettled(run, base.rejectedRows, chosen);
      // An input answered from its record leaves the snapshot and the record as they were.
      if (settled && scan !== undefined && generation !== undefined) {
        await recordInput(options.state, generation, options, scan, chosen.input).catch((err: unknown) => {
          // It only saves the next run time: the run itself is done and saved.
          options.onWarning?.(`${(err as Error).message}; the next run reads its input in full`);
        });
      }
    }
    return {
      ...base,
      run,
      ...(mirror === undefined ? {} : { guard: mirror.guard, planSummary: mirror.summary }),
      unchangedUsers: chosen.unchangedUsers,
      failuresWritten: await failures.close(),
      stateSaved,
    };
  } finally {
    await selection?.dispose();
    await removeWorkDir(dir);
  }
}

/**
 * With `--state`, the input's users are read in the canonical order, one partition of rows loaded
 * at a time: small partitions keep that load, and so the peak, the same whatever the number of users
 * (measured, bench/state-snapshot.ts: with the default 2 MiB a partition held 50k users at 50k and
 * 90k at 1M, and the peak grew with it).
 */
const STATE_PARTITION_BYTES = 256 * 1024;

/** Phase 1: validates and stages the CSV in `dir`; rejected rows go to the failures file as they come. */
async function scanCsv(options: ApplyJobOptions, failures: FailuresSink, dir: string): Promise<InputScan> {
  const scan = await scanInput(options.input, {
    tmpDir: dir,
    ...(options.strict === undefined ? {} : { strict: options.strict }),
    ...(options.maxInvalid === undefined ? {} : { maxInvalid: options.maxInvalid }),
    ...(options.groupNameLimit === undefined ? {} : { groupNameMaxBytes: options.groupNameLimit }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    // The join reads the users partition by partition (in the canonical order): rows go there at once.
    ...(options.state === undefined ? {} : { partitionBytes: STATE_PARTITION_BYTES, partitioned: true }),
    onRejected: (rejection) => failures.writeRejected(rejection),
  });
  failures.open(scan.summary.header);
  return scan;
}

/** The input as the write phase needs it; `scan` undefined: the snapshot's `last` input answered it. */
interface OpenedInput {
  readonly scan: InputScan | undefined;
  readonly last: LastInput | undefined;
  readonly checkpoint: Checkpoint;
  readonly totals: InputTotals;
}

/**
 * Phase 1 and the checkpoint. The CSV is validated and staged, unless the `--state` snapshot records it
 * as its last input (same bytes and reader options, every user settled: last-input.ts), and the
 * checkpoint is not a resumed one: then no row is read, and every user is unchanged.
 */
async function openInput(
  options: ApplyJobOptions,
  snapshot: StateSource | undefined,
  failures: FailuresSink,
  dir: string,
): Promise<OpenedInput> {
  await options.onPhase?.('scan');
  const answered = snapshot === undefined ? undefined : await unchangedInput(options, snapshot);
  let last = answered?.last;
  let scan = last === undefined ? await scanCsv(options, failures, dir) : undefined;
  const digest = scan?.summary.inputDigest ?? (answered as { match: InputMatch }).match.sha256;
  const checkpoint = await openJobCheckpoint(options, digest).catch(async (err: unknown) => {
    await scan?.dispose();
    throw err;
  });
  try {
    if (last !== undefined && checkpoint.doneUsers > 0) {
      // A resumed run counts its users done before apart: the rows are read after all.
      last = undefined;
      scan = await scanCsv(options, failures, dir);
    }
    if (scan === undefined) {
      const known = last as LastInput;
      failures.open(known.header);
      const how =
        answered?.match.kind === 'reordered'
          ? 'has the lines of the one its last run settled in full, in another order'
          : 'is the one its last run settled in full';
      options.onInfo?.(
        `state file ${options.state}: the input ${how} (${known.rows} rows, sha256 ${digest.slice(0, 12)}…): its ${known.users} users are unchanged, no row was read`,
      );
      return { scan, last, checkpoint, totals: { users: known.users, doneBefore: 0 } };
    }
    // The progress's total, before the first write: the users of the input (of the shard), those
    // done before included.
    const totals = await countInputUsers(scan, {
      checkpoint,
      ...(options.shard === undefined ? {} : { shard: options.shard }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    return { scan, last, checkpoint, totals };
  } catch (err) {
    await scan?.dispose();
    await checkpoint.close();
    throw err;
  }
}

/**
 * The snapshot's last input, when `options.input` is that file again (same bytes, same reader
 * options; last-input.ts) and `--refresh` does not ask to distrust the snapshot.
 */
async function unchangedInput(
  options: ApplyJobOptions,
  snapshot: StateSource,
): Promise<{ last: LastInput; match: InputMatch } | undefined> {
  if (options.refresh === true || !snapshot.current) return undefined;
  const last = await readLastInput(snapshot.path, snapshot.generation);
  if (last === undefined) return undefined;
  const match = await matchLastInput(options.input, last, readerFingerprint(options), options.signal);
  return match === undefined ? undefined : { last, match };
}

/**
 * Records the input of a run that settled every user of it beside the snapshot of `generation`,
 * after reading it once more for its lines (input-facts.ts). A file whose bytes changed while the
 * run read it is not recorded: what the snapshot holds is not known to be that file's.
 */
async function recordInput(
  state: string,
  generation: string,
  options: ApplyJobOptions,
  scan: InputScan,
  input: { readonly users: number; readonly memberships: number },
): Promise<void> {
  const facts = await inputFacts(options.input);
  if (facts.sha256 !== scan.summary.inputDigest) return;
  await recordLastInput(state, generation, {
    sha256: facts.sha256,
    bytes: facts.bytes,
    reader: readerFingerprint(options),
    rows: scan.summary.rows,
    users: input.users,
    memberships: input.memberships,
    header: scan.summary.header,
    ...(facts.lines === undefined ? {} : { lines: facts.lines }),
  });
}

/**
 * Whether a run settled every user of its input, so that the snapshot it saves holds exactly their
 * digests: it ran to its end, nothing was rejected, no user failed or was skipped, no operation
 * failed, and (mirror) no user of the snapshot missing from the export kept its line.
 */
function allSettled(run: RunResult, rejectedRows: number, chosen: UserSelection): boolean {
  return (
    !run.interrupted &&
    run.fatal === undefined &&
    rejectedRows === 0 &&
    run.users.failed === 0 &&
    run.users.skipped === 0 &&
    run.operations.failed === 0 &&
    chosen.vanishedKept === 0
  );
}

async function* noUsers(): AsyncGenerator<DesiredUser> {}

/**
 * A planned user as work for the executor. A user whose state could not be read fails whole: every
 * row goes to the failures file with the read's code. A user over a limit: its rows go there with
 * the limit's code.
 */
export function reportPlanned(p: PlannedUser, failures: Pick<FailuresSink, 'writeFailed'>): UserWork {
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

/**
 * A run that changed users and never saved the snapshot (state-marker.ts): the users it began lose
 * their digests (never unchanged) before this run reads it, and the run says so.
 */
async function repairState(state: string, identity: StateIdentity, options: ApplyJobOptions): Promise<void> {
  const repair = await repairUnsavedState(state, identity, {
    ...(options.refresh === undefined ? {} : { refresh: options.refresh }),
  });
  if (repair.kind === 'repaired') {
    options.onWarning?.(
      `state file ${state}: the run of checkpoint ${repair.checkpoint} changed users and stopped before saving it; the ${repair.users} users it began are read again`,
    );
  } else if (repair.kind === 'refresh') {
    options.onWarning?.(
      `state file ${state}: a run changed users and stopped before saving it, and its checkpoint cannot be read (${repair.reason}); with --refresh no line of it is trusted (${repair.users} users)`,
    );
  }
}
