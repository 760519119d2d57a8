import { join } from 'node:path';
import type { UserWork } from '../executor/apply-user.js';
import { createPlanHeader, PlanFileWriter, readPlanFile } from '../planner/plan-file.js';
import { type PlanSummary, SummaryBuilder } from '../planner/summary.js';
import type { ApplyJobOptions } from './apply-types.js';
import { workOf } from './apply-writes.js';
import { checkDeleteGuard, DEFAULT_MAX_DELETE, type GuardVerdict, type MaxDelete } from './guard.js';
import type { PlannedUser } from './plan-users.js';

/** Mirror's plan, made before the first write. */
export interface MirrorPlan {
  readonly summary: PlanSummary;
  readonly guard: GuardVerdict;
  /** The users to apply, read back from the plan (only when the guard passed). */
  readonly users: AsyncIterable<UserWork> | undefined;
}

/**
 * Users of the `--state` snapshot that vanished from the export: their counts in the snapshot, and
 * their plans (each is read when `planned` is iterated).
 */
export interface VanishedUsers {
  readonly counts: { readonly users: number; readonly memberships: number };
  planned(): AsyncIterable<PlannedUser>;
}

/**
 * Mirror's first phase: every user is read and planned (`read`) into a plan file in the run's
 * working directory `dir` (bounded memory: the desired rows are not kept), then the deletion guard is
 * decided (`guard`) before anything is written. Users whose state could not be read are reported now
 * (`report`) and failed first in the write phase; users over a limit are reported now.
 * `baseMemberships`: the memberships of users left out before any read, which count in the guard's base.
 * `vanished` (with `--state`): the guard is first decided with the removals their counts in the
 * snapshot imply, before any of them is read; only if it passes are they read and planned, and the
 * guard decided again on what was read.
 */
export async function planMirror(
  planned: AsyncIterable<PlannedUser>,
  options: ApplyJobOptions,
  dir: string,
  report: (planned: PlannedUser) => UserWork,
  baseMemberships: () => number,
  vanished?: VanishedUsers,
): Promise<MirrorPlan> {
  await options.onPhase?.('read');
  const builder = new SummaryBuilder({ mode: options.mode, assumeEmpty: options.assumeEmpty });
  const path = join(dir, 'mirror-plan.ndjson');
  const writer = new PlanFileWriter(
    path,
    createPlanHeader({ mode: options.mode, assumeEmpty: options.assumeEmpty, options: {} }),
    { tmpDir: dir },
  );
  const unreadable: UserWork[] = [];
  const limit = options.maxDelete ?? DEFAULT_MAX_DELETE;
  const add = async (users: AsyncIterable<PlannedUser>): Promise<void> => {
    for await (const p of users) {
      if (p.readFailure !== undefined) {
        unreadable.push(report(p));
        continue;
      }
      builder.addUser(p.plan);
      await writer.add(p.plan);
      // Limit failures are reported now; the desired rows are not kept for the write phase.
      if (p.plan.violations.length > 0) report(p);
    }
  };
  let summary: PlanSummary;
  try {
    await add(planned);
    if (vanished !== undefined && vanished.counts.users > 0) {
      const early = guardBeforeVanished(limit, builder.result(), baseMemberships(), vanished.counts);
      if (!early.ok) {
        await writer.abort();
        await options.onPhase?.('guard');
        options.onGuard?.(early);
        return { summary: builder.result(), guard: early, users: undefined };
      }
      await add(vanished.planned());
    }
    summary = builder.result();
    await writer.finish(summary);
  } catch (err) {
    await writer.abort();
    throw err;
  }
  await options.onPhase?.('guard');
  const guard = checkDeleteGuard(
    limit,
    summary.memberships.removed,
    summary.memberships.examined + baseMemberships(),
  );
  options.onGuard?.(guard);
  if (!guard.ok) return { summary, guard, users: undefined };
  const plan = await readPlanFile(path);
  async function* users(): AsyncGenerator<UserWork> {
    yield* unreadable;
    for await (const user of plan.users) yield workOf(user);
  }
  return { summary, guard, users: users() };
}

/**
 * The guard decided before reading the users that vanished: emptying one removes the memberships the
 * snapshot says were applied (a user whose count is unknown, from a version 1 snapshot, counts 0, so
 * this refuses only what the full guard would refuse too). A refusal says it was decided so.
 */
function guardBeforeVanished(
  limit: MaxDelete,
  sofar: PlanSummary,
  base: number,
  vanished: { readonly users: number; readonly memberships: number },
): GuardVerdict {
  const verdict = checkDeleteGuard(
    limit,
    sofar.memberships.removed + vanished.memberships,
    sofar.memberships.examined + base + vanished.memberships,
  );
  if (verdict.ok) return verdict;
  return {
    ...verdict,
    message: `${verdict.message} (${vanished.users} users vanished from the export: their ${vanished.memberships} memberships were counted from the --state snapshot, none of them was read)`,
  };
}
