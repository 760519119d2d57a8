import { type Conversation, conversationKey, LIMITS } from '../model.js';
import type {
  CreateContactGroupResponse,
  DelContactGroupResponse,
  Endpoint,
  GetContactGroupResponse,
  SearchContactGroupResponse,
  UpdateContactGroupResponse,
  WireContactItem,
  WireContactResult,
  WireEnvelope,
  WireGroupItem,
  WireItemResult,
} from '../tencent/wire.js';
import type { DuplicateNames, ExistingMember } from './options.js';
import {
  type MembersCommand,
  parseCreate,
  parseDelete,
  parseGet,
  parseSearch,
  parseUpdate,
  Refusal,
  type RenameCommand,
} from './requests.js';
import { type EmulatorState, parseSnapshot, type StateGroup, type StoreSnapshot } from './snapshot.js';

/** Options of the pure store; see `EmulatorOptions` for their meaning. */
export interface StoreOptions {
  /** @default 'reject' */
  duplicateNames?: DuplicateNames | undefined;
  /** @default 'ok' */
  existingMember?: ExistingMember | undefined;
  /** @default every UserID is imported */
  knownUsers?: ReadonlySet<string> | undefined;
  /** @default 100 */
  pageSize?: number | undefined;
  /** Clock for the `Timestamp` fields, Unix seconds. @default () => 0 */
  nowSeconds?: (() => number) | undefined;
}

/** Any response body the store produces: an envelope, plus the endpoint's payload on success. */
export type StoreResponse =
  | CreateContactGroupResponse
  | UpdateContactGroupResponse
  | SearchContactGroupResponse
  | DelContactGroupResponse
  | GetContactGroupResponse;

interface GroupRecord {
  readonly groupId: number;
  name: string;
  members: Map<string, Conversation>;
}

/** A conversation in at least one group: in how many, and when its grouping last changed. */
interface Grouped {
  readonly conversation: Conversation;
  count: number;
  timestamp: number;
}

interface UserRecord {
  nextGroupId: number;
  /** Ascending GroupId. */
  groups: GroupRecord[];
  /** Insertion order = the order get_contact_group pages through. */
  grouped: Map<string, Grouped>;
}

const OK = { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '' } as const;

function fail(errorCode: number, info: string): WireEnvelope {
  return { ActionStatus: 'FAIL', ErrorCode: errorCode, ErrorInfo: info };
}

function toWire(c: Conversation): WireContactItem {
  return c.type === 1 ? { Type: 1, To_Account: c.id } : { Type: 2, ToGroupId: c.id };
}

function itemResult(c: Conversation, code: number, info: string): WireItemResult {
  return { ContactItem: toWire(c), ResultCode: code, ResultInfo: info };
}

/**
 * The emulated service: users → groups {GroupId, name, ordered members}, and the five endpoints'
 * semantics. Pure: no I/O, no randomness; time only through the injected `nowSeconds`.
 * Each endpoint method takes the parsed request body and returns the response body; a call refused
 * as a whole changes nothing. GroupIds are per user, from 1, never reused. With duplicate names,
 * update and delete act on the group with the lowest GroupId of that name.
 */
export class ContactGroupStore {
  readonly #users = new Map<string, UserRecord>();
  readonly #duplicateNames: DuplicateNames;
  readonly #existingMember: ExistingMember;
  readonly #knownUsers: ReadonlySet<string> | undefined;
  readonly #pageSize: number;
  readonly #now: () => number;
  #revision = 0;

  constructor(options: StoreOptions = {}) {
    this.#duplicateNames = options.duplicateNames ?? 'reject';
    this.#existingMember = options.existingMember ?? 'ok';
    this.#knownUsers = options.knownUsers;
    this.#pageSize = options.pageSize ?? 100;
    this.#now = options.nowSeconds ?? (() => 0);
  }

  /** Increases on every change of state: persistence saves when it moved. */
  get revision(): number {
    return this.#revision;
  }

  handle(endpoint: Endpoint, body: unknown): StoreResponse {
    switch (endpoint) {
      case 'create_contact_group':
        return this.createContactGroup(body);
      case 'update_contact_group':
        return this.updateContactGroup(body);
      case 'search_contact_group':
        return this.searchContactGroup(body);
      case 'del_contact_group':
        return this.delContactGroup(body);
      case 'get_contact_group':
        return this.getContactGroup(body);
    }
  }

  createContactGroup(body: unknown): CreateContactGroupResponse {
    return this.#refusable(() => {
      const cmd = parseCreate(body);
      this.#checkImported(cmd.user);
      const user = this.#users.get(cmd.user);
      const groups = user?.groups ?? [];
      if (groups.length >= LIMITS.groupsPerUser) {
        throw new Refusal(
          51010,
          `${cmd.user} already has ${groups.length} conversation groups, the limit is 20`,
        );
      }
      this.#checkNameFree(groups, cmd.name);
      const members = new Map<string, Conversation>();
      const results = cmd.conversations.map((c) => this.#applyChange(members, 'add', c));
      this.#checkConversationLimit(user, new Map(), members);

      const record = user ?? this.#addUser(cmd.user);
      const group: GroupRecord = { groupId: record.nextGroupId++, name: cmd.name, members: new Map() };
      record.groups.push(group);
      this.#commitMembers(record, group, members);
      return {
        GroupResultItem: [
          { GroupItem: { GroupName: group.name, GroupId: group.groupId }, ResultItem: results },
        ],
        ...OK,
      };
    });
  }

  updateContactGroup(body: unknown): UpdateContactGroupResponse {
    return this.#refusable(() => {
      const cmd = parseUpdate(body);
      this.#checkImported(cmd.user);
      return cmd.kind === 'rename' ? this.#rename(cmd) : this.#updateMembers(cmd);
    });
  }

  searchContactGroup(body: unknown): SearchContactGroupResponse {
    return this.#refusable(() => {
      const cmd = parseSearch(body);
      this.#checkImported(cmd.user);
      const user = this.#users.get(cmd.user);
      const seen = new Set<string>();
      const found: WireContactResult[] = [];
      for (const c of cmd.conversations) {
        const key = conversationKey(c);
        const grouped = user?.grouped.get(key);
        // A conversation in no group has no group data to report: it is left out.
        if (seen.has(key) || user === undefined || grouped === undefined) continue;
        seen.add(key);
        found.push(this.#contactResult(user, key, grouped));
      }
      return { ContactResultItem: found, GroupItem: groupItems(user), ...OK };
    });
  }

  delContactGroup(body: unknown): DelContactGroupResponse {
    return this.#refusable(() => {
      const cmd = parseDelete(body);
      this.#checkImported(cmd.user);
      const user = this.#users.get(cmd.user);
      const group = findGroup(user, cmd.name);
      if (user === undefined || group === undefined) {
        throw new Refusal(51009, `conversation group "${cmd.name}" of ${cmd.user} does not exist`);
      }
      this.#commitMembers(user, group, new Map());
      user.groups = user.groups.filter((g) => g !== group);
      this.#revision++;
      return { GroupItem: [{ GroupName: group.name, GroupId: group.groupId }], ...OK };
    });
  }

  getContactGroup(body: unknown): GetContactGroupResponse {
    return this.#refusable(() => {
      const cmd = parseGet(body);
      this.#checkImported(cmd.user);
      const user = this.#users.get(cmd.user);
      const entries = user === undefined ? [] : [...user.grouped];
      const end = cmd.startIndex + this.#pageSize;
      const page = entries.slice(cmd.startIndex, end);
      const complete = end >= entries.length;
      return {
        ContactItem: user === undefined ? [] : page.map(([key, g]) => this.#contactResult(user, key, g)),
        GroupItem: groupItems(user),
        CompleteFlag: complete ? 1 : 0,
        NextStartIndex: complete ? 0 : end,
        ...OK,
      };
    });
  }

  /** The full state, users sorted, groups by GroupId. Users without groups are left out. */
  state(): EmulatorState {
    const users: Record<string, StateGroup[]> = {};
    for (const name of [...this.#users.keys()].sort()) {
      const groups = this.#users.get(name)?.groups ?? [];
      if (groups.length > 0) users[name] = groups.map(stateGroup);
    }
    return { users };
  }

  /** The state file content: the state plus every user's next GroupId. */
  snapshot(): StoreSnapshot {
    const users: Record<string, { nextGroupId: number; groups: StateGroup[] }> = {};
    for (const name of [...this.#users.keys()].sort()) {
      const u = this.#users.get(name);
      if (u !== undefined) users[name] = { nextGroupId: u.nextGroupId, groups: u.groups.map(stateGroup) };
    }
    return { version: 1, users };
  }

  /**
   * Replaces the whole state with `data` (a snapshot or a state body, narrowed from `unknown`;
   * see `parseSnapshot`). Limits are not enforced, so over-limit states can be seeded on purpose.
   */
  load(data: unknown): void {
    const snapshot = parseSnapshot(data);
    this.#users.clear();
    const now = this.#now();
    for (const [name, entry] of Object.entries(snapshot.users)) {
      const record = this.#addUser(name);
      record.nextGroupId = entry.nextGroupId;
      for (const g of [...entry.groups].sort((a, b) => a.groupId - b.groupId)) {
        const group: GroupRecord = { groupId: g.groupId, name: g.name, members: new Map() };
        record.groups.push(group);
        this.#commitMembers(record, group, new Map(g.members.map((m) => [conversationKey(m), m])), now);
      }
    }
    this.#revision++;
  }

  /** Forgets every user and group (GroupIds start again at 1). */
  reset(): void {
    this.#users.clear();
    this.#revision++;
  }

  #refusable<T>(run: () => T): T | WireEnvelope {
    try {
      return run();
    } catch (error) {
      if (error instanceof Refusal) return fail(error.errorCode, error.message);
      throw error;
    }
  }

  #rename(cmd: RenameCommand): UpdateContactGroupResponse {
    const user = this.#users.get(cmd.user);
    const group = findGroup(user, cmd.oldName);
    if (user === undefined || group === undefined) {
      throw new Refusal(51009, `conversation group "${cmd.oldName}" of ${cmd.user} does not exist`);
    }
    this.#checkNameFree(
      user.groups.filter((g) => g !== group),
      cmd.newName,
    );
    group.name = cmd.newName;
    this.#revision++;
    return {
      UpdateType: 1,
      UpdateGroupResult: {
        UpdateGroupType: 1,
        GroupName: group.name,
        GroupId: group.groupId,
        OldGroupName: cmd.oldName,
      },
      ...OK,
    };
  }

  #updateMembers(cmd: MembersCommand): UpdateContactGroupResponse {
    const user = this.#users.get(cmd.user);
    const group = findGroup(user, cmd.groupName);
    if (user === undefined || group === undefined) {
      throw new Refusal(51009, `conversation group "${cmd.groupName}" of ${cmd.user} does not exist`);
    }
    const members = new Map(group.members);
    const results = cmd.changes.map((ch) => ({
      ContactOptType: ch.op === 'add' ? (1 as const) : (2 as const),
      ...this.#applyChange(members, ch.op, ch.conversation),
    }));
    this.#checkConversationLimit(user, group.members, members);
    this.#commitMembers(user, group, members);
    return {
      UpdateType: 1,
      UpdateGroupResult: {
        UpdateGroupType: 2,
        GroupName: group.name,
        GroupId: group.groupId,
        OldGroupName: cmd.groupName,
        ContactResultItem: results,
      },
      ...OK,
    };
  }

  /** Applies one add/remove to a working copy of a group's members, returning the per-item result. */
  #applyChange(members: Map<string, Conversation>, op: 'add' | 'remove', c: Conversation): WireItemResult {
    if (c.type === 1 && this.#knownUsers !== undefined && !this.#knownUsers.has(c.id)) {
      return itemResult(c, 50001, `To_Account ${c.id} has not been imported`);
    }
    const key = conversationKey(c);
    const present = members.has(key);
    if (op === 'add' ? present : !present) {
      return this.#existingMember === 'ok'
        ? itemResult(c, 0, '')
        : itemResult(
            c,
            50002,
            op === 'add' ? 'conversation is already in the group' : 'conversation is not in the group',
          );
    }
    if (op === 'add') members.set(key, c);
    else members.delete(key);
    return itemResult(c, 0, '');
  }

  #checkImported(user: string): void {
    if (this.#knownUsers !== undefined && !this.#knownUsers.has(user)) {
      throw new Refusal(50001, `From_Account ${user} has not been imported`);
    }
  }

  #checkNameFree(groups: readonly GroupRecord[], name: string): void {
    if (this.#duplicateNames === 'reject' && groups.some((g) => g.name === name)) {
      throw new Refusal(50002, `conversation group name "${name}" already exists`);
    }
  }

  /** 51008 when replacing a group's members `before` by `after` would group more than 1000 conversations. */
  #checkConversationLimit(
    user: UserRecord | undefined,
    before: ReadonlyMap<string, Conversation>,
    after: ReadonlyMap<string, Conversation>,
  ): void {
    let total = user?.grouped.size ?? 0;
    for (const key of after.keys()) if (!before.has(key) && user?.grouped.get(key) === undefined) total++;
    for (const key of before.keys()) if (!after.has(key) && user?.grouped.get(key)?.count === 1) total--;
    if (total > LIMITS.conversationsPerUser) {
      throw new Refusal(
        51008,
        `the call would group ${total} conversations, more than ${LIMITS.conversationsPerUser}`,
      );
    }
  }

  /** Replaces a group's members and keeps the per-user grouped-conversation index in step. */
  #commitMembers(
    user: UserRecord,
    group: GroupRecord,
    members: Map<string, Conversation>,
    now = this.#now(),
  ): void {
    for (const [key, c] of members) {
      if (group.members.has(key)) continue;
      const g = user.grouped.get(key);
      if (g === undefined) user.grouped.set(key, { conversation: c, count: 1, timestamp: now });
      else {
        g.count++;
        g.timestamp = now;
      }
    }
    for (const key of group.members.keys()) {
      if (members.has(key)) continue;
      const g = user.grouped.get(key);
      if (g === undefined) continue;
      if (--g.count === 0) user.grouped.delete(key);
      else g.timestamp = now;
    }
    group.members = members;
    this.#revision++;
  }

  #addUser(name: string): UserRecord {
    const record: UserRecord = { nextGroupId: 1, groups: [], grouped: new Map() };
    this.#users.set(name, record);
    return record;
  }

  #contactResult(user: UserRecord, key: string, g: Grouped): WireContactResult {
    const ids = user.groups.filter((group) => group.members.has(key)).map((group) => group.groupId);
    return { ...toWire(g.conversation), StandardMark: '', ContactGroupId: ids, Timestamp: g.timestamp };
  }
}

function findGroup(user: UserRecord | undefined, name: string): GroupRecord | undefined {
  // Groups are kept by ascending GroupId, so with duplicate names this is the lowest.
  return user?.groups.find((g) => g.name === name);
}

function groupItems(user: UserRecord | undefined): WireGroupItem[] {
  return (user?.groups ?? []).map((g) => ({ GroupName: g.name, GroupId: g.groupId }));
}

function stateGroup(g: GroupRecord): StateGroup {
  return { groupId: g.groupId, name: g.name, members: [...g.members.values()].map((c) => ({ ...c })) };
}
