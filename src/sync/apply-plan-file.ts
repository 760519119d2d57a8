import { SyncError } from '../errors.js';
import type { UserWork } from '../executor/apply-user.js';
import { openCheckpoint } from '../executor/checkpoint.js';
import { runApply } from '../executor/run-apply.js';
import { readPlanFile } from '../planner/plan-file.js';
import { VERSION } from '../version.js';
import {
  type ApplyJobOptions,
  type ApplyJobResult,
  applyOptions,
  type FailuresSink,
  shardText,
  workOf,
} from './apply-common.js';
import { checkDeleteGuard, DEFAULT_MAX_DELETE, type GuardVerdict } from './guard.js';
import { inShard } from './shard.js';

/**
 * `cgsync apply plan.ndjson`: executes a saved plan exactly (made with the same mode and
 * assume-empty). In mirror mode the guard is decided from the plan's summary before any write.
 */
export async function applyPlanFile(
  options: ApplyJobOptions,
  failures: FailuresSink,
): Promise<ApplyJobResult> {
  const planFile = await readPlanFile(options.input);
  if (planFile.header.mode !== options.mode || planFile.header.assumeEmpty !== options.assumeEmpty) {
    throw new SyncError(
      'USAGE',
      `plan file ${options.input} was made with --mode ${planFile.header.mode}${planFile.header.assumeEmpty ? ' --assume-empty' : ''}; run apply with the same options`,
    );
  }
  failures.open();
  const checkpoint = await openCheckpoint(options.checkpoint, {
    identity: {
      inputDigest: `plan:${planFile.header.inputDigest}`,
      mode: options.mode,
      assumeEmpty: options.assumeEmpty,
      options: { shard: shardText(options.shard) },
    },
    toolVersion: VERSION,
  });
  let guard: GuardVerdict | undefined;
  if (options.mode === 'mirror') {
    guard = checkDeleteGuard(
      options.maxDelete ?? DEFAULT_MAX_DELETE,
      planFile.summary.memberships.removed,
      planFile.summary.memberships.examined,
    );
    options.onGuard?.(guard);
    if (!guard.ok) {
      await checkpoint.close();
      return {
        run: undefined,
        refused: guard,
        guard,
        unchangedUsers: 0,
        rejectedRows: 0,
        failuresWritten: 0,
        stateSaved: false,
      };
    }
  }
  const progress = options.onPlanned?.(planFile.summary);
  async function* work(): AsyncGenerator<UserWork> {
    for await (const plan of planFile.users) if (inShard(plan.user, options.shard)) yield workOf(plan);
  }
  const run = await runApply({
    users: work(),
    api: options.api,
    checkpoint,
    options: applyOptions(options, failures, undefined, progress),
  });
  await checkpoint.close();
  return {
    run,
    ...(guard === undefined ? {} : { guard }),
    planSummary: planFile.summary,
    unchangedUsers: 0,
    rejectedRows: 0,
    failuresWritten: await failures.close(),
    stateSaved: false,
  };
}
