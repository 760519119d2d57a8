import { SyncError } from '../errors.js';
import type { ChatApi } from '../tencent/api.js';
import { failureOf } from '../tencent/client.js';
import { classifyFailure } from '../tencent/error-codes.js';
import { type Clock, systemClock } from './clock.js';
import type { EndpointScheduler } from './limiters.js';
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
  scheduler: EndpointScheduler,
  options: CheckAccessOptions,
): Promise<void> {
  const attempts = options.attempts ?? 3;
  const clock = options.clock ?? systemClock;
  let last: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const deadline = AbortSignal.timeout(options.timeoutMs ?? 5000);
    const signal = options.signal === undefined ? deadline : AbortSignal.any([deadline, options.signal]);
    try {
      await scheduler.schedule(
        'get_contact_group',
        () => api.getGroupsPage(options.admin, 0, signal),
        options.signal,
      );
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
  const failure = failureOf(last);
  const what =
    failure?.kind === 'unexpected'
      ? 'answers with something that is not the Tencent Cloud Chat REST API'
      : 'cannot be reached';
  throw new SyncError(
    failure?.kind === 'unexpected' ? 'UNEXPECTED_RESPONSE' : 'TRANSPORT',
    `The service at ${options.target} ${what} (${attempts} attempts): ${failureMessage(last)}`,
    {},
    { cause: last },
  );
}
