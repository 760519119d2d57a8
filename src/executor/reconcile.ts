import { type Conversation, conversationKey, type RemoteGroup, type RemoteUser } from '../model.js';
import type { Operation } from '../planner/types.js';
import { type ChatApi, type ItemResult, readUserState } from '../tencent/api.js';
import type { EndpointScheduler } from './rate/limiters.js';
import { type CallOptions, callWithRetry } from './retry.js';

/** The group a name-addressed call acts on: the first (lowest GroupId) of that name. */
export function findGroup(remote: RemoteUser, name: string): RemoteGroup | undefined {
  let found: RemoteGroup | undefined;
  for (const g of remote.groups) {
    if (g.name === name && (found === undefined || g.groupId < found.groupId)) found = g;
  }
  return found;
}

/**
 * What is still to be done of `op`, given what the service holds now, or `undefined` when nothing is.
 * Used after an unknown outcome (a timeout, a lost response, a run killed mid-call) and after a create
 * refused because the group exists:
 * - `create` of a group that exists → an `update` with the adds still missing (never a second create:
 *   the service may allow duplicate names); of a missing group → the create unchanged.
 * - `update` → only the adds still missing and the removals still present; a missing group keeps its
 *   adds (the call will report the group missing) and drops its removals.
 * - `delete` of a missing group → nothing.
 * The result keeps `op.id`: the checkpoint records outcomes by planned operation; it is `op` itself
 * when nothing changed.
 */
export function reconcileOperation(op: Operation, remote: RemoteUser): Operation | undefined {
  const group = findGroup(remote, op.group);
  switch (op.kind) {
    case 'create': {
      if (group === undefined) return op;
      const add = missing(op.add, group);
      if (add.length === 0) return undefined;
      return { id: op.id, kind: 'update', user: op.user, group: op.group, add, remove: [] };
    }
    case 'update': {
      if (group === undefined) {
        if (op.add.length === 0) return undefined;
        return op.remove.length === 0 ? op : { ...op, remove: [] };
      }
      const add = missing(op.add, group);
      const remove = present(op.remove, group);
      if (add.length === 0 && remove.length === 0) return undefined;
      if (add.length === op.add.length && remove.length === op.remove.length) return op;
      return { ...op, add, remove };
    }
    case 'delete':
      return group === undefined ? undefined : op;
  }
}

function keysOf(group: RemoteGroup): Set<string> {
  return new Set(group.conversations.map(conversationKey));
}

function missing(list: readonly Conversation[], group: RemoteGroup): Conversation[] {
  const have = keysOf(group);
  return list.filter((c) => !have.has(conversationKey(c)));
}

function present(list: readonly Conversation[], group: RemoteGroup): Conversation[] {
  const have = keysOf(group);
  return list.filter((c) => have.has(conversationKey(c)));
}

/**
 * `remote` after `op` succeeded (its `failed` items excepted), so that later operations of the same user
 * can be reconciled without reading the state again. A created group gets a placeholder GroupId
 * (negative, below any real one).
 */
export function applyToRemote(
  remote: RemoteUser,
  op: Operation,
  failed: readonly ItemResult[] = [],
): RemoteUser {
  const failedKeys = new Set(failed.map((f) => `${f.op}:${conversationKey(f.conversation)}`));
  const ok = (action: 'add' | 'remove') => (c: Conversation) =>
    !failedKeys.has(`${action}:${conversationKey(c)}`);
  const group = findGroup(remote, op.group);
  switch (op.kind) {
    case 'create': {
      const placeholderId = Math.min(0, ...remote.groups.map((g) => g.groupId)) - 1;
      const created: RemoteGroup = {
        groupId: placeholderId,
        name: op.group,
        conversations: op.add.filter(ok('add')),
      };
      return { ...remote, groups: [...remote.groups, created] };
    }
    case 'update': {
      if (group === undefined) return remote;
      const members = new Map(group.conversations.map((c) => [conversationKey(c), c]));
      for (const c of op.add.filter(ok('add'))) members.set(conversationKey(c), c);
      for (const c of op.remove.filter(ok('remove'))) members.delete(conversationKey(c));
      const updated: RemoteGroup = { ...group, conversations: [...members.values()] };
      return { ...remote, groups: remote.groups.map((g) => (g === group ? updated : g)) };
    }
    case 'delete':
      return { ...remote, groups: remote.groups.filter((g) => g !== group) };
  }
}

/**
 * Reads a user's state page by page through the get_contact_group limiter, each page with retries.
 * Rejects like {@link callWithRetry} when a page cannot be read.
 */
export function readRemoteUser(
  api: Pick<ChatApi, 'getGroupsPage'>,
  scheduler: EndpointScheduler,
  user: string,
  options: CallOptions & { readonly onWarning?: (message: string) => void } = {},
): Promise<RemoteUser> {
  const paced: Pick<ChatApi, 'getGroupsPage'> = {
    getGroupsPage: (u, startIndex) =>
      callWithRetry(scheduler, 'get_contact_group', (signal) => api.getGroupsPage(u, startIndex, signal), {
        ...options,
        write: false,
      }),
  };
  return readUserState(paced, user, options.onWarning === undefined ? {} : { onWarning: options.onWarning });
}
