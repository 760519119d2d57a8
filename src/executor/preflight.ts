import { SyncError } from '../errors.js';
import type { Conversation } from '../model.js';
import type { ChatApi, GroupsPage, GroupWriteResult, MemberChanges, SearchResult } from '../tencent/api.js';
import { failureOf } from '../tencent/client.js';
import { classifyFailure } from '../tencent/error-codes.js';
import { abortReason, type Clock, systemClock } from './clock.js';
import { type EndpointScheduler, reschedule } from './rate/limiters.js';
import { failureMessage } from './retry.js';

/** Options of {@link checkAccess}. */
export interface CheckAccessOptions {
  /** The admin account, whose groups are read (any account would do). */
  readonly admin: string;
  /** The base URL, for the message when it cannot be reached. */
  readonly target: string;
  /**
   * Attempts before giving up (a 502 or a refused connection may pass; a switch to the backup
   * domain needs a few connection failures first).
   * @default 3
   */
  readonly attempts?: number;
  /** Deadline of one attempt, in ms. @default 5000 */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /**
   * The run's budget: the check's call takes its turn on get_contact_group like any call (it counts
   * in the endpoint's calls per second and in the run's call counts). Without one it goes straight to
   * `api`.
   */
  readonly scheduler?: Pick<EndpointScheduler, 'schedule'>;
  /** @default the system clock */
  readonly clock?: Clock;
}

/** Codes that say the key, the SDKAppID or the UserSig is wrong, and what to check. */
const HINTS: readonly [readonly number[], string][] = [
  [
    [70001, 70002, 70003, 70005, 70009, 70013, 70014, 70052, 60004, 60005],
    'check the SecretKey (TENCENT_SECRET_KEY or --secret-key-file), the SDKAppID and the system clock',
  ],
  [
    [60006, 70016, 70020, 60012, 60016],
    'check the SDKAppID (TENCENT_SDKAPPID) and that the region or endpoint is the app’s',
  ],
  [[60010, 70403, 50003], 'the admin identifier (TENCENT_ADMIN or --admin) must be an app admin'],
  [[51013], 'the app’s edition does not support conversation groups'],
  [[60021], 'the service does not accept calls from this IP address'],
];

/**
 * Fail fast: before the first real call of a run, one cheap signed call (get_contact_group of the
 * admin account, StartIndex 0) proves that the key, the SDKAppID, the region and the endpoint work.
 * Any answer of the service that is not about the credentials or the app (success, or a refusal such
 * as 50001 for an admin that is not imported) passes. A wrong key or SDKAppID ends here with the
 * service's code and what to check (`AUTH`/`CONFIG`); an endpoint that cannot be reached, after a few
 * short attempts, with the cause (`TRANSPORT`): seconds, not a minute of silent retries.
 */
export async function checkAccess(
  api: Pick<ChatApi, 'getGroupsPage'>,
  options: CheckAccessOptions,
): Promise<void> {
  const attempts = options.attempts ?? 3;
  const clock = options.clock ?? systemClock;
  let last: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const deadline = AbortSignal.timeout(options.timeoutMs ?? 5000);
    const signal = options.signal === undefined ? deadline : AbortSignal.any([deadline, options.signal]);
    try {
      const call = () => api.getGroupsPage(options.admin, 0, signal);
      await (options.scheduler === undefined
        ? call()
        : options.scheduler.schedule('get_contact_group', call, signal));
      return;
    } catch (err) {
      if (options.signal?.aborted === true) throw err;
      const failure = failureOf(err);
      if (failure === undefined) throw err;
      const cls = classifyFailure(failure);
      if (cls === 'permanent') return; // the service read the request: credentials and target work
      if (cls === 'fatal' || cls === 'resign') {
        const code = failure.kind === 'api' ? failure.errorCode : undefined;
        const hint = HINTS.find(([codes]) => code !== undefined && codes.includes(code))?.[1];
        const auth = code !== undefined && code >= 70000 && code < 70100;
        throw new SyncError(
          auth ? 'AUTH' : 'CONFIG',
          `The credentials check failed: ${failureMessage(err)}${hint === undefined ? '' : ` (${hint})`}`,
          code === undefined ? {} : { errorCode: code },
          { cause: err },
        );
      }
      last = err;
      if (attempt < attempts) await clock.sleep(200 * attempt, options.signal);
    }
  }
  const what =
    failureOf(last)?.kind === 'unexpected'
      ? 'answers with something that is not the Tencent Cloud Chat REST API'
      : 'cannot be reached';
  // CONFIG, not TRANSPORT: the run must stop here, not retry (check the region, endpoint, network).
  throw new SyncError(
    'CONFIG',
    `The service at ${options.target} ${what} (${attempts} attempts): ${failureMessage(last)}`,
    {},
    { cause: last },
  );
}

/**
 * `api` with {@link checkAccess} before its first call: the check runs once, when the first real call
 * is about to be made (a bad input file or an unchanged export never contacts the service), and
 * every call waits for it. When it fails, that call and every later one reject with its error
 * (`AUTH` or `CONFIG`: fatal, the run stops). The check's own call goes through the budget given as
 * `scheduler` (so it is counted and held to the rate like any call); the calls of that budget must
 * wait for the check before they take a slot ({@link afterAccessCheck}), so that a caller holding a
 * slot while it waits cannot starve the check.
 */
export class AccessCheckedApi implements ChatApi {
  readonly #api: ChatApi;
  readonly #options: CheckAccessOptions;
  #ready: Promise<void> | undefined;

  constructor(api: ChatApi, options: CheckAccessOptions) {
    this.#api = api;
    this.#options = options;
  }

  /** Runs the check now (or returns the one already run). */
  ready(): Promise<void> {
    this.#ready ??= checkAccess(this.#api, this.#options);
    return this.#ready;
  }

  async createGroup(
    user: string,
    group: string,
    conversations: readonly Conversation[],
    signal?: AbortSignal,
  ): Promise<GroupWriteResult> {
    await this.ready();
    return this.#api.createGroup(user, group, conversations, signal);
  }

  async updateGroupMembers(
    user: string,
    group: string,
    changes: MemberChanges,
    signal?: AbortSignal,
  ): Promise<GroupWriteResult> {
    await this.ready();
    return this.#api.updateGroupMembers(user, group, changes, signal);
  }

  async renameGroup(
    user: string,
    oldName: string,
    newName: string,
    signal?: AbortSignal,
  ): Promise<{ groupId: number }> {
    await this.ready();
    return this.#api.renameGroup(user, oldName, newName, signal);
  }

  async deleteGroup(user: string, group: string, signal?: AbortSignal): Promise<{ groupId: number }> {
    await this.ready();
    return this.#api.deleteGroup(user, group, signal);
  }

  async getGroupsPage(user: string, startIndex: number, signal?: AbortSignal): Promise<GroupsPage> {
    await this.ready();
    return this.#api.getGroupsPage(user, startIndex, signal);
  }

  async searchGroups(
    user: string,
    conversations: readonly Conversation[],
    signal?: AbortSignal,
  ): Promise<SearchResult> {
    await this.ready();
    return this.#api.searchGroups(user, conversations, signal);
  }
}

/**
 * `scheduler` whose calls wait for the access check of `checked` before they take their turn (outside
 * the limiter, so no slot is held while the check, which takes its own turn on the budget under
 * `scheduler`, is under way); a call whose signal aborts while it waits rejects at once. Once the
 * check passed, calls go straight to `scheduler`; when it failed, every call rejects with its error.
 */
export function afterAccessCheck(scheduler: EndpointScheduler, checked: AccessCheckedApi): EndpointScheduler {
  let passed = false;
  const waitForCheck = (signal: AbortSignal | undefined): Promise<void> => {
    // Nothing is started for a call already stopped (no promise left without a handler).
    if (signal?.aborted === true) return Promise.reject(abortReason(signal));
    const ready = checked.ready().then(() => {
      passed = true;
    });
    if (signal === undefined) return ready;
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(abortReason(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      ready.then(
        () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
        (err: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      );
    });
  };
  return reschedule(scheduler, {
    stats: scheduler.stats,
    schedule(endpoint, fn, signal) {
      if (passed) return scheduler.schedule(endpoint, fn, signal);
      return waitForCheck(signal).then(() => scheduler.schedule(endpoint, fn, signal));
    },
  });
}
