import { setMaxListeners } from 'node:events';
import PQueue from 'p-queue';
import { SyncError } from '../errors.js';
import type { Operation } from '../planner/types.js';
import type { ChatApi } from '../tencent/api.js';
import type { Endpoint } from '../tencent/wire.js';
import {
  applyUser,
  type FailedItem,
  type UserContext,
  type UserOutcome,
  type UserWork,
} from './apply-user.js';
import { type Clock, systemClock } from './clock.js';
import type { CheckpointStore } from './log/checkpoint.js';
import { createEndpointLimiters, type EndpointScheduler } from './rate/limiters.js';
import type { EndpointCounts } from './rate/stats.js';
import type { RetryPolicy } from './retry.js';

export type { FailedItem, UserWork } from './apply-user.js';

/** Live figures for progress displays. */
export interface LiveStats {
  readonly elapsedMs: number;
  /** Calls started on all endpoints. */
  readonly calls: number;
  /** Failed attempts on all endpoints. */
  readonly failures: number;
  readonly opsOk: number;
  readonly opsFailed: number;
  readonly usersDone: number;
  readonly usersFailed: number;
  readonly usersSkipped: number;
  readonly usersAlreadyDone: number;
  /** Users left out without a call because their rows did not change (set by the job, not the run). */
  readonly usersUnchanged?: number;
  /**
   * Users the run settles in all, when the job knows it (set by the job, not the run): a CSV's users
   * (of the shard), counted before the first write, done-before and unchanged ones included.
   */
  readonly usersTotal?: number;
  /** Set when `usersTotal` is an estimate (`--stream`, before the whole file was read). */
  readonly usersTotalEstimated?: boolean;
  /** Calls started per endpoint. */
  readonly endpointCalls: Readonly<Record<Endpoint, number>>;
}

/** Receives the live figures while the run goes on (progress.ts implements it). */
export interface ProgressSink {
  start(read: () => LiveStats): void;
  stop(): void;
}

/** Options of {@link runApply}. */
export interface ApplyOptions extends RetryPolicy {
  /**
   * Calls per second per endpoint, for the budget created when `limiters` is not given (given
   * `limiters`, their rate is the rate: a different `rate` beside them is refused).
   * @default 200
   */
  readonly rate?: number;
  /**
   * Users in flight (each runs its operations one after another). Enough to reach the rate at
   * 150 ms latency with a margin: 2 × rate × 0.15 s, rounded up, for the rate of the budget in use.
   * @default 60 at 200 calls/s
   */
  readonly concurrency?: number;
  /** The per-endpoint budget to use (share it with the planning reads); created from `rate` when absent. */
  readonly limiters?: EndpointScheduler;
  /** Interrupts the run (SIGINT, SIGTERM, --max-duration): no new calls; the checkpoint is flushed. */
  readonly signal?: AbortSignal;
  /**
   * After an interrupt or a fatal error, how long calls in flight may take before they are aborted.
   * @default 5000
   */
  readonly abandonAfterMs?: number;
  /** Told when a state read looks odd (CompleteFlag and NextStartIndex disagree). */
  readonly onWarning?: (message: string) => void;
  /** Called for every failed membership or group, in the order they are known (for --failures). */
  readonly onFailedItem?: (item: FailedItem) => void;
  /** Called when a user's outcome is settled in this run (for the --state snapshot). */
  readonly onUserOutcome?: (
    user: string,
    outcome: Exclude<UserOutcome, 'unfinished'> | 'already_done',
  ) => void;
  /**
   * Called once for every user received, when the run is finished with it, however (done, failed,
   * skipped, already done, or left unfinished because the run stopped).
   */
  readonly onUserSettled?: (user: string) => void;
  /**
   * How many failed items the result keeps (all are counted and passed to `onFailedItem`).
   * @default 1000
   */
  readonly keepFailedItems?: number;
  readonly progress?: ProgressSink;
  /**
   * Awaited before the first call of each operation that removes something (a delete, an update with
   * removals), with the operation as it is about to be sent (reduced to what the app still holds when
   * its state was read; a delete's `held` from that read). A rejection stops the run (fatal) before
   * the call: nothing is removed that this callback did not see through. For `--backup`.
   */
  readonly beforeRemoval?: (op: Operation) => Promise<void>;
  /** @default the system clock */
  readonly clock?: Clock;
}

/** What a run did. */
export interface RunResult {
  /** Stopped by the signal: resumable from the checkpoint. */
  readonly interrupted: boolean;
  /** The error that stopped the run, if one did (then nothing more was started). */
  readonly fatal?: Error;
  readonly durationMs: number;
  readonly users: {
    readonly done: number;
    readonly failed: number;
    /** Left out for breaking a per-user limit. */
    readonly skipped: number;
    /** Done in an earlier run, according to the checkpoint. */
    readonly alreadyDone: number;
    /** Started or received but not finished because the run stopped. */
    readonly unfinished: number;
  };
  readonly operations: {
    readonly ok: number;
    readonly failed: number;
    /** Operations whose outcome was settled by reading the state (part of ok/failed). */
    readonly reconciled: number;
  };
  readonly endpoints: Readonly<Record<Endpoint, EndpointCounts>>;
  /** The first `keepFailedItems` failed items. */
  readonly failedItems: readonly FailedItem[];
  readonly failedItemsTotal: number;
}

/** The parameters of {@link runApply}. */
export interface RunApplyParams {
  /** Users and their planned operations, pulled only as fast as they are applied. */
  readonly users: AsyncIterable<UserWork> | Iterable<UserWork>;
  readonly api: ChatApi;
  readonly checkpoint: CheckpointStore;
  readonly options?: ApplyOptions;
}

/** Users in flight to reach `rate` calls/s at 150 ms latency, with a margin: 2 × rate × 0.15 s. */
export function defaultConcurrency(rate: number): number {
  return Math.max(1, Math.ceil(2 * rate * 0.15));
}

function checkPositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new SyncError('USAGE', `Expected \`${name}\` to be an integer from 1, got ${String(value)}`, {
      value: String(value),
    });
  }
}

/**
 * Applies planned operations at the API's limit with a resumable checkpoint.
 *
 * - Users run `concurrency` at a time; one user's operations run strictly in order. The next user is
 *   pulled only when the queue has room, so memory does not grow with the input.
 * - Users `done` in the checkpoint are skipped; users begun but not done have their state read first
 *   and only what is missing is redone (reconcile.ts); operations recorded `ok` are not repeated.
 *   A user marked `recheck` is read first and reconciled whatever the checkpoint says.
 * - A user's `begin` record is durable before its first call.
 * - Per-item failures and permanent call failures are outcomes (recorded, reported, exit code 4).
 *   A fatal failure, a checkpoint write failure or a failing producer stops the run (`fatal`).
 * - On the signal: no new calls; calls in flight get `abandonAfterMs` to finish, then are aborted;
 *   the checkpoint is flushed; the result says `interrupted`.
 * Never throws for run failures: they are in the result.
 */
export async function runApply(params: RunApplyParams): Promise<RunResult> {
  const options = params.options ?? {};
  if (
    options.limiters !== undefined &&
    options.rate !== undefined &&
    options.rate !== options.limiters.rate
  ) {
    throw new SyncError(
      'USAGE',
      `Expected \`rate\` to be left out or to equal the rate of \`limiters\` (${options.limiters.rate}), got ${String(options.rate)}`,
      { value: String(options.rate) },
    );
  }
  if (options.concurrency !== undefined) checkPositiveInteger('concurrency', options.concurrency);
  const keep = options.keepFailedItems ?? 1000;
  const clock = options.clock ?? systemClock;
  const ownLimiters = options.limiters === undefined;
  const scheduler =
    options.limiters ??
    createEndpointLimiters({ ...(options.rate === undefined ? {} : { rate: options.rate }), clock });
  const concurrency = options.concurrency ?? defaultConcurrency(scheduler.rate);
  const checkpoint = params.checkpoint;
  const startedAt = clock.now();

  const stop = new AbortController();
  const abandon = new AbortController();
  // Every waiting and running call listens to these two: hundreds of listeners are expected.
  setMaxListeners(0, stop.signal, abandon.signal);
  let fatal: Error | undefined;
  let interrupted = false;
  const users = { done: 0, failed: 0, skipped: 0, alreadyDone: 0, unfinished: 0 };
  const ops = { ok: 0, failed: 0, reconciled: 0 };
  const failedItems: FailedItem[] = [];
  let failedItemsTotal = 0;

  const stopRun = () => {
    if (!stop.signal.aborted) stop.abort(new SyncError('INTERRUPTED', 'the run is stopping'));
  };
  const fail = (err: unknown) => {
    if (fatal === undefined) fatal = err instanceof Error ? err : new Error(String(err));
    stopRun();
  };
  const onSignal = () => {
    if (fatal === undefined) interrupted = true;
    stopRun();
  };
  if (options.signal?.aborted === true) onSignal();
  options.signal?.addEventListener('abort', onSignal, { once: true });
  const stopped = new Promise<void>((resolve) => {
    if (stop.signal.aborted) resolve();
    else stop.signal.addEventListener('abort', () => resolve(), { once: true });
  });

  const ctx: UserContext = {
    api: params.api,
    scheduler,
    checkpoint,
    retry: options,
    clock,
    stopSignal: stop.signal,
    callSignal: abandon.signal,
    fatal: fail,
    ...(options.onWarning === undefined ? {} : { warn: options.onWarning }),
    ...(options.beforeRemoval === undefined ? {} : { beforeRemoval: options.beforeRemoval }),
    failedItem(item) {
      failedItemsTotal++;
      if (failedItems.length < keep) failedItems.push(item);
      options.onFailedItem?.(item);
    },
    opOutcome(outcome, reconciled) {
      ops[outcome]++;
      if (reconciled) ops.reconciled++;
    },
  };

  const live = (): LiveStats => ({
    elapsedMs: clock.now() - startedAt,
    calls: scheduler.stats.totalCalls(),
    failures: scheduler.stats.totalFailures(),
    opsOk: ops.ok,
    opsFailed: ops.failed,
    usersDone: users.done,
    usersFailed: users.failed,
    usersSkipped: users.skipped,
    usersAlreadyDone: users.alreadyDone,
    endpointCalls: scheduler.stats.callsByEndpoint(),
  });
  options.progress?.start(live);

  const queue = new PQueue({ concurrency });
  const runUser = async (work: UserWork) => {
    try {
      const outcome = await applyUser(work, checkpoint.progressOf(work.user), ctx);
      if (outcome === 'unfinished') {
        users.unfinished++;
        return;
      }
      users[outcome]++;
      options.onUserOutcome?.(work.user, outcome);
    } finally {
      options.onUserSettled?.(work.user);
    }
  };

  try {
    for await (const work of params.users) {
      if (stop.signal.aborted) {
        users.unfinished++;
        options.onUserSettled?.(work.user);
        break;
      }
      if (work.recheck !== true && checkpoint.progressOf(work.user)?.status === 'done') {
        users.alreadyDone++;
        options.onUserOutcome?.(work.user, 'already_done');
        options.onUserSettled?.(work.user);
        continue;
      }
      queue.add(() => runUser(work)).catch(fail);
      if (queue.size >= concurrency) await untilOrAborted(queue.onSizeLessThan(concurrency), stop.signal);
      if (stop.signal.aborted) break; // pull nothing more: the producer may read state for each user
    }
  } catch (err) {
    fail(err);
  }

  await drain(queue, stopped, stop.signal, abandon, options.abandonAfterMs ?? 5000, clock);
  try {
    await checkpoint.flush();
  } catch (err) {
    fail(err);
  }
  options.signal?.removeEventListener('abort', onSignal);
  options.progress?.stop();
  if (ownLimiters) await scheduler.stop();

  return {
    interrupted: interrupted && fatal === undefined,
    ...(fatal === undefined ? {} : { fatal }),
    durationMs: clock.now() - startedAt,
    users,
    operations: ops,
    endpoints: scheduler.stats.snapshot(),
    failedItems,
    failedItemsTotal,
  };
}

/** Waits for the users in flight; once the run stops, gives them `abandonAfterMs`, then aborts their calls. */
async function drain(
  queue: PQueue,
  stopped: Promise<void>,
  stopSignal: AbortSignal,
  abandon: AbortController,
  abandonAfterMs: number,
  clock: Clock,
): Promise<void> {
  const idle = queue.onIdle();
  await Promise.race([idle, stopped]);
  if (!stopSignal.aborted) return;
  const grace = new AbortController();
  const timeout = clock.sleep(abandonAfterMs, grace.signal).then(
    () => 'timeout' as const,
    () => 'idle' as const,
  );
  if ((await Promise.race([idle.then(() => 'idle' as const), timeout])) === 'idle') {
    grace.abort();
    return;
  }
  abandon.abort(new SyncError('INTERRUPTED', 'calls in flight abandoned'));
  // Callers that honour the signal settle at once; do not wait forever for one that does not.
  const last = new AbortController();
  await Promise.race([idle, clock.sleep(1000, last.signal).catch(() => undefined)]);
  last.abort();
}

/**
 * Waits for `promise` or for `signal` to abort, whichever comes first, and leaves nothing behind:
 * `Promise.race` with a promise that settles only at the end of the run would add a reaction to it
 * per call, kept until the run ends (memory growing with the input).
 */
function untilOrAborted(promise: Promise<unknown>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    promise.then(done, done);
  });
}
