import { join } from 'node:path';
import type { UserWork } from '../executor/apply-user.js';
import { createPlanHeader, PlanFileWriter, readPlanFile } from '../planner/plan-file.js';
import { type PlanSummary, SummaryBuilder } from '../planner/summary.js';
import type { ApplyJobOptions } from './apply-types.js';
import { workOf } from './apply-writes.js';
import { checkDeleteGuard, DEFAULT_MAX_DELETE, type GuardVerdict } from './guard.js';
import type { PlannedUser } from './plan-users.js';

/** Mirror's plan, made before the first write. */
export interface MirrorPlan {
  readonly summary: PlanSummary;
  readonly guard: GuardVerdict;
  /** The users to apply, read back from the plan (only when the guard passed). */
  readonly users: AsyncIterable<UserWork> | undefined;
}

/**
 * Mirror's first phase: every user is read and planned (`read`) into a plan file in the run's
 * working directory `dir` (bounded memory: the desired rows are not kept), then the deletion guard is
 * decided (`guard`) before anything is written. Users whose state could not be read are reported now
 * (`report`) and failed first in the write phase; users over a limit are reported now.
 * `baseMemberships`: the memberships of users left out before any read, which count in the guard's base.
 */
export async function planMirror(
  planned: AsyncIterable<PlannedUser>,
  options: ApplyJobOptions,
  dir: string,
  report: (planned: PlannedUser) => UserWork,
  baseMemberships: () => number,
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
  let summary: PlanSummary;
  try {
    for await (const p of planned) {
      if (p.readFailure !== undefined) {
        unreadable.push(report(p));
        continue;
      }
      builder.addUser(p.plan);
      await writer.add(p.plan);
      // Limit failures are reported now; the desired rows are not kept for the write phase.
      if (p.plan.violations.length > 0) report(p);
    }
    summary = builder.result();
    await writer.finish(summary);
  } catch (err) {
    await writer.abort();
    throw err;
  }
  await options.onPhase?.('guard');
  const guard = checkDeleteGuard(
    options.maxDelete ?? DEFAULT_MAX_DELETE,
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
