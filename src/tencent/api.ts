import { SyncError } from '../errors.js';
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

/** A conversation as get_contact_group and search_contact_group list it. */
export interface ListedConversation {
  readonly conversation: Conversation;
  /** The groups holding it; empty for a conversation listed only for its mark. */
  readonly groupIds: readonly number[];
  /** It carries a mark (StandardMark bit or CustomMark): it counts toward 1000 in any case. */
  readonly marked?: boolean;
}

export interface GroupsPage {
  readonly groups: readonly { name: string; groupId: number }[];
  readonly conversations: readonly ListedConversation[];
  readonly complete: boolean;
  readonly nextStartIndex: number;
  /** The raw CompleteFlag, when the page carried one (for warnings). */
  readonly completeFlag?: number;
}

export interface SearchResult {
  readonly groups: readonly { name: string; groupId: number }[];
  readonly conversations: readonly ListedConversation[];
}

/** Options of {@link readUserState}. */
export interface ReadStateOptions {
  /**
   * Most pages read for one user; a listing that goes on longer is an `UNEXPECTED_RESPONSE` error
   * (the user's state is not known). 1000 grouped and 1000 marked conversations fit at any page size.
   * @default 2500
   */
  readonly maxPages?: number;
  readonly signal?: AbortSignal;
  /** Told when CompleteFlag and NextStartIndex disagree (the loop stops either way). */
  readonly onWarning?: (message: string) => void;
}

/**
 * Reads every page of a user's groups and folds them into a `RemoteUser`, defensively: stops on
 * CompleteFlag 1 and on a NextStartIndex that does not advance (whichever comes first, with a warning
 * when the two disagree), and fails after `maxPages`. Conversations listed without a group, or with
 * a mark, are kept in `marked`: they count toward the 1000-conversation limit.
 */
export async function readUserState(
  api: Pick<ChatApi, 'getGroupsPage'>,
  user: string,
  options: ReadStateOptions = {},
): Promise<RemoteUser> {
  const maxPages = options.maxPages ?? 2500;
  const names = new Map<number, string>();
  const members = new Map<number, Map<string, Conversation>>();
  const marked = new Map<string, Conversation>();
  let start = 0;
  for (let page = 0; ; page++) {
    if (page >= maxPages) {
      throw new SyncError(
        'UNEXPECTED_RESPONSE',
        `get_contact_group for user "${user}" did not end after ${maxPages} pages (NextStartIndex ${start}): its state is unknown`,
        { user },
      );
    }
    const result = await api.getGroupsPage(user, start, options.signal);
    for (const g of result.groups) {
      names.set(g.groupId, g.name);
      if (!members.has(g.groupId)) members.set(g.groupId, new Map());
    }
    for (const c of result.conversations) {
      const key = `${c.conversation.type}:${c.conversation.id}`;
      if (c.groupIds.length === 0 || c.marked === true) marked.set(key, c.conversation);
      for (const id of c.groupIds) {
        let m = members.get(id);
        if (m === undefined) {
          m = new Map();
          members.set(id, m);
        }
        m.set(key, c.conversation);
      }
    }
    const next = result.nextStartIndex;
    const advances = next > start;
    if (result.complete) {
      if (advances) {
        options.onWarning?.(
          `get_contact_group for user "${user}": CompleteFlag 1 but NextStartIndex ${next} advances from ${start}; taking CompleteFlag (the listing ends here)`,
        );
      }
      break;
    }
    if (!advances) {
      options.onWarning?.(
        `get_contact_group for user "${user}": CompleteFlag ${result.completeFlag ?? 0} but NextStartIndex ${next} does not advance from ${start}; taking the listing as complete`,
      );
      break;
    }
    start = next;
  }
  const groups = [...members.entries()]
    .filter(([id]) => names.has(id))
    .map(([groupId, m]) => ({
      groupId,
      name: names.get(groupId) as string,
      conversations: [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, c]) => c),
    }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.groupId - b.groupId));
  if (marked.size === 0) return { user, groups };
  const keys = [...marked.keys()].sort();
  return { user, groups, marked: keys.map((k) => marked.get(k) as Conversation) };
}
