import { SyncError } from '../errors.js';
import type { FailedItem, UserWork } from '../executor/apply-user.js';
import type { CheckpointStore } from '../executor/log/checkpoint.js';
import { readRemoteUser, reconcileOperation } from '../executor/reconcile.js';
import { failureCode, failureMessage, judgeFailure } from '../executor/retry.js';
import type { RunResult } from '../executor/run-apply.js';
import type { RemoteUser } from '../model.js';
import { readPlanFile } from '../planner/plan-file.js';
import { digestRemote } from '../planner/remote-digest.js';
import { inShard } from '../planner/shard.js';
import type { Operation, UserPlan } from '../planner/types.js';
import type { ApplyJobOptions, ApplyJobResult } from './apply-types.js';
import { applyOptions, openJobCheckpoint, runWrites, workOf } from './apply-writes.js';
import type { FailuresSink } from './failures-file.js';
import { checkDeleteGuard, DEFAULT_MAX_DELETE, type GuardVerdict } from './guard.js';
import { mapConcurrent } from './map-concurrent.js';

/** The failures-file code of a user refused because the app changed since the plan was made. */
export const STALE_PLAN = 'STALE_PLAN';

/** Reads in flight while checking users against the plan (as for planning reads). */
const READ_CONCURRENCY = 40;

/**
 * `cgsync apply plan.ndjson`: executes a saved plan (made with the same mode and assume-empty).
 * - The whole file is validated first (digest, structure, limits): an edited plan is refused before
 *   the first call.
 * - Terraform's stale-plan rule: each user is read again before its first write and refused (code
 *   STALE_PLAN, nothing written for it) when the app no longer holds what the plan was made from;
 *   with `replanStale` its operations are reduced to what is still missing instead. A plan made with
 *   `--assume-empty` recorded an empty app, so applying it twice refuses every user already written.
 *   Users the checkpoint has as done are skipped without a read; users it has as begun are reconciled
 *   as on any resume (their state is ours, not a change behind the plan's back).
 * - In mirror mode the guard is decided from the plan's summary before any write.
 */
export async function applyPlanFile(
  options: ApplyJobOptions,
  failures: FailuresSink,
): Promise<ApplyJobResult> {
  const started = performance.now();
  await options.onPhase?.('scan');
  const planFile = await readPlanFile(options.input);
  if (planFile.header.mode !== options.mode || planFile.header.assumeEmpty !== options.assumeEmpty) {
    throw new SyncError(
      'USAGE',
      `plan file ${options.input} was made with --mode ${planFile.header.mode}${planFile.header.assumeEmpty ? ' --assume-empty' : ''}; run apply with the same options`,
    );
  }
  await planFile.validate(options.signal);
  failures.open();
  const checkpoint = await openJobCheckpoint(options, `plan:${planFile.header.inputDigest}`);
  let guard: GuardVerdict | undefined;
  if (options.mode === 'mirror') {
    await options.onPhase?.('guard');
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
        staleUsers: 0,
        replannedUsers: 0,
        rejectedRows: 0,
        failuresWritten: 0,
        stateSaved: false,
      };
    }
  }
  const progress = options.onPlanned?.(planFile.summary);
  const check = new StaleCheck(options, checkpoint, failures);
  async function* selected(): AsyncGenerator<UserPlan> {
    for await (const plan of planFile.users) if (inShard(plan.user, options.shard)) yield plan;
  }
  async function* work(): AsyncGenerator<UserWork> {
    for await (const checked of mapConcurrent(selected(), READ_CONCURRENCY, (plan) => check.run(plan))) {
      if (checked === 'stopped') return;
      if (checked !== undefined) yield checked;
    }
  }
  const applied = await runWrites(
    options,
    work(),
    checkpoint,
    applyOptions(options, failures, undefined, progress),
  );
  // Users whose state could not be read for the check failed without a write.
  // The run's duration is the job's: reading and checking the plan file included.
  const run: RunResult = {
    ...applied,
    durationMs: performance.now() - started,
    users: { ...applied.users, failed: applied.users.failed + check.unread },
  };
  return {
    run,
    ...(guard === undefined ? {} : { guard }),
    planSummary: planFile.summary,
    unchangedUsers: 0,
    staleUsers: check.stale,
    replannedUsers: check.replanned,
    rejectedRows: 0,
    failuresWritten: await failures.close(),
    stateSaved: false,
  };
}

/** The stale-plan check of one user at a time (see {@link applyPlanFile}). */
class StaleCheck {
  readonly #options: ApplyJobOptions;
  readonly #checkpoint: CheckpointStore;
  readonly #failures: FailuresSink;
  stale = 0;
  replanned = 0;
  unread = 0;

  constructor(options: ApplyJobOptions, checkpoint: CheckpointStore, failures: FailuresSink) {
    this.#options = options;
    this.#checkpoint = checkpoint;
    this.#failures = failures;
  }

  /** The work to do for `plan`; undefined when the user is refused; 'stopped' when the run stops. */
  async run(plan: UserPlan): Promise<UserWork | undefined | 'stopped'> {
    // Nothing to write, or known to the checkpoint (done: skipped; begun: reconciled): no check.
    if (plan.operations.length === 0 || plan.violations.length > 0) return workOf(plan);
    if (this.#checkpoint.progressOf(plan.user) !== undefined) return workOf(plan);
    const signal = this.#options.signal;
    if (signal?.aborted === true) return 'stopped';
    let remote: RemoteUser;
    try {
      remote = await readRemoteUser(this.#options.api, this.#options.scheduler, plan.user, {
        ...(signal === undefined ? {} : { signal, stopSignal: signal }),
      });
    } catch (err) {
      const verdict = judgeFailure(err, signal === undefined ? {} : { signal });
      if (verdict.kind === 'aborted') return 'stopped';
      if (verdict.kind === 'fatal') throw err;
      this.unread++;
      this.#refuse(
        plan,
        failureCode(err),
        `reading the state to check the plan failed: ${failureMessage(err)}`,
      );
      return undefined;
    }
    if (digestRemote(remote) === plan.remoteDigest) return workOf(plan);
    if (this.#options.replanStale === true) {
      this.replanned++;
      const operations = plan.operations
        .map((op) => reconcileOperation(op, remote))
        .filter((op): op is Operation => op !== undefined);
      return { ...workOf(plan), operations };
    }
    this.stale++;
    this.#refuse(
      plan,
      STALE_PLAN,
      `the app changed since the plan was made; nothing was written for user ${plan.user}: make a new plan, or apply with --replan-stale`,
    );
    return undefined;
  }

  /** Writes the user's additions to the failures file (a CSV that re-plans them when applied). */
  #refuse(plan: UserPlan, errorCode: number | string, text: string): void {
    for (const op of plan.operations) {
      if (op.kind === 'delete') continue;
      const base: FailedItem = {
        user: plan.user,
        group: op.group,
        action: 'add',
        errorCode,
        message: text,
        opId: op.id,
      };
      if (op.kind === 'create' && op.add.length === 0)
        this.#failures.writeFailed({ ...base, action: 'create' });
      for (const conversation of op.add) this.#failures.writeFailed({ ...base, conversation });
    }
  }
}
