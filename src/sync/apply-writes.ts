import type { FailedItem, UserWork } from '../executor/apply-user.js';
import { type Checkpoint, openCheckpoint } from '../executor/log/checkpoint.js';
import {
  type ApplyOptions,
  type LiveStats,
  type ProgressSink,
  type RunResult,
  runApply,
} from '../executor/run-apply.js';
import type { DesiredUser } from '../model.js';
import type { UserPlan } from '../planner/types.js';
import { VERSION } from '../version.js';
import { type ApplyJobOptions, shardText } from './apply-types.js';
import { BackupFile } from './backup-file.js';
import type { FailuresSink } from './failures-file.js';

/**
 * The job's checkpoint for an input of `inputDigest`: its identity is the input, the mode,
 * `assumeEmpty` and the shard (another run's file is refused), and it records the target.
 */
export function openJobCheckpoint(options: ApplyJobOptions, inputDigest: string): Promise<Checkpoint> {
  return openCheckpoint(options.checkpoint, {
    identity: {
      inputDigest,
      mode: options.mode,
      assumeEmpty: options.assumeEmpty,
      options: { shard: shardText(options.shard) },
    },
    toolVersion: VERSION,
    ...(options.target === undefined ? {} : { target: options.target }),
  });
}

/** What the executor is given for a planned user. */
export function workOf(plan: UserPlan, desired?: DesiredUser): UserWork {
  return {
    user: plan.user,
    operations: plan.operations,
    violations: plan.violations,
    ...(desired?.lineOf === undefined ? {} : { lineOf: desired.lineOf }),
  };
}

/** The executor options of a job: shared limiters, failures to the sink, user outcomes reported. */
export function applyOptions(
  options: ApplyJobOptions,
  failures: Pick<FailuresSink, 'writeFailed'>,
  onOutcome: ((user: string, outcome: 'done' | 'failed') => void) | undefined,
  progress: ProgressSink | undefined,
): ApplyOptions {
  return {
    limiters: options.scheduler,
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(progress === undefined ? {} : { progress }),
    ...(options.onWarning === undefined ? {} : { onWarning: options.onWarning }),
    onFailedItem: (item: FailedItem) => failures.writeFailed(item),
    onUserOutcome: (user: string, outcome: string) => {
      if (outcome === 'done' || outcome === 'already_done') onOutcome?.(user, 'done');
      else if (outcome === 'failed' || outcome === 'skipped') onOutcome?.(user, 'failed');
    },
  };
}

/**
 * The write phase of a job, the same for a CSV and a plan file: the `--backup` file is opened (what
 * each removal takes away is appended to it before its call), the users are applied (`write`), then
 * the checkpoint is flushed and closed (`flush`).
 */
export async function runWrites(
  options: ApplyJobOptions,
  users: AsyncIterable<UserWork>,
  checkpoint: Checkpoint,
  executor: ApplyOptions,
): Promise<RunResult> {
  let backup: BackupFile | undefined;
  try {
    backup = options.backup === undefined ? undefined : await BackupFile.open(options.backup);
  } catch (err) {
    await checkpoint.close();
    throw err;
  }
  const opened = backup;
  try {
    await options.onPhase?.('write');
    const run = await runApply({
      users,
      api: options.api,
      checkpoint,
      options: opened === undefined ? executor : { ...executor, beforeRemoval: (op) => opened.append(op) },
    });
    await options.onPhase?.('flush');
    return run;
  } finally {
    await checkpoint.close();
    await opened?.close();
  }
}

/**
 * `sink` told the job's own figures on top of the run's live ones (the users it settled without a
 * call, the total it knows): `figures` maps each reading of the run's.
 */
export function withJobFigures(
  sink: ProgressSink | undefined,
  figures: (stats: LiveStats) => LiveStats,
): ProgressSink | undefined {
  if (sink === undefined) return undefined;
  return { start: (live) => sink.start(() => figures(live())), stop: () => sink.stop() };
}
