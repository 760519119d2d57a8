import { rm, stat } from 'node:fs/promises';
import type { DesiredUser, Mode } from '../model.js';
import { ContentDigest, serializeUserPlan } from '../planner/plan-file-format.js';
import { planUser } from '../planner/plan-user.js';
import { inShard, type Shard } from '../planner/shard.js';
import { type PlanSummary, SummaryBuilder } from '../planner/summary.js';
import { readTextPieces, readTextRange } from '../reader/stage/work-files.js';
import type { StagedSegment } from '../reader/types.js';
import { groupedUsers, partitionUsers } from '../reader/users/user-stream.js';

/**
 * A unit of planning work: staged rows of whole users (see src/reader/stage/row-codec.ts) that can be
 * planned on any thread, in any order, because the plan file is sorted by user and the summary does
 * not depend on the order users arrive in.
 *
 * - `segments`: byte ranges of the spills of grouped input (users contiguous, in file order, also
 *   across ranges: a user may begin in one range and go on in the next);
 * - `partitions`: whole partition files of ungrouped input, one partition of each part of the file
 *   (the same users' hash), removed once read.
 */
export type PlanUnit =
  | { readonly kind: 'segments'; readonly ranges: readonly StagedSegment[] }
  | { readonly kind: 'partitions'; readonly paths: readonly string[] };

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
  /** With `planLines`: users and their plan-file lines, aligned. */
  readonly users: readonly string[];
  readonly lines: readonly string[];
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
  const users: string[] = [];
  const lines: string[] = [];
  // Without plan-file lines, only the summary is wanted: no operation ids or digests to compute.
  const planOptions = { mode: options.mode, assumeEmpty: true, countOnly: !options.planLines } as const;
  let desired: Iterable<DesiredUser>;
  if (unit.kind === 'segments') {
    const texts: string[] = [];
    for (const r of unit.ranges) texts.push(...(await readTextPieces(r.path, r.start, r.end, 'latin1')));
    desired = groupedUsers(texts);
  } else {
    const texts: string[] = [];
    for (const path of unit.paths) {
      // One text per partition file here, pieces for segments above: each measured the lower peak RSS.
      texts.push(await readTextRange(path, 0, (await stat(path)).size, 'latin1'));
      await rm(path, { force: true });
    }
    desired = partitionUsers(texts);
  }
  const yieldEvery = turns.yieldEvery ?? Number.POSITIVE_INFINITY;
  let sinceYield = 0;
  for (const user of desired) {
    if (++sinceYield >= yieldEvery) {
      sinceYield = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (!inShard(user.user, options.shard)) continue;
    const plan = planUser(user, undefined, planOptions);
    builder.addUser(plan);
    if (options.planLines) {
      content.add(plan.desiredDigest);
      users.push(plan.user);
      lines.push(serializeUserPlan(plan));
    }
  }
  return { summary: builder.result(), contentSum: content.sum(), users, lines };
}
