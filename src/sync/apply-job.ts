import { open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SyncError } from '../errors.js';
import type { FailedItem, UserWork } from '../executor/apply-user.js';
import { openCheckpoint } from '../executor/checkpoint.js';
import { FailuresWriter } from '../executor/failures-file.js';
import type { EndpointScheduler } from '../executor/limiters.js';
import { acquireLock } from '../executor/lock.js';
import type { ProgressSink, RunResult } from '../executor/run-apply.js';
import { runApply } from '../executor/run-apply.js';
import { type DesiredUser, type Mode, membershipKey } from '../model.js';
import { createPlanHeader, PlanFileWriter, readPlanFile } from '../planner/plan-file.js';
import { type PlanSummary, SummaryBuilder } from '../planner/summary.js';
import type { UserPlan } from '../planner/types.js';
import { scanInput } from '../reader/scan-input.js';
import type { ScanSummary } from '../reader/types.js';
import type { ChatApi } from '../tencent/api.js';
import { VERSION } from '../version.js';
import { checkDeleteGuard, DEFAULT_MAX_DELETE, type GuardVerdict, type MaxDelete } from './guard.js';
import { type PlannedUser, planUsers } from './plan-users.js';
import { inShard, type Shard } from './shard.js';
import { loadSnapshot, type StateSnapshot, saveSnapshot } from './state-snapshot.js';

export interface ApplyJobOptions {
  /** A CSV file, or a plan file written by `cgsync plan --out`. */
  readonly input: string;
  readonly checkpoint: string;
  readonly mode: Mode;
  readonly assumeEmpty: boolean;
  /** @default 10% */
  readonly maxDelete?: MaxDelete;
  readonly failures?: string;
  readonly state?: string;
  readonly refresh?: boolean;
  readonly shard?: Shard;
  readonly strict?: boolean;
  readonly maxInvalid?: number;
  /** Users in flight. @default the executor's default */
  readonly concurrency?: number;
  readonly api: ChatApi;
  readonly scheduler: EndpointScheduler;
  readonly signal?: AbortSignal;
  /** Called once the plan's size is known (mirror mode and plan files), before the first write. */
  readonly onPlanned?: (summary: PlanSummary | undefined) => ProgressSink | undefined;
  readonly onGuard?: (verdict: GuardVerdict) => void;
}

export interface ApplyJobResult {
  readonly run: RunResult | undefined;
  /** Set when the deletion guard refused the run (nothing was written). */
  readonly refused?: GuardVerdict;
  readonly guard?: GuardVerdict;
  readonly scan?: ScanSummary;
  readonly planSummary?: PlanSummary;
  /** Users skipped because their rows did not change since the --state snapshot. */
  readonly unchangedUsers: number;
  readonly rejectedRows: number;
  readonly failuresWritten: number;
  readonly stateSaved: boolean;
}

async function isPlanFile(path: string): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(path, 'r');
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(64), 0, 64, 0);
    return buffer.subarray(0, bytesRead).toString('utf8').startsWith('{"format":"cgsync-plan"');
  } catch {
    return false; // the reader reports a missing or unreadable file with its own message
  } finally {
    await handle?.close();
  }
}

function workOf(plan: UserPlan, desired?: DesiredUser): UserWork {
  return {
    user: plan.user,
    operations: plan.operations,
    violations: plan.violations,
    ...(desired?.lineOf === undefined ? {} : { lineOf: desired.lineOf }),
  };
}

/** The rows of a user left out for a limit, as failures-file items (the limit's API code). */
function limitFailures(desired: DesiredUser, plan: UserPlan): FailedItem[] {
  const violation = plan.violations[0];
  if (violation === undefined) return [];
  const errorCode = violation.limit === 'groups' ? 51010 : 51008;
  const items: FailedItem[] = [];
  for (const group of desired.groups) {
    const members = group.conversations.length === 0 ? [undefined] : group.conversations;
    for (const conversation of members) {
      const line = desired.lineOf?.get(membershipKey(group.name, conversation));
      items.push({
        user: desired.user,
        group: group.name,
        ...(conversation === undefined ? {} : { conversation }),
        action: conversation === undefined ? 'create' : 'add',
        errorCode,
        message: violation.message,
        ...(line === undefined ? {} : { line }),
        opId: '',
      });
    }
  }
  return items;
}

/**
 * `cgsync apply`: the one-off migration and the nightly sync.
 *
 * - Takes the lock, scans the input (validation, digest), opens (or resumes) the checkpoint.
 * - merge: users stream through read → plan → apply, so reads and writes overlap.
 * - mirror: every user is read and planned first (into a temporary plan file, bounded memory), the
 *   deletion guard is decided, and only then is anything written.
 * - `--state`: users whose rows did not change are left out before any call; in mirror mode users of
 *   the snapshot missing from the input are emptied (and counted by the guard).
 * Never throws for failures of the run itself: they are in `run` (fatal, interrupted).
 */
export async function runApplyJob(options: ApplyJobOptions): Promise<ApplyJobResult> {
  const lock = await acquireLock(options.checkpoint);
  let failures: FailuresWriter | undefined;
  try {
    const planInput = await isPlanFile(options.input);
    const shardText = options.shard === undefined ? null : `${options.shard.index}/${options.shard.count}`;
    let rejectedRows = 0;
    const snapshot: StateSnapshot | undefined =
      options.state === undefined
        ? undefined
        : await loadSnapshot(options.state, { mode: options.mode, shard: shardText });

    if (planInput) {
      const planFile = await readPlanFile(options.input);
      if (planFile.header.mode !== options.mode || planFile.header.assumeEmpty !== options.assumeEmpty) {
        throw new SyncError(
          'USAGE',
          `plan file ${options.input} was made with --mode ${planFile.header.mode}${planFile.header.assumeEmpty ? ' --assume-empty' : ''}; run apply with the same options`,
        );
      }
      failures = options.failures === undefined ? undefined : FailuresWriter.create(options.failures);
      const checkpoint = await openCheckpoint(options.checkpoint, {
        identity: {
          inputDigest: `plan:${planFile.header.inputDigest}`,
          mode: options.mode,
          assumeEmpty: options.assumeEmpty,
          options: { shard: shardText },
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
        failuresWritten: await closeFailures(failures),
        stateSaved: false,
      };
    }

    // A CSV input. Pass 1: validate and stage; rejected rows go to the failures file as they come.
    const scan = await scanInput(options.input, {
      ...(options.strict === undefined ? {} : { strict: options.strict }),
      ...(options.maxInvalid === undefined ? {} : { maxInvalid: options.maxInvalid }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      onRejected: (rejection) => {
        rejectedRows++;
        if (failures === undefined && options.failures !== undefined) {
          failures = FailuresWriter.create(options.failures, rejection.header);
        }
        failures?.writeRejected(rejection);
      },
    });
    if (failures === undefined && options.failures !== undefined) {
      failures = FailuresWriter.create(options.failures, scan.summary.header ?? undefined);
    }
    const checkpoint = await openCheckpoint(options.checkpoint, {
      identity: {
        inputDigest: scan.summary.inputDigest,
        mode: options.mode,
        assumeEmpty: options.assumeEmpty,
        options: { shard: shardText },
      },
      toolVersion: VERSION,
    }).catch(async (err: unknown) => {
      await scan.dispose();
      throw err;
    });

    let unchangedUsers = 0;
    // Memberships of users left out as unchanged: the run looked at them through the snapshot, so they
    // count in the guard's base (else one changed user out of thousands would trip a percentage).
    let unchangedMemberships = 0;
    const seen = new Set<string>();
    const digests = new Map<string, string>();
    const desiredUsers = scan.users();
    async function* withVanished(): AsyncGenerator<DesiredUser> {
      for await (const desired of desiredUsers) {
        if (snapshot !== undefined) seen.add(desired.user);
        yield desired;
      }
      // Mirror with a snapshot: users applied last time and missing from tonight's export are emptied.
      if (snapshot !== undefined && options.mode === 'mirror') {
        for (const user of [...snapshot.users.keys()].sort()) {
          if (!seen.has(user)) yield { user, groups: [], lines: [], hasRejectedRows: false };
        }
      }
    }
    const skip = (desired: DesiredUser, digest: string): boolean => {
      digests.set(desired.user, digest);
      if (snapshot === undefined || options.refresh === true) return false;
      if (snapshot.users.get(desired.user) !== digest) return false;
      unchangedUsers++;
      for (const g of desired.groups) unchangedMemberships += g.conversations.length;
      return true;
    };
    const planned = planUsers(withVanished(), {
      mode: options.mode,
      assumeEmpty: options.assumeEmpty,
      api: options.api,
      scheduler: options.scheduler,
      skip,
      ...(options.shard === undefined ? {} : { shard: options.shard }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });

    let users: AsyncIterable<UserWork>;
    let guard: GuardVerdict | undefined;
    let planSummary: PlanSummary | undefined;
    const report = (p: PlannedUser): UserWork => {
      for (const item of limitFailures(p.desired, p.plan)) failures?.writeFailed(item);
      return workOf(p.plan, p.desired);
    };
    if (options.mode === 'mirror') {
      // Phase 1: read and plan everyone, then decide the guard before the first write.
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
          run: undefined,
          refused: guard,
          guard,
          scan: scan.summary,
          planSummary,
          unchangedUsers,
          rejectedRows,
          failuresWritten: await closeFailures(failures),
          stateSaved: false,
        };
      }
      const planFile = await readPlanFile(tmpPlan);
      users = (async function* () {
        try {
          for await (const plan of planFile.users) yield workOf(plan);
        } finally {
          await rm(tmpPlan, { force: true });
        }
      })();
    } else {
      users = (async function* () {
        for await (const p of planned) yield report(p);
      })();
    }

    const progress = options.onPlanned?.(planSummary);
    const outcomes = new Map<string, 'done' | 'failed'>();
    const run = await runApply({
      users,
      api: options.api,
      checkpoint,
      options: applyOptions(options, failures, outcomes, progress),
    });
    await checkpoint.close();

    let stateSaved = false;
    if (
      snapshot !== undefined &&
      options.state !== undefined &&
      run.fatal === undefined &&
      !run.interrupted
    ) {
      for (const [user, outcome] of outcomes) {
        const digest = digests.get(user);
        if (outcome === 'done' && digest !== undefined && seen.has(user)) snapshot.users.set(user, digest);
        else snapshot.users.delete(user); // failed, or a vanished user now emptied
      }
      await saveSnapshot(options.state, snapshot);
      stateSaved = true;
    }
    return {
      run,
      ...(guard === undefined ? {} : { guard }),
      scan: scan.summary,
      ...(planSummary === undefined ? {} : { planSummary }),
      unchangedUsers,
      rejectedRows,
      failuresWritten: await closeFailures(failures),
      stateSaved,
    };
  } finally {
    if (failures !== undefined && !closedFailures.has(failures))
      await failures.close().catch(() => undefined);
    await lock.release();
  }
}

function applyOptions(
  options: ApplyJobOptions,
  failures: FailuresWriter | undefined,
  outcomes: Map<string, 'done' | 'failed'> | undefined,
  progress: ProgressSink | undefined,
) {
  return {
    limiters: options.scheduler,
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(progress === undefined ? {} : { progress }),
    onFailedItem: (item: FailedItem) => failures?.writeFailed(item),
    onUserOutcome: (user: string, outcome: string) => {
      if (outcome === 'done' || outcome === 'already_done') outcomes?.set(user, 'done');
      else if (outcome === 'failed' || outcome === 'skipped') outcomes?.set(user, 'failed');
    },
  };
}

const closedFailures = new WeakSet<FailuresWriter>();

async function closeFailures(failures: FailuresWriter | undefined): Promise<number> {
  if (failures === undefined) return 0;
  closedFailures.add(failures);
  await failures.close();
  return failures.rows;
}
