import type { Conversation, RemoteUser } from '../model.js';

/**
 * The port the executor, planner reads and `verify` use to talk to Tencent Cloud Chat.
 * `TencentClient` (client.ts) implements it over HTTP; tests may implement it in memory.
 *
 * Contract:
 * - A call resolves only when HTTP is 200, `ActionStatus` is `OK` and `ErrorCode` is 0.
 * - Envelope failures reject with a `SyncError` of code `API` (context.errorCode set) or `TRANSPORT`
 *   (context.httpStatus set for a non-200 answer; absent for network errors and timeouts);
 *   `failureOf(err)` in client.ts turns such an error into a classifier `Failure`.
 * - Per-item results are returned item by item in `items`; `failed` lists those with ResultCode ≠ 0.
 *   Nothing is swallowed: a caller must look at `failed`.
 */
export interface ChatApi {
  createGroup(
    user: string,
    group: string,
    conversations: readonly Conversation[],
    signal?: AbortSignal,
  ): Promise<GroupWriteResult>;
  updateGroupMembers(
    user: string,
    group: string,
    changes: MemberChanges,
    signal?: AbortSignal,
  ): Promise<GroupWriteResult>;
  renameGroup(
    user: string,
    oldName: string,
    newName: string,
    signal?: AbortSignal,
  ): Promise<{ groupId: number }>;
  deleteGroup(user: string, group: string, signal?: AbortSignal): Promise<{ groupId: number }>;
  /** One page of get_contact_group. */
  getGroupsPage(user: string, startIndex: number, signal?: AbortSignal): Promise<GroupsPage>;
  /** search_contact_group for at most 300 conversations. */
  searchGroups(
    user: string,
    conversations: readonly Conversation[],
    signal?: AbortSignal,
  ): Promise<SearchResult>;
}

export interface MemberChanges {
  readonly add: readonly Conversation[];
  readonly remove: readonly Conversation[];
}

export interface ItemResult {
  readonly conversation: Conversation;
  /** For update calls: whether the item was an add or a removal. Create items are adds. */
  readonly op: 'add' | 'remove';
  readonly resultCode: number;
  readonly resultInfo: string;
}

export interface GroupWriteResult {
  readonly groupId: number;
  readonly groupName: string;
  readonly items: readonly ItemResult[];
  /** The items whose ResultCode is not 0. */
  readonly failed: readonly ItemResult[];
}

export interface GroupsPage {
  readonly groups: readonly { name: string; groupId: number }[];
  readonly conversations: readonly { conversation: Conversation; groupIds: readonly number[] }[];
  readonly complete: boolean;
  readonly nextStartIndex: number;
}

export interface SearchResult {
  readonly groups: readonly { name: string; groupId: number }[];
  readonly conversations: readonly { conversation: Conversation; groupIds: readonly number[] }[];
}

/**
 * Reads every page of a user's groups and folds them into a `RemoteUser`, defensively:
 * stops on CompleteFlag 1, on a NextStartIndex that does not advance, or after `maxPages`.
 */
export async function readUserState(
  api: Pick<ChatApi, 'getGroupsPage'>,
  user: string,
  options: { maxPages?: number; signal?: AbortSignal } = {},
): Promise<RemoteUser> {
  const maxPages = options.maxPages ?? 1000;
  const names = new Map<number, string>();
  const members = new Map<number, Map<string, Conversation>>();
  let start = 0;
  for (let page = 0; page < maxPages; page++) {
    const result = await api.getGroupsPage(user, start, options.signal);
    for (const g of result.groups) {
      names.set(g.groupId, g.name);
      if (!members.has(g.groupId)) members.set(g.groupId, new Map());
    }
    for (const c of result.conversations) {
      for (const id of c.groupIds) {
        let m = members.get(id);
        if (m === undefined) {
          m = new Map();
          members.set(id, m);
        }
        m.set(`${c.conversation.type}:${c.conversation.id}`, c.conversation);
      }
    }
    if (result.complete || result.nextStartIndex <= start) break;
    start = result.nextStartIndex;
  }
  const groups = [...members.entries()]
    .filter(([id]) => names.has(id))
    .map(([groupId, m]) => ({
      groupId,
      name: names.get(groupId) as string,
      conversations: [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, c]) => c),
    }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.groupId - b.groupId));
  return { user, groups };
}
