import type { EndpointScheduler } from '../executor/rate/limiters.js';
import type { DesiredUser, Mode, RemoteUser } from '../model.js';
import { desiredDigestOf, planUser } from '../planner/plan-user.js';
import { inShard, type Shard } from '../planner/shard.js';
import type { UserPlan } from '../planner/types.js';
import type { ChatApi } from '../tencent/api.js';
import { mapConcurrent } from './map-concurrent.js';

/** Why a user's state could not be read (its code, e.g. 50001, and the message). */
export interface ReadFailure {
  readonly errorCode: number | string;
  readonly message: string;
}

/** A user's desired state with its plan. */
export interface PlannedUser {
  readonly desired: DesiredUser;
  readonly plan: UserPlan;
  /** What the app held, when it was read. */
  readonly remote?: RemoteUser;
  /**
   * Set when the service refused to give the user's state for good (50001: not imported, or another
   * per-user code): `plan` has no operation and must not be applied; the user is failed.
   */
  readonly readFailure?: ReadFailure;
}

export interface PlanUsersOptions {
  readonly mode: Mode;
  readonly assumeEmpty: boolean;
  /** Needed unless `assumeEmpty`: reads go through `scheduler`'s get_contact_group budget with retries. */
  readonly api?: Pick<ChatApi, 'getGroupsPage'>;
  readonly scheduler?: EndpointScheduler;
  /**
   * Reads in flight: enough to reach 200 reads/s at 150 ms latency.
   * @default 40
   */
  readonly readConcurrency?: number;
  readonly shard?: Shard;
  /**
   * Users to leave out before any read (unchanged since the --state snapshot, done in the checkpoint).
   * Called with the desired state and a function that computes its digest (not computed unless asked).
   */
  readonly skip?: (desired: DesiredUser, desiredDigest: () => string) => boolean;
  readonly signal?: AbortSignal;
  /** Told when a listing looks odd (CompleteFlag and NextStartIndex disagree). */
  readonly onWarning?: (message: string) => void;
}

/**
 * Desired users → plans. With `assumeEmpty` no call is made; otherwise each user's state is read
 * (all pages, through the shared limiter) before it is planned, `readConcurrency` users at a time,
 * pulling from `users` only as fast as plans are consumed.
 */
export function planUsers(
  users: AsyncIterable<DesiredUser>,
  options: PlanUsersOptions,
): AsyncGenerator<PlannedUser> {
  const planOptions = { mode: options.mode, assumeEmpty: options.assumeEmpty };
  const skip = options.skip;
  async function* selected(): AsyncGenerator<DesiredUser> {
    for await (const desired of users) {
      if (!inShard(desired.user, options.shard)) continue;
      if (skip?.(desired, () => desiredDigestOf(desired))) continue;
      yield desired;
    }
  }
  if (options.assumeEmpty) {
    return (async function* () {
      for await (const desired of selected()) {
        yield { desired, plan: planUser(desired, undefined, planOptions) };
      }
    })();
  }
  const { api, scheduler } = options;
  if (api === undefined || scheduler === undefined) {
    throw new TypeError('planUsers: `api` and `scheduler` are needed unless `assumeEmpty`');
  }
  // Loaded only when reading (it brings the HTTP client): `plan --assume-empty` starts faster without.
  const reconcile = Promise.all([import('../executor/reconcile.js'), import('../executor/retry.js')]);
  return mapConcurrent(selected(), options.readConcurrency ?? 40, async (desired): Promise<PlannedUser> => {
    const [{ readRemoteUser }, { isUserReadFailure, failureCode, failureMessage }] = await reconcile;
    let remote: RemoteUser;
    try {
      remote = await readRemoteUser(api, scheduler, desired.user, {
        ...(options.signal === undefined ? {} : { signal: options.signal, stopSignal: options.signal }),
        ...(options.onWarning === undefined ? {} : { onWarning: options.onWarning }),
      });
    } catch (err) {
      // One refused user never stops the run; anything systemic does.
      if (options.signal?.aborted === true || !isUserReadFailure(err)) throw err;
      const readFailure = { errorCode: failureCode(err), message: failureMessage(err) };
      return { desired, plan: unplanned(desired), readFailure };
    }
    return { desired, remote, plan: planUser(desired, remote, planOptions) };
  });
}

/** The plan of a user that could not be read: nothing to do, nothing counted. */
function unplanned(desired: DesiredUser): UserPlan {
  return {
    user: desired.user,
    operations: [],
    violations: [],
    desiredDigest: '',
    stats: {
      groupsCreated: 0,
      groupsDeleted: 0,
      membershipsAdded: 0,
      membershipsRemoved: 0,
      membershipsUnchanged: 0,
      membershipsExamined: 0,
    },
  };
}
