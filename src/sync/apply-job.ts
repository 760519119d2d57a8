import { SyncError } from '../errors.js';
import { acquireLock } from '../executor/log/lock.js';
import { isPlanFile } from '../planner/plan-file.js';
import { applyCsv } from './apply-csv.js';
import { applyPlanFile } from './apply-plan-file.js';
import { applyStreaming, checkStreamOptions } from './apply-stream.js';
import type { ApplyJobOptions, ApplyJobResult } from './apply-types.js';
import { BackupFile } from './backup-file.js';
import { FailuresSink } from './failures-file.js';

export type { ApplyJobOptions, ApplyJobResult } from './apply-types.js';

/**
 * `cgsync apply`: the one-off migration and the nightly sync. Takes the checkpoint's lock (and the
 * state file's, `<state>.lock`, so that two runs sharing a state file never overlap), then
 * applies a CSV (apply-csv.ts) or a saved plan (apply-plan-file.ts). Never throws for failures of
 * the run itself: they are in `run` (fatal, interrupted).
 */
export async function runApplyJob(options: ApplyJobOptions): Promise<ApplyJobResult> {
  const planFile = await isPlanFile(options.input);
  if (options.replanStale === true && !planFile) {
    throw new SyncError('USAGE', `--replan-stale applies to a plan file; ${options.input} is not one`);
  }
  if (options.backup !== undefined && options.mode !== 'mirror') {
    throw new SyncError(
      'USAGE',
      '--backup is for --mode mirror: a merge never removes anything, so there is nothing to back up',
    );
  }
  if (options.backup !== undefined) await BackupFile.check(options.backup);
  if (options.stream === true) {
    if (planFile) throw new SyncError('USAGE', `--stream applies to a CSV; ${options.input} is a plan file`);
    checkStreamOptions(options);
  }
  const lock = await acquireLock(options.checkpoint);
  // The state file is shared by every night: two runs with different checkpoints must not both use it.
  const stateLock =
    options.state === undefined
      ? undefined
      : await acquireLock(options.state, { what: 'state file' }).catch(async (err: unknown) => {
          await lock.release();
          throw err;
        });
  const failures = new FailuresSink(options.failures);
  try {
    if (planFile) return await applyPlanFile(options, failures);
    return options.stream === true
      ? await applyStreaming(options, failures)
      : await applyCsv(options, failures);
  } catch (err) {
    // No result (a bad input, a signal while reading it): the previous failures file is kept.
    await failures.discard();
    throw err;
  } finally {
    await failures.close().catch(() => undefined);
    await stateLock?.release();
    await lock.release();
  }
}
