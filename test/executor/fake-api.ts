import type { Conversation } from '../../src/model.js';
import { conversationKey } from '../../src/model.js';
import type {
  ChatApi,
  GroupsPage,
  GroupWriteResult,
  ItemResult,
  MemberChanges,
  SearchResult,
} from '../../src/tencent/api.js';
import { errorForFailure } from '../../src/tencent/client.js';

/** A scripted answer to one call, decided before the call is applied. */
export type Fault =
  | { readonly kind: 'api'; readonly code: number }
  | { readonly kind: 'http'; readonly status: number }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'refused' }
  /** Applied, then the response is lost (socket reset): the caller sees a network error. */
  | { readonly kind: 'lost' }
  /** Applied, then the caller sees a timeout. */
  | { readonly kind: 'lost_timeout' };

export type FakeMethod = 'create' | 'update' | 'rename' | 'delete' | 'get' | 'search';

export interface FakeCall {
  readonly seq: number;
  readonly method: FakeMethod;
  readonly user: string;
  readonly group?: string;
}

export interface FakeApiOptions {
  /** Creating a group whose name exists: `reject` answers 50002, `allow` makes a second group. @default 'reject' */
  readonly duplicateNames?: 'reject' | 'allow';
  /** Conversations per get_contact_group page. @default 3 */
  readonly pageSize?: number;
  /** Scripted failure of a call. */
  readonly fault?: (call: FakeCall) => Fault | undefined;
  /**
   * ResultCode of one item (0 = ok); a non-zero code with `applied: true` is an item that landed
   * though it was reported failed.
   */
  readonly itemCode?: (
    user: string,
    group: string,
    conversation: Conversation,
    op: 'add' | 'remove',
  ) => number | { readonly code: number; readonly applied: boolean };
  /** Re-adding a member or removing a non-member: `error` answers ResultCode 50002. @default 'ok' */
  readonly existingMember?: 'ok' | 'error';
  /** Called when a call starts (after the fault decision); may wait (latency), honouring the signal. */
  readonly delay?: (call: FakeCall, signal?: AbortSignal) => Promise<void>;
}

/** Applies a call whose answer is lost anyway (a refusal is lost as well). */
function applyQuietly(apply: () => unknown): void {
  try {
    apply();
  } catch {
    // the answer, error or not, never reaches the caller
  }
}

interface FakeGroup {
  readonly groupId: number;
  readonly name: string;
  readonly members: Map<string, Conversation>;
}

/** A normalised view of the fake's state: user → group name → sorted conversation keys. */
export type FakeState = Record<string, Record<string, string[]>>;

/** An in-memory ChatApi: a tiny model of users' groups and memberships with scripted failures. */
export class FakeChatApi implements ChatApi {
  readonly calls: FakeCall[] = [];
  readonly #users = new Map<string, FakeGroup[]>();
  readonly #options: FakeApiOptions;
  #nextId = 1;

  constructor(options: FakeApiOptions = {}) {
    this.#options = options;
  }

  /** Seeds a user's groups: name → conversation keys (`1:bob`, `2:@TGS#x`). */
  seed(user: string, groups: Record<string, readonly string[]>): this {
    const list = this.#groupsOf(user);
    for (const [name, keys] of Object.entries(groups)) {
      const members = new Map<string, Conversation>();
      for (const key of keys) members.set(key, { type: key.startsWith('2:') ? 2 : 1, id: key.slice(2) });
      list.push({ groupId: this.#nextId++, name, members });
    }
    return this;
  }

  /** The state, normalised; duplicate names appear as `name#2`, `name#3`. */
  state(): FakeState {
    const out: FakeState = {};
    for (const [user, groups] of [...this.#users.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (groups.length === 0) continue;
      const view: Record<string, string[]> = {};
      for (const g of [...groups].sort((a, b) => a.groupId - b.groupId)) {
        let name = g.name;
        for (let n = 2; name in view; n++) name = `${g.name}#${n}`;
        view[name] = [...g.members.keys()].sort();
      }
      out[user] = Object.fromEntries(Object.entries(view).sort(([a], [b]) => (a < b ? -1 : 1)));
    }
    return out;
  }

  /** Users with two groups of the same name. */
  duplicates(): string[] {
    const out: string[] = [];
    for (const [user, groups] of this.#users) {
      const names = groups.map((g) => g.name);
      if (new Set(names).size !== names.length) out.push(user);
    }
    return out;
  }

  count(method: FakeMethod): number {
    return this.calls.filter((c) => c.method === method).length;
  }

  #groupsOf(user: string): FakeGroup[] {
    let list = this.#users.get(user);
    if (list === undefined) {
      list = [];
      this.#users.set(user, list);
    }
    return list;
  }

  async #call<T>(
    method: FakeMethod,
    user: string,
    group: string | undefined,
    signal: AbortSignal | undefined,
    apply: () => T,
  ): Promise<T> {
    const call: FakeCall = {
      seq: this.calls.length + 1,
      method,
      user,
      ...(group === undefined ? {} : { group }),
    };
    this.calls.push(call);
    const fault = this.#options.fault?.(call);
    await this.#options.delay?.(call, signal);
    if (signal?.aborted) throw Object.assign(new Error('aborted'), { name: 'AbortError' });
    const where = `${method} for ${user}`;
    if (fault === undefined) return apply();
    switch (fault.kind) {
      case 'api':
        throw errorForFailure({ kind: 'api', errorCode: fault.code }, `${where}: ErrorCode ${fault.code}`, {
          user,
        });
      case 'http':
        throw errorForFailure({ kind: 'http', status: fault.status }, `${where}: HTTP ${fault.status}`, {
          user,
        });
      case 'timeout':
        throw errorForFailure({ kind: 'timeout' }, `${where}: timeout`, { user });
      case 'refused':
        throw errorForFailure({ kind: 'network', cause: 'ECONNREFUSED' }, `${where}: connection refused`, {
          user,
        });
      case 'lost':
        applyQuietly(apply);
        throw errorForFailure({ kind: 'network', cause: 'ECONNRESET' }, `${where}: socket reset`, { user });
      case 'lost_timeout':
        applyQuietly(apply);
        throw errorForFailure({ kind: 'timeout' }, `${where}: timeout`, { user });
    }
  }

  #apiError(code: number, message: string, user: string): Error {
    return errorForFailure({ kind: 'api', errorCode: code }, message, { user });
  }

  #find(user: string, name: string): FakeGroup | undefined {
    return this.#users.get(user)?.find((g) => g.name === name);
  }

  #items(user: string, group: FakeGroup, list: readonly Conversation[], op: 'add' | 'remove'): ItemResult[] {
    return list.map((conversation) => {
      const fate = this.#options.itemCode?.(user, group.name, conversation, op) ?? 0;
      let resultCode = typeof fate === 'number' ? fate : fate.code;
      const applies = typeof fate === 'number' ? fate === 0 : fate.applied;
      const key = conversationKey(conversation);
      if (applies) {
        const present = group.members.has(key);
        if (this.#options.existingMember === 'error' && (op === 'add') === present) resultCode = 50002;
        else if (op === 'add') group.members.set(key, conversation);
        else group.members.delete(key);
      }
      return {
        conversation,
        op,
        resultCode,
        resultInfo: resultCode === 0 ? '' : `item refused (${resultCode})`,
      };
    });
  }

  #result(group: FakeGroup, items: ItemResult[]): GroupWriteResult {
    return {
      groupId: group.groupId,
      groupName: group.name,
      items,
      failed: items.filter((i) => i.resultCode !== 0),
    };
  }

  createGroup(
    user: string,
    group: string,
    conversations: readonly Conversation[],
    signal?: AbortSignal,
  ): Promise<GroupWriteResult> {
    return this.#call('create', user, group, signal, () => {
      const list = this.#groupsOf(user);
      if (this.#find(user, group) !== undefined && this.#options.duplicateNames !== 'allow') {
        throw this.#apiError(50002, `group "${group}" already exists`, user);
      }
      if (list.length >= 20) throw this.#apiError(51010, 'more than 20 groups', user);
      const created: FakeGroup = { groupId: this.#nextId++, name: group, members: new Map() };
      list.push(created);
      return this.#result(created, this.#items(user, created, conversations, 'add'));
    });
  }

  updateGroupMembers(
    user: string,
    group: string,
    changes: MemberChanges,
    signal?: AbortSignal,
  ): Promise<GroupWriteResult> {
    return this.#call('update', user, group, signal, () => {
      const found = this.#find(user, group);
      if (found === undefined) throw this.#apiError(51009, `group "${group}" not found`, user);
      const items = [
        ...this.#items(user, found, changes.add, 'add'),
        ...this.#items(user, found, changes.remove, 'remove'),
      ];
      return this.#result(found, items);
    });
  }

  renameGroup(
    user: string,
    oldName: string,
    newName: string,
    signal?: AbortSignal,
  ): Promise<{ groupId: number }> {
    return this.#call('rename', user, oldName, signal, () => {
      const list = this.#groupsOf(user);
      const index = list.findIndex((g) => g.name === oldName);
      const found = list[index];
      if (found === undefined) throw this.#apiError(51009, `group "${oldName}" not found`, user);
      list[index] = { ...found, name: newName };
      return { groupId: found.groupId };
    });
  }

  deleteGroup(user: string, group: string, signal?: AbortSignal): Promise<{ groupId: number }> {
    return this.#call('delete', user, group, signal, () => {
      const list = this.#groupsOf(user);
      const index = list.findIndex((g) => g.name === group);
      const found = list[index];
      if (found === undefined) throw this.#apiError(51009, `group "${group}" not found`, user);
      list.splice(index, 1);
      return { groupId: found.groupId };
    });
  }

  getGroupsPage(user: string, startIndex: number, signal?: AbortSignal): Promise<GroupsPage> {
    return this.#call('get', user, undefined, signal, () => {
      const groups = this.#users.get(user) ?? [];
      const byConversation = new Map<string, { conversation: Conversation; groupIds: number[] }>();
      for (const g of groups) {
        for (const [key, conversation] of g.members) {
          const entry = byConversation.get(key) ?? { conversation, groupIds: [] };
          entry.groupIds.push(g.groupId);
          byConversation.set(key, entry);
        }
      }
      const all = [...byConversation.values()];
      const size = this.#options.pageSize ?? 3;
      const page = all.slice(startIndex, startIndex + size);
      const next = startIndex + page.length;
      return {
        groups: groups.map((g) => ({ name: g.name, groupId: g.groupId })),
        conversations: page,
        complete: next >= all.length,
        nextStartIndex: next >= all.length ? 0 : next,
      };
    });
  }

  searchGroups(
    user: string,
    conversations: readonly Conversation[],
    signal?: AbortSignal,
  ): Promise<SearchResult> {
    return this.#call('search', user, undefined, signal, () => {
      const groups = this.#users.get(user) ?? [];
      return {
        groups: groups.map((g) => ({ name: g.name, groupId: g.groupId })),
        conversations: conversations.map((conversation) => ({
          conversation,
          groupIds: groups.filter((g) => g.members.has(conversationKey(conversation))).map((g) => g.groupId),
        })),
      };
    });
  }
}
