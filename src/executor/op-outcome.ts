import { type Conversation, conversationKey, membershipKey } from '../model.js';
import type { Operation } from '../planner/types.js';
import type { ItemResult } from '../tencent/api.js';
import { describeErrorCode } from '../tencent/error-codes.js';
import type { FailedItem, OpOutcome, UserContext, UserWork } from './apply-user.js';
import type { FailedItemRecord } from './log/checkpoint-records.js';
import { failureCode, failureMessage } from './retry.js';

/**
 * How an operation's outcome is told: the checkpoint record, the failed rows (with their input
 * lines), and the run's counters. Used by apply-user.ts.
 */

export function lineOf(work: UserWork, group: string, conversation?: Conversation): { line?: number } {
  const line = work.lineOf?.get(membershipKey(group, conversation));
  return line === undefined ? {} : { line };
}

export function toFailedItem(
  work: UserWork,
  op: Operation,
  conversation: Conversation | undefined,
  error: unknown,
): FailedItem {
  const action =
    op.kind === 'create'
      ? conversation === undefined
        ? 'create'
        : 'add'
      : op.kind === 'delete'
        ? 'delete'
        : 'add';
  return {
    user: work.user,
    group: op.group,
    ...(conversation === undefined ? {} : { conversation }),
    action,
    errorCode: failureCode(error),
    message: failureMessage(error),
    ...lineOf(work, op.group, conversation),
    opId: op.id,
  };
}

/** Items of a whole operation that failed as one call. */
export function itemsOfFailedCall(work: UserWork, op: Operation, error: unknown): FailedItem[] {
  const base = toFailedItem(work, op, undefined, error);
  if (op.kind === 'delete') return [base];
  const items: FailedItem[] = op.add.map((c) => ({
    ...base,
    action: 'add' as const,
    conversation: c,
    ...lineOf(work, op.group, c),
  }));
  if (op.kind === 'update') {
    for (const c of op.remove) {
      const { line: _line, ...rest } = base;
      items.push({ ...rest, action: 'remove', conversation: c });
    }
  }
  return items.length === 0 ? [base] : items;
}

export function finish(
  work: UserWork,
  op: Operation,
  failedItems: readonly ItemResult[],
  error: unknown,
  reconciled: boolean,
  ctx: UserContext,
): OpOutcome {
  const failed = error !== undefined || failedItems.length > 0;
  const records: FailedItemRecord[] = failedItems.map((f) => ({
    conversation: conversationKey(f.conversation),
    action: f.op,
    code: f.resultCode,
  }));
  ctx.checkpoint.recordOp({
    id: op.id,
    user: work.user,
    kind: op.kind,
    group: op.group,
    outcome: failed ? 'failed' : 'ok',
    ...(error === undefined ? {} : { errorCode: failureCode(error) }),
    ...(records.length === 0 ? {} : { items: records }),
    ...(reconciled ? { reconciled: true } : {}),
    ...(op.kind === 'delete' && op.held !== undefined && !failed
      ? { removed: op.held.map(conversationKey) }
      : {}),
  });
  if (error !== undefined) {
    for (const item of itemsOfFailedCall(work, op, error)) ctx.failedItem(item);
  }
  for (const f of failedItems) {
    ctx.failedItem({
      user: work.user,
      group: op.group,
      conversation: f.conversation,
      action: f.op,
      errorCode: f.resultCode,
      message: f.resultInfo.length > 0 ? f.resultInfo : describeErrorCode(f.resultCode),
      ...(f.op === 'add' ? lineOf(work, op.group, f.conversation) : {}),
      opId: op.id,
    });
  }
  ctx.opOutcome(failed ? 'failed' : 'ok', reconciled);
  return failed ? 'failed' : 'ok';
}

/** An operation on a group whose creation failed: recorded as failed without a call. */
export function failWithoutCall(
  work: UserWork,
  op: Operation,
  cause: FailedItem,
  ctx: UserContext,
): OpOutcome {
  const message = `not attempted: creating group "${op.group}" failed (${String(cause.errorCode)})`;
  const error = Object.assign(new Error(message), { code: cause.errorCode });
  ctx.checkpoint.recordOp({
    id: op.id,
    user: work.user,
    kind: op.kind,
    group: op.group,
    outcome: 'failed',
    errorCode: cause.errorCode,
  });
  for (const item of itemsOfFailedCall(work, op, error))
    ctx.failedItem({ ...item, errorCode: cause.errorCode, message });
  ctx.opOutcome('failed', false);
  return 'failed';
}
