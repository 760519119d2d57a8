import { LIMITS } from '../model.js';
import type { Endpoint } from '../tencent/wire.js';
import type { CountedPlan } from './types.js';

/** Calls per endpoint. Every endpoint is present (0 when unused). */
export type CallCounts = Record<Endpoint, number>;

export function emptyCallCounts(): CallCounts {
  return {
    create_contact_group: 0,
    update_contact_group: 0,
    del_contact_group: 0,
    get_contact_group: 0,
    search_contact_group: 0,
  };
}

export interface CountCallsOptions {
  /**
   * Whether each user's state is read first (no `--assume-empty`): then get_contact_group calls count.
   * @default false
   */
  readonly readsState?: boolean;
  /**
   * Memberships per get_contact_group page, for the estimate of read calls (the real page size is not
   * documented; one page per user at least).
   * @default 100
   */
  readonly pageSize?: number;
}

/** Adds one user's calls to `into` (and returns it). Reads are estimated, see {@link CountCallsOptions}. */
export function addUserCalls(
  into: CallCounts,
  plan: CountedPlan,
  options: CountCallsOptions = {},
): CallCounts {
  for (const op of plan.operations) {
    if (op.kind === 'create') into.create_contact_group += 1;
    else if (op.kind === 'update') into.update_contact_group += 1;
    else into.del_contact_group += 1;
  }
  if (options.readsState === true) {
    const pageSize = options.pageSize ?? LIMITS.itemsPerCall;
    into.get_contact_group += Math.max(1, Math.ceil(plan.stats.membershipsExamined / pageSize));
  }
  return into;
}

/** Calls per endpoint for a set of user plans. */
export function countCalls(plans: Iterable<CountedPlan>, options: CountCallsOptions = {}): CallCounts {
  const counts = emptyCallCounts();
  for (const plan of plans) addUserCalls(counts, plan, options);
  return counts;
}

/**
 * Seconds the calls take when every endpoint runs in parallel at its own rate:
 * max over endpoints of calls / rate. Latency and retries are not counted (a lower bound).
 * `rate` is calls per second, one number for every endpoint or one per endpoint
 * (missing endpoints use {@link LIMITS.callsPerSecond}).
 */
export function estimateDuration(
  calls: Readonly<CallCounts>,
  rate: number | Partial<Record<Endpoint, number>>,
): number {
  let seconds = 0;
  for (const [endpoint, n] of Object.entries(calls) as [Endpoint, number][]) {
    if (n === 0) continue;
    const r = typeof rate === 'number' ? rate : (rate[endpoint] ?? LIMITS.callsPerSecond);
    if (!(r > 0))
      throw new RangeError(`Expected the rate of ${endpoint} to be a number above 0, got \`${r}\``);
    seconds = Math.max(seconds, n / r);
  }
  return seconds;
}
