import type { CheckpointStore } from '../executor/log/checkpoint.js';
import { inShard, type Shard } from '../planner/shard.js';
import type { InputScan } from '../reader/index.js';

/** What a job from a CSV goes through in all: the progress's total, known before the first call. */
export interface InputTotals {
  /** The input's users this run settles (those of its shard), done-before ones included. */
  readonly users: number;
  /** Of them, users an earlier run of this checkpoint finished (left out without a call). */
  readonly doneBefore: number;
}

/**
 * The input's users (of the shard) and those done before, for the progress's total and percentage
 * from the first write on. The scan counts a grouped file's users; otherwise (rows not grouped by
 * user, a shard, a resumed run) one pass over the staged rows' user field counts them (see
 * `InputScan.eachUser`: no row is decoded, memory is one partition's; measured in the README's
 * progress section, next to the calls it precedes).
 */
export async function countInputUsers(
  scan: InputScan,
  options: {
    readonly shard?: Shard;
    /** A resumed run's: the users it has as done are counted apart. */
    readonly checkpoint?: CheckpointStore & { readonly doneUsers?: number };
    readonly signal?: AbortSignal;
  },
): Promise<InputTotals> {
  const { shard, checkpoint } = options;
  const counted = scan.summary.usersCounted;
  const resumed = checkpoint !== undefined && (checkpoint.doneUsers ?? 1) > 0;
  if (counted !== undefined && (shard === undefined || shard.count === 1) && !resumed) {
    return { users: counted, doneBefore: 0 };
  }
  let users = 0;
  let doneBefore = 0;
  await scan.eachUser((user) => {
    if (!inShard(user, shard)) return;
    users++;
    if (resumed && checkpoint?.progressOf(user)?.status === 'done') doneBefore++;
  }, options.signal);
  return { users, doneBefore };
}
