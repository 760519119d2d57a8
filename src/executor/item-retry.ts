import { conversationKey, type RemoteUser } from '../model.js';
import type { Operation } from '../planner/types.js';
import type { ItemResult } from '../tencent/api.js';
import { classifyFailure } from '../tencent/error-codes.js';
import { findGroup } from './reconcile.js';

/**
 * Items of a successful create or update that failed alone: those worth sending again (a transient
 * or rate-limit ResultCode: 50004, 50005, 60007…) and those that failed for good.
 */
export function splitFailedItems(failed: readonly ItemResult[]): {
  readonly retry: readonly ItemResult[];
  readonly final: readonly ItemResult[];
  /** Some of `retry` were rate limited: back off as for a rate-limit answer. */
  readonly rateLimited: boolean;
} {
  const retry: ItemResult[] = [];
  const final: ItemResult[] = [];
  let rateLimited = false;
  for (const item of failed) {
    const cls = classifyFailure({ kind: 'api', errorCode: item.resultCode });
    if (cls === 'transient' || cls === 'rate_limited') {
      retry.push(item);
      if (cls === 'rate_limited') rateLimited = true;
    } else {
      final.push(item);
    }
  }
  return { retry, final, rateLimited };
}

/**
 * The follow-up of `op` that sends only `items` again: an update of the same group (after a create,
 * the group exists), removals and adds as the items were. Keeps `op.id`: the checkpoint records the
 * planned operation's outcome once, when every round is over.
 */
export function retryOperation(op: Operation, items: readonly ItemResult[]): Operation {
  return {
    id: op.id,
    kind: 'update',
    user: op.user,
    group: op.group,
    add: items.filter((i) => i.op === 'add').map((i) => i.conversation),
    remove: items.filter((i) => i.op === 'remove').map((i) => i.conversation),
  };
}

/**
 * Whether what `item` asked for holds in `remote` anyway: the conversation is in the group (an add)
 * or not (a removal). A retried item refused as "already there" (a service that answers an error for
 * re-adding a member) is then done, not failed: its first attempt landed though it was reported not to.
 */
export function itemHolds(item: ItemResult, group: string, remote: RemoteUser): boolean {
  const found = findGroup(remote, group);
  const key = conversationKey(item.conversation);
  const present = found?.conversations.some((c) => conversationKey(c) === key) === true;
  return item.op === 'add' ? present : !present;
}
