import type { Mode } from '../model.js';
import { ContentDigest, serializeUserPlan } from '../planner/plan-file-format.js';
import { countUser, planUser } from '../planner/plan-user.js';
import { inShard, type Shard } from '../planner/shard.js';
import { RunBuilder } from '../planner/sort-runs.js';
import { type PlanSummary, SummaryBuilder } from '../planner/summary.js';
import { type StagedUnit, stagedUsers } from '../reader/index.js';

/**
 * A unit of planning work: staged rows of whole users that can be planned on any thread, in any
 * order, because the plan file is sorted by user and the summary does not depend on the order users
 * arrive in.
 */
export type PlanUnit = StagedUnit;

/** Options every unit of one run shares (plain data: they cross to worker threads). */
export interface PlanUnitOptions {
  readonly mode: Mode;
  /** Units are planned without reading the service: the app is taken as empty. */
  readonly assumeEmpty: true;
  readonly rate?: number;
  readonly shard?: Shard;
  /** Return each user's serialized plan-file line (when a plan file is written). */
  readonly planLines: boolean;
}

/** What a unit gave (plain data). */
export interface PlanUnitResult {
  /** The unit's users alone (no rejected rows: those are the reader's). */
  readonly summary: PlanSummary;
  /** {@link ContentDigest.sum} of the unit's users. */
  readonly contentSum: string;
  /**
   * With `planLines`: the users' plan-file lines, as one sorted run of the plan writer's external
   * sort (`RunBuilder`); else empty.
   */
  readonly run: Uint8Array;
}

/** How {@link planUnit} shares its thread. */
export interface PlanUnitTurns {
  /** Give way to the event loop after every this many users (for a thread that has other work). */
  readonly yieldEvery?: number;
}

/** Plans one unit: reads its rows, builds its users, plans each, and sums them up. */
export async function planUnit(
  unit: PlanUnit,
  options: PlanUnitOptions,
  turns: PlanUnitTurns = {},
): Promise<PlanUnitResult> {
  const builder = new SummaryBuilder({
    mode: options.mode,
    assumeEmpty: true,
    ...(options.rate === undefined ? {} : { rate: options.rate }),
  });
  const content = new ContentDigest();
  const run = new RunBuilder();
  const planOptions = { mode: options.mode, assumeEmpty: true } as const;
  const yieldEvery = turns.yieldEvery ?? Number.POSITIVE_INFINITY;
  let sinceYield = 0;
  for await (const user of stagedUsers(unit)) {
    if (++sinceYield >= yieldEvery) {
      sinceYield = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (!inShard(user.user, options.shard)) continue;
    // Without plan-file lines, only the summary is wanted: no operation ids or digests to compute.
    if (!options.planLines) {
      builder.addUser(countUser(user, undefined, planOptions));
      continue;
    }
    const plan = planUser(user, undefined, planOptions);
    builder.addUser(plan);
    content.add(plan.desiredDigest);
    run.add(plan.user, serializeUserPlan(plan));
  }
  return { summary: builder.result(), contentSum: content.sum(), run: run.finish() };
}
