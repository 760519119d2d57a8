import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { UserWork } from '../executor/apply-user.js';
import { openCheckpoint } from '../executor/log/checkpoint.js';
import { judgeFailure } from '../executor/retry.js';
import { type RunResult, runApply } from '../executor/run-apply.js';
import type { DesiredUser } from '../model.js';
import { createPlanHeader, PlanFileWriter, readPlanFile } from '../planner/plan-file.js';
import { type PlanSummary, SummaryBuilder } from '../planner/summary.js';
import { scanInput } from '../reader/scan-input.js';
import { VERSION } from '../version.js';
import {
  type ApplyJobOptions,
  type ApplyJobResult,
  applyOptions,
  type FailuresSink,
  limitFailures,
  shardText,
  userFailures,
  workOf,
} from './apply-common.js';
import { checkDeleteGuard, DEFAULT_MAX_DELETE, type GuardVerdict } from './guard.js';
import { type PlannedUser, planUsers } from './plan-users.js';
import { loadSnapshot, type StateSnapshot, saveSnapshot } from './state-snapshot.js';

/**
 * `cgsync apply input.csv`. Pass 1 validates and stages the file (rejected rows go to the failures
 * file as they come). merge: users stream through read → plan → apply, so reads and writes overlap.
 * mirror: every user is read and planned first (into a temporary plan file, bounded memory), the
 * deletion guard is decided, and only then is anything written. `--state`: users whose rows did not
 * change are left out before any call; in mirror mode users of the snapshot missing from the input
 * are emptied (and counted by the guard). Users the checkpoint has as done (a resumed run) are left
 * out before they are read: resuming a finished run makes no call.
 */
export async function applyCsv(options: ApplyJobOptions, failures: FailuresSink): Promise<ApplyJobResult> {
  let rejectedRows = 0;
  const snapshot: StateSnapshot | undefined =
    options.state === undefined
      ? undefined
      : await loadSnapshot(options.state, { mode: options.mode, shard: shardText(options.shard) });

  // A CSV input. Pass 1: validate and stage; rejected rows go to the failures file as they come.
  await options.onPhase?.('scan');
  const scan = await scanInput(options.input, {
    ...(options.strict === undefined ? {} : { strict: options.strict }),
    ...(options.maxInvalid === undefined ? {} : { maxInvalid: options.maxInvalid }),
    ...(options.groupNameLimit === undefined ? {} : { groupNameMaxBytes: options.groupNameLimit }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    onRejected: (rejection) => {
      rejectedRows++;
      failures.writeRejected(rejection);
    },
  });
  failures.open(scan.summary.header);
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

  let unchangedUsers = 0;
  // Users done by an earlier run of this checkpoint, left out before any read.
  let resumedDone = 0;
  // Memberships of users left out as unchanged or done: the run looked at them through the snapshot or
  // the checkpoint, so they count in the guard's base (else one changed user out of thousands would
  // trip a percentage, and a resumed run would judge its rest against a smaller base).
  let unchangedMemberships = 0;
  // --state bookkeeping, only with a snapshot: the digests of users to apply (changed ones only),
  // and in mirror mode the snapshot's users not seen yet (left at the end: vanished, to be emptied).
  const pending = new Map<string, string>();
  const unseen =
    snapshot !== undefined && options.mode === 'mirror' ? new Set(snapshot.users.keys()) : undefined;
  const vanished = new Set<string>();
  const desiredUsers = scan.users();
  async function* withVanished(): AsyncGenerator<DesiredUser> {
    for await (const desired of desiredUsers) {
      unseen?.delete(desired.user);
      yield desired;
    }
    // Mirror with a snapshot: users applied last time and missing from tonight's export are emptied.
    for (const user of [...(unseen ?? [])].sort()) {
      vanished.add(user);
      yield { user, groups: [], lines: [], hasRejectedRows: false };
    }
  }
  const skip = (desired: DesiredUser, desiredDigest: () => string): boolean => {
    if (snapshot !== undefined) {
      const digest = desiredDigest();
      if (options.refresh !== true && snapshot.users.get(desired.user) === digest) {
        unchangedUsers++;
        for (const g of desired.groups) unchangedMemberships += g.conversations.length;
        return true;
      }
      if (!vanished.has(desired.user)) pending.set(desired.user, digest);
    }
    if (checkpoint.progressOf(desired.user)?.status === 'done') {
      resumedDone++;
      for (const g of desired.groups) unchangedMemberships += g.conversations.length;
      onOutcome?.(desired.user, 'done');
      return true;
    }
    return false;
  };
  // Applied users take their new digest; failed and emptied ones leave the snapshot (retried next time).
  const onOutcome =
    snapshot === undefined
      ? undefined
      : (user: string, outcome: 'done' | 'failed') => {
          const digest = pending.get(user);
          pending.delete(user);
          if (outcome === 'done' && digest !== undefined) snapshot.users.set(user, digest);
          else snapshot.users.delete(user);
        };
  const planned = planUsers(withVanished(), {
    mode: options.mode,
    assumeEmpty: options.assumeEmpty,
    api: options.api,
    scheduler: options.scheduler,
    skip,
    ...(options.shard === undefined ? {} : { shard: options.shard }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.onWarning === undefined ? {} : { onWarning: options.onWarning }),
  });

  let users: AsyncIterable<UserWork>;
  let guard: GuardVerdict | undefined;
  let planSummary: PlanSummary | undefined;
  const report = (p: PlannedUser): UserWork => {
    if (p.readFailure !== undefined) {
      // Its state could not be read: every row fails with the read's code; the user is failed.
      for (const item of userFailures(p.desired, p.readFailure.errorCode, p.readFailure.message)) {
        failures.writeFailed(item);
      }
      return { user: p.desired.user, operations: [], failure: p.readFailure };
    }
    for (const item of limitFailures(p.desired, p.plan)) failures.writeFailed(item);
    return workOf(p.plan, p.desired);
  };
  // Mirror: users whose state could not be read, reported in phase 1 and failed in phase 2.
  const unreadable: UserWork[] = [];
  if (options.mode === 'mirror') {
    // Phase 1: read and plan everyone, then decide the guard before the first write.
    await options.onPhase?.('read');
    const builder = new SummaryBuilder({ mode: options.mode, assumeEmpty: options.assumeEmpty });
    const tmpPlan = join(tmpdir(), `cgsync-mirror-${process.pid}-${Date.now()}.ndjson`);
    const writer = new PlanFileWriter(
      tmpPlan,
      createPlanHeader({
        mode: options.mode,
        assumeEmpty: options.assumeEmpty,
        options: {},
      }),
    );
    try {
      for await (const p of planned) {
        if (p.readFailure !== undefined) {
          unreadable.push(report(p));
          continue;
        }
        builder.addUser(p.plan);
        await writer.add(p.plan);
        // Limit failures are reported now; the desired rows are not kept for the apply phase.
        if (p.plan.violations.length > 0) report(p);
      }
      planSummary = builder.result();
      await writer.finish(planSummary);
    } catch (err) {
      await writer.abort();
      await checkpoint.close();
      throw err;
    }
    await options.onPhase?.('guard');
    guard = checkDeleteGuard(
      options.maxDelete ?? DEFAULT_MAX_DELETE,
      planSummary.memberships.removed,
      planSummary.memberships.examined + unchangedMemberships,
    );
    options.onGuard?.(guard);
    if (!guard.ok) {
      await checkpoint.close();
      await rm(tmpPlan, { force: true });
      return {
        staleUsers: 0,
        replannedUsers: 0,
        run: undefined,
        refused: guard,
        guard,
        scan: scan.summary,
        planSummary,
        unchangedUsers,
        rejectedRows,
        failuresWritten: await failures.close(),
        stateSaved: false,
      };
    }
    const planFile = await readPlanFile(tmpPlan);
    users = (async function* () {
      try {
        yield* unreadable;
        for await (const plan of planFile.users) yield workOf(plan);
      } finally {
        await rm(tmpPlan, { force: true });
      }
    })();
  } else {
    users = (async function* () {
      try {
        for await (const p of planned) yield report(p);
      } catch (err) {
        // A read stopped by the run's own signal: the run is interrupted, not failed.
        if (options.signal?.aborted === true && judgeFailure(err).kind === 'aborted') return;
        throw err;
      }
    })();
  }

  const progress = options.onPlanned?.(planSummary);
  await options.onPhase?.('write');
  const applied = await runApply({
    users,
    api: options.api,
    checkpoint,
    options: applyOptions(options, failures, onOutcome, progress),
  });
  const run: RunResult =
    resumedDone === 0
      ? applied
      : { ...applied, users: { ...applied.users, alreadyDone: applied.users.alreadyDone + resumedDone } };
  await options.onPhase?.('flush');
  await checkpoint.close();

  let stateSaved = false;
  if (snapshot !== undefined && options.state !== undefined && run.fatal === undefined && !run.interrupted) {
    await saveSnapshot(options.state, snapshot);
    stateSaved = true;
  }
  return {
    run,
    staleUsers: 0,
    replannedUsers: 0,
    ...(guard === undefined ? {} : { guard }),
    scan: scan.summary,
    ...(planSummary === undefined ? {} : { planSummary }),
    unchangedUsers,
    rejectedRows,
    failuresWritten: await failures.close(),
    stateSaved,
  };
}
