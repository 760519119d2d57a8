import { type Conversation, compareConversations, conversationKey, type RemoteUser } from '../model.js';
import type { LimitViolation, Operation } from '../planner/types.js';
import type { ChatApi, ItemResult } from '../tencent/api.js';
import { failureOf } from '../tencent/client.js';
import { ERROR_CODES } from '../tencent/error-codes.js';
import type { Endpoint } from '../tencent/wire.js';
import type { Clock } from './clock.js';
import { itemHolds, retryOperation, splitFailedItems } from './item-retry.js';
import type { CheckpointStore, UserProgress } from './log/checkpoint.js';
import { failWithoutCall, finish, toFailedItem } from './op-outcome.js';
import type { EndpointScheduler } from './rate/limiters.js';
import { applyToRemote, readRemoteUser, reconcileOperation } from './reconcile.js';
import { backoffMs, callWithRetry, judgeFailure, type RetryPolicy, type Verdict } from './retry.js';

/** One user's planned work, as the run loop receives it. */
export interface UserWork {
  readonly user: string;
  /** Planned operations, in execution order. */
  readonly operations: readonly Operation[];
  /** First input line of each membership (`DesiredUser.lineOf`), for failure reports. */
  readonly lineOf?: ReadonlyMap<string, number>;
  /** Limits the user breaks: when any, the user is skipped and reported, and nothing is called. */
  readonly violations?: readonly LimitViolation[];
  /**
   * Set when the user could not be planned because reading its state was refused for good (50001:
   * not imported, or another per-user code): the user is failed, nothing is called. Its rows were
   * reported by whoever read it.
   */
  readonly failure?: { readonly errorCode: number | string; readonly message: string };
  /**
   * The user may already hold part of these operations (applied from a part of its rows, before the
   * input turned out not grouped by user): its state is read before the first write and only what is
   * missing is done, as for a user begun by an earlier run, even when the checkpoint has it as done.
   */
  readonly recheck?: boolean;
}

/** One membership (or group) that could not be applied. */
export interface FailedItem {
  readonly user: string;
  readonly group: string;
  /** Absent for a group-level failure (creating an empty group, deleting a group). */
  readonly conversation?: Conversation;
  readonly action: 'create' | 'add' | 'remove' | 'delete';
  /** The API ErrorCode or ResultCode, or a transport code such as `TIMEOUT` or `HTTP 502`. */
  readonly errorCode: number | string;
  readonly message: string;
  /** The input line of the membership, when known. */
  readonly line?: number;
  readonly opId: string;
}

/** How one operation ended. `stopped`: the run is stopping and the operation's outcome is left open. */
export type OpOutcome = 'ok' | 'failed' | 'stopped';

/** What a user's processing needs from the run. */
export interface UserContext {
  readonly api: ChatApi;
  readonly scheduler: EndpointScheduler;
  readonly checkpoint: CheckpointStore;
  readonly retry: RetryPolicy;
  readonly clock: Clock;
  /** Aborted when the run stops starting calls. */
  readonly stopSignal: AbortSignal;
  /** Aborted when calls in flight are abandoned. */
  readonly callSignal: AbortSignal;
  /** A fatal failure: the run must stop. */
  fatal(err: unknown): void;
  /** Told when a state read looks odd. */
  readonly warn?: (message: string) => void;
  /** Awaited before the first call of an operation that removes (see `ApplyOptions.beforeRemoval`). */
  readonly beforeRemoval?: (op: Operation) => Promise<void>;
  failedItem(item: FailedItem): void;
  opOutcome(outcome: 'ok' | 'failed', reconciled: boolean): void;
}

export type UserOutcome = 'done' | 'failed' | 'skipped' | 'unfinished';

const ENDPOINT_OF: Readonly<Record<Operation['kind'], Endpoint>> = {
  create: 'create_contact_group',
  update: 'update_contact_group',
  delete: 'del_contact_group',
};

async function invoke(api: ChatApi, op: Operation, signal?: AbortSignal): Promise<readonly ItemResult[]> {
  switch (op.kind) {
    case 'create':
      return (await api.createGroup(op.user, op.group, op.add, signal)).failed;
    case 'update':
      return (await api.updateGroupMembers(op.user, op.group, { add: op.add, remove: op.remove }, signal))
        .failed;
    case 'delete':
      await api.deleteGroup(op.user, op.group, signal);
      return [];
  }
}

/**
 * Whether a permanent refusal of `op` may only mean that an earlier attempt already did it: a create
 * answered "exists" (50002 with a duplicate-name message, a 51010 count that includes our own group, an
 * unknown code), or a delete answered "not found". The state is read before deciding.
 */
function worthLooking(op: Operation, err: unknown): boolean {
  const failure = failureOf(err);
  if (failure?.kind !== 'api') return false;
  const code = failure.errorCode;
  if (op.kind === 'create')
    return code === 50002 || code === 51009 || code === 51010 || !ERROR_CODES.has(code);
  return op.kind === 'delete' && code === 51009;
}

/** Whether `op` removes something from the app. */
function removes(op: Operation): boolean {
  return op.kind === 'delete' || (op.kind === 'update' && op.remove.length > 0);
}

/** A delete with what its groups hold in `remote` when it was read (fresher than the plan's). */
function withHeld(op: Operation, remote: RemoteUser | undefined): Operation {
  if (op.kind !== 'delete' || remote === undefined) return op;
  const held = new Map<string, Conversation>();
  for (const g of remote.groups) {
    if (g.name !== op.group) continue;
    for (const c of g.conversations) held.set(conversationKey(c), c);
  }
  return { ...op, held: [...held.values()].sort(compareConversations) };
}

/** Applies one user's operations strictly in order; see runApply for the rules. */
export async function applyUser(
  work: UserWork,
  priorProgress: UserProgress | undefined,
  ctx: UserContext,
): Promise<UserOutcome> {
  const { user } = work;
  let prior = priorProgress;
  if (work.violations !== undefined && work.violations.length > 0) {
    ctx.checkpoint.recordUser({
      user,
      outcome: 'skipped',
      reason: work.violations.map((v) => v.message).join('; '),
    });
    return 'skipped';
  }
  if (work.failure !== undefined) {
    ctx.checkpoint.recordUser({ user, outcome: 'failed', reason: work.failure.message });
    return 'failed';
  }
  if (work.recheck === true) prior = { status: 'begun', okOps: new Set<string>() };
  const okOps = prior?.status === 'begun' ? prior.okOps : new Set<string>();
  const pending = work.operations.filter((op) => !okOps.has(op.id));
  if (pending.length === 0) {
    ctx.checkpoint.recordUser({ user, outcome: 'done' });
    return 'done';
  }
  if (ctx.stopSignal.aborted) return 'unfinished';
  try {
    await ctx.checkpoint.begin(user);
  } catch (err) {
    ctx.fatal(err);
    return 'unfinished';
  }
  const state: { remote: RemoteUser | undefined; failedCreates: Map<string, FailedItem> } = {
    remote: undefined,
    failedCreates: new Map(),
  };
  if (prior?.status === 'begun') {
    // A previous run may have left a call with an unknown outcome: look before writing anything.
    const read = await readState(user, ctx);
    if (read === 'stopped') return 'unfinished';
    if (read instanceof Error) {
      // Nothing is known of the user: its pending operations fail with the read's error, row by row.
      for (const op of pending) finish(work, op, [], read, false, ctx);
      ctx.checkpoint.recordUser({
        user,
        outcome: 'failed',
        reason: `reading the state failed: ${read.message}`,
      });
      return 'failed';
    }
    state.remote = read;
  }
  let failed = 0;
  for (const op of pending) {
    if (ctx.stopSignal.aborted) return 'unfinished';
    const blocked = state.failedCreates.get(op.group);
    const outcome =
      blocked === undefined
        ? await runOperation(work, op, state, ctx)
        : failWithoutCall(work, op, blocked, ctx);
    if (outcome === 'stopped') return 'unfinished';
    if (outcome === 'failed') failed++;
    if (ctx.checkpoint.failure !== undefined) {
      ctx.fatal(ctx.checkpoint.failure);
      return 'unfinished';
    }
  }
  if (failed > 0) {
    ctx.checkpoint.recordUser({ user, outcome: 'failed', reason: `${failed} operation(s) failed` });
    return 'failed';
  }
  ctx.checkpoint.recordUser({ user, outcome: 'done' });
  return 'done';
}

async function readState(user: string, ctx: UserContext): Promise<RemoteUser | Error | 'stopped'> {
  try {
    return await readRemoteUser(ctx.api, ctx.scheduler, user, {
      ...ctx.retry,
      clock: ctx.clock,
      signal: ctx.callSignal,
      stopSignal: ctx.stopSignal,
      ...(ctx.warn === undefined ? {} : { onWarning: ctx.warn }),
    });
  } catch (err) {
    const verdict = judgeFailure(err, { signal: ctx.callSignal });
    if (verdict.kind === 'aborted' || ctx.stopSignal.aborted) return 'stopped';
    if (verdict.kind === 'fatal') {
      ctx.fatal(err);
      return 'stopped';
    }
    return err instanceof Error ? err : new Error(String(err));
  }
}

/**
 * Runs one planned operation to its outcome:
 * - a call that may or may not have been applied (unknown outcome), or a refusal that may only mean
 *   an earlier attempt did it, is settled by reading the state and redoing only what is missing;
 * - items that failed alone with a transient ResultCode inside a successful call are sent again, only
 *   those, in a follow-up update through the limiter, with the same backoff and at most
 *   `maxAttempts` rounds; a retried item then refused for good is checked against the state (its
 *   first attempt may have landed), so both readings of "re-adding a member" converge;
 * - items that failed for good are reported per row; the operation is recorded once, at the end.
 */
async function runOperation(
  work: UserWork,
  planned: Operation,
  state: { remote: RemoteUser | undefined; failedCreates: Map<string, FailedItem> },
  ctx: UserContext,
): Promise<OpOutcome> {
  const maxRounds = ctx.retry.maxAttempts ?? 8;
  // What is still wanted: `planned`, then only the items being retried (never again those settled).
  let target: Operation = planned;
  let current = state.remote === undefined ? planned : reconcileOperation(planned, state.remote);
  let reconciled = current !== planned;
  const settled: ItemResult[] = [];
  let itemRounds = 0;
  let last: Operation = planned;
  let seenRemoval = false;
  for (let round = 1; ; round++) {
    if (current === undefined) return finish(work, last, settled, undefined, reconciled, ctx);
    if (ctx.stopSignal.aborted) return 'stopped';
    if (!seenRemoval && removes(current)) {
      // Once per operation: later rounds only send again (part of) what it was told.
      seenRemoval = true;
      current = withHeld(current, state.remote);
      try {
        await ctx.beforeRemoval?.(current);
      } catch (err) {
        ctx.fatal(err);
        return 'stopped';
      }
    }
    const op: Operation = current;
    last = op;
    let verdict: Verdict;
    let error: unknown;
    try {
      const failedItems = await callWithRetry(
        ctx.scheduler,
        ENDPOINT_OF[op.kind],
        (signal) => invoke(ctx.api, op, signal),
        {
          ...ctx.retry,
          clock: ctx.clock,
          signal: ctx.callSignal,
          stopSignal: ctx.stopSignal,
          write: true,
        },
      );
      if (state.remote !== undefined) state.remote = applyToRemote(state.remote, op, failedItems);
      const { retry, final, rateLimited } = splitFailedItems(failedItems);
      let refused = final;
      if (itemRounds > 0 && refused.length > 0) {
        // Items sent again: a refusal may only say that their first attempt landed after all.
        const read = await readState(work.user, ctx);
        if (read === 'stopped') return 'stopped';
        if (!(read instanceof Error)) {
          state.remote = read;
          refused = refused.filter((item) => !itemHolds(item, op.group, read));
        }
      }
      settled.push(...refused);
      if (retry.length === 0) return finish(work, op, settled, undefined, reconciled, ctx);
      itemRounds++;
      if (itemRounds >= maxRounds)
        return finish(work, op, [...settled, ...retry], undefined, reconciled, ctx);
      // Items refused for the rate: the follow-ups go to update_contact_group, slow it down.
      if (rateLimited) ctx.scheduler.reportRateLimited('update_contact_group');
      try {
        await ctx.clock.sleep(backoffMs(itemRounds, rateLimited, ctx.retry), ctx.stopSignal);
      } catch {
        return 'stopped';
      }
      target = retryOperation(op, retry);
      current = target;
      continue;
    } catch (err) {
      error = err;
      verdict = judgeFailure(err, { write: true, signal: ctx.callSignal });
    }
    if (verdict.kind === 'aborted' || ctx.stopSignal.aborted) return 'stopped';
    if (verdict.kind === 'fatal') {
      ctx.fatal(error);
      return 'stopped';
    }
    const look =
      verdict.kind === 'unknown_outcome' || (verdict.kind === 'permanent' && worthLooking(op, error));
    if (!look || round >= maxRounds) {
      const outcome = finish(work, op, settled, error, reconciled, ctx);
      if (op.kind === 'create') state.failedCreates.set(op.group, toFailedItem(work, op, undefined, error));
      return outcome;
    }
    if (verdict.kind === 'unknown_outcome') {
      try {
        await ctx.clock.sleep(backoffMs(round, false, ctx.retry), ctx.stopSignal);
      } catch {
        return 'stopped';
      }
    }
    const read = await readState(work.user, ctx);
    if (read === 'stopped') return 'stopped';
    if (read instanceof Error) return finish(work, op, settled, error, reconciled, ctx);
    state.remote = read;
    const next = reconcileOperation(target, read);
    reconciled = true;
    if (verdict.kind === 'permanent' && next !== undefined && next.kind === op.kind) {
      // Not what it seemed: the group really is missing (create) or present (delete).
      const outcome = finish(work, op, settled, error, reconciled, ctx);
      if (op.kind === 'create') state.failedCreates.set(op.group, toFailedItem(work, op, undefined, error));
      return outcome;
    }
    current = next;
  }
}
