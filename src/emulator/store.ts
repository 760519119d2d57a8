import { type Conversation, conversationKey, LIMITS } from '../model.js';
import type {
  CreateContactGroupResponse,
  DelContactGroupResponse,
  Endpoint,
  GetContactGroupResponse,
  SearchContactGroupResponse,
  UpdateContactGroupResponse,
  WireContactResult,
  WireItemResult,
} from '../tencent/wire.js';
import type { ItemFault } from './faults.js';
import type { DuplicateNames, ExistingMember } from './options.js';
import {
  type MemberChange,
  type MembersCommand,
  parseCreate,
  parseDelete,
  parseGet,
  parseSearch,
  parseUpdate,
  Refusal,
  type RenameCommand,
  type RequestReadings,
} from './requests.js';
import { type EmulatorState, parseSnapshot, type StateGroup, type StoreSnapshot } from './snapshot.js';
import {
  checkConversationLimit,
  contactResult,
  countWithMarks,
  groupItems,
  itemResult,
  markedOnlyResult,
  OK,
  refusable,
} from './store-answers.js';
import { type Grouped, type GroupRecord, UserGroups } from './user-groups.js';

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
  /** @default false */
  itemsOneByOne?: boolean | undefined;
  /** @default 0 */
  markedPerUser?: number | undefined;
  /** @default false */
  contactItemRequired?: boolean | undefined;
  /** @default unlimited */
  oldGroupNameMaxBytes?: number | undefined;
  /** The fate of each item of a create or update (the server draws it from its seeded sequence). */
  itemFault?: (() => ItemFault | undefined) | undefined;
}

/** Any response body the store produces: an envelope, plus the endpoint's payload on success. */
export type StoreResponse =
  | CreateContactGroupResponse
  | UpdateContactGroupResponse
  | SearchContactGroupResponse
  | DelContactGroupResponse
  | GetContactGroupResponse;

/**
 * The emulated service: users → groups {GroupId, name, ordered members}, and the five endpoints'
 * semantics. Pure: no I/O, no randomness; time only through the injected `nowSeconds`.
 * Each endpoint method takes the parsed request body and returns the response body; a call refused
 * as a whole changes nothing. GroupIds are per user, from 1, never reused. With duplicate names,
 * update and delete act on the group with the lowest GroupId of that name.
 */
export class ContactGroupStore {
  readonly #users = new Map<string, UserGroups>();
  readonly #duplicateNames: DuplicateNames;
  readonly #existingMember: ExistingMember;
  readonly #knownUsers: ReadonlySet<string> | undefined;
  readonly #pageSize: number;
  readonly #now: () => number;
  readonly #oneByOne: boolean;
  readonly #markedPerUser: number;
  readonly #readings: RequestReadings;
  readonly #itemFault: (() => ItemFault | undefined) | undefined;
  #marks: ReadonlyMap<string, Conversation> | undefined;
  #revision = 0;

  constructor(options: StoreOptions = {}) {
    this.#duplicateNames = options.duplicateNames ?? 'reject';
    this.#existingMember = options.existingMember ?? 'ok';
    this.#knownUsers = options.knownUsers;
    this.#pageSize = options.pageSize ?? 100;
    this.#now = options.nowSeconds ?? (() => 0);
    this.#oneByOne = options.itemsOneByOne ?? false;
    this.#markedPerUser = options.markedPerUser ?? 0;
    this.#readings = {
      contactItemRequired: options.contactItemRequired ?? false,
      oldGroupNameMaxBytes: options.oldGroupNameMaxBytes,
    };
    this.#itemFault = options.itemFault;
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
    return refusable(() => {
      const cmd = parseCreate(body, this.#readings);
      this.#checkImported(cmd.user);
      const user = this.#users.get(cmd.user);
      const count = user?.groups.length ?? 0;
      if (count >= LIMITS.groupsPerUser) {
        throw new Refusal(51010, `${cmd.user} already has ${count} conversation groups, the limit is 20`);
      }
      this.#checkNameFree(user?.groups ?? [], cmd.name);
      const members = new Map<string, Conversation>();
      const changes = cmd.conversations.map((conversation): MemberChange => ({ op: 'add', conversation }));
      const results = this.#applyChanges(user, undefined, members, changes).map(
        ({ ContactOptType: _, ...r }) => r,
      );

      const record = user ?? this.#addUser(cmd.user);
      const group = record.addGroup(cmd.name);
      record.setMembers(group, members, this.#now());
      this.#revision++;
      return {
        GroupResultItem: [
          { GroupItem: { GroupName: group.name, GroupId: group.groupId }, ResultItem: results },
        ],
        ...OK,
      };
    });
  }

  updateContactGroup(body: unknown): UpdateContactGroupResponse {
    return refusable(() => {
      const cmd = parseUpdate(body, this.#readings);
      this.#checkImported(cmd.user);
      return cmd.kind === 'rename' ? this.#rename(cmd) : this.#updateMembers(cmd);
    });
  }

  /**
   * Answers only conversations in at least one group or carrying a mark (each once), and every group
   * of the user in `GroupItem`. More than 300 conversations → 50002 (the page names no count-specific
   * code). Marks are those of `markedPerUser`: `StandardMark` "1" (else ""), no `CustomMark`;
   * `Timestamp` is when the conversation's grouping last changed (0 for a mark only).
   */
  searchContactGroup(body: unknown): SearchContactGroupResponse {
    return refusable(() => {
      const cmd = parseSearch(body);
      this.#checkImported(cmd.user);
      const user = this.#users.get(cmd.user);
      const seen = new Set<string>();
      const found: WireContactResult[] = [];
      const marked = this.#marked();
      for (const c of cmd.conversations) {
        const key = conversationKey(c);
        if (seen.has(key)) continue;
        const grouped = user?.groupedOf(key);
        if (user !== undefined && grouped !== undefined) {
          seen.add(key);
          found.push(contactResult(user, key, grouped, marked.has(key)));
        } else if (marked.has(key)) {
          seen.add(key);
          found.push(markedOnlyResult(c));
        }
        // A conversation in no group and without a mark has no data to report: it is left out.
      }
      return { ContactResultItem: found, GroupItem: groupItems(user), ...OK };
    });
  }

  delContactGroup(body: unknown): DelContactGroupResponse {
    return refusable(() => {
      const cmd = parseDelete(body);
      this.#checkImported(cmd.user);
      const { user, group } = this.#existingGroup(cmd.user, cmd.name);
      user.removeGroup(group, this.#now());
      this.#revision++;
      return { GroupItem: [{ GroupName: group.name, GroupId: group.groupId }], ...OK };
    });
  }

  /**
   * The real paging is UNKNOWN (reference §2.1); the emulator's choice: `StartIndex` is an offset
   * into the user's grouped conversations in first-grouped order; a page holds `pageSize` of them;
   * every page carries every group of the user (empty ones too); the last page has CompleteFlag 1
   * and NextStartIndex 0, the others CompleteFlag 0 and NextStartIndex = the next offset.
   * Conversations that carry only a mark (`markedPerUser`) come after the grouped ones, without
   * `ContactGroupId`.
   */
  getContactGroup(body: unknown): GetContactGroupResponse {
    return refusable(() => {
      const cmd = parseGet(body);
      this.#checkImported(cmd.user);
      const user = this.#users.get(cmd.user);
      const marked = this.#marked();
      const entries: ([string, Grouped] | Conversation)[] = user?.grouped() ?? [];
      for (const [key, c] of marked) if (user?.groupedOf(key) === undefined) entries.push(c);
      const end = cmd.startIndex + this.#pageSize;
      const complete = end >= entries.length;
      const page = entries.slice(cmd.startIndex, end);
      return {
        ContactItem: page.map((e) =>
          Array.isArray(e)
            ? contactResult(user as UserGroups, e[0], e[1], marked.has(e[0]))
            : markedOnlyResult(e),
        ),
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
    for (const [name, user] of this.#sortedUsers()) if (user.groups.length > 0) users[name] = user.toState();
    return { users };
  }

  /** The state file content: the state plus every user's next GroupId. */
  snapshot(): StoreSnapshot {
    const users: Record<string, { nextGroupId: number; groups: StateGroup[] }> = {};
    for (const [name, user] of this.#sortedUsers()) {
      users[name] = { nextGroupId: user.nextGroupId, groups: user.toState() };
    }
    return { version: 1, users };
  }

  /**
   * Replaces the whole state with `data` (a snapshot or a state body, narrowed from `unknown`;
   * see `parseSnapshot`). Limits are not enforced, so over-limit states can be seeded on purpose.
   */
  load(data: unknown): void {
    const snapshot = parseSnapshot(data);
    const now = this.#now();
    this.#users.clear();
    for (const [name, entry] of Object.entries(snapshot.users)) {
      this.#users.set(name, UserGroups.fromState(entry.nextGroupId, entry.groups, now));
    }
    this.#revision++;
  }

  /** Forgets every user and group (GroupIds start again at 1). */
  reset(): void {
    this.#users.clear();
    this.#revision++;
  }

  #rename(cmd: RenameCommand): UpdateContactGroupResponse {
    const { user, group } = this.#existingGroup(cmd.user, cmd.oldName);
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
    const { user, group } = this.#existingGroup(cmd.user, cmd.groupName);
    const members = new Map(group.members);
    const results = this.#applyChanges(user, group, members, cmd.changes);
    user.setMembers(group, members, this.#now());
    this.#revision++;
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

  /**
   * Applies a call's items, in the order sent, to a working copy of a group's members, with the
   * per-item faults drawn; then checks the conversation limit for the whole call (51008 refuses it),
   * or with `itemsOneByOne` after each item (an item that passes it gets ResultCode 51008).
   */
  #applyChanges(
    user: UserGroups | undefined,
    group: GroupRecord | undefined,
    members: Map<string, Conversation>,
    changes: readonly MemberChange[],
  ): (WireItemResult & { ContactOptType: 1 | 2 })[] {
    const marked = this.#marked();
    const total = (): number => countWithMarks(user, group, members, marked);
    const results = changes.map((ch) => {
      const c = ch.conversation;
      const fault = this.#itemFault?.();
      let result: WireItemResult;
      if (fault !== undefined && !fault.applied) {
        result = itemResult(c, fault.resultCode, 'emulated item fault');
      } else {
        const key = conversationKey(c);
        const had = members.has(key);
        result = this.#applyChange(members, ch.op, c);
        if (this.#oneByOne && ch.op === 'add' && !had && members.has(key)) {
          const count = total();
          if (count > LIMITS.conversationsPerUser) {
            members.delete(key);
            result = itemResult(c, 51008, `grouping it would make ${count} conversations, more than 1000`);
          }
        }
        if (fault !== undefined && result.ResultCode === 0) {
          result = itemResult(c, fault.resultCode, 'emulated item fault (applied)');
        }
      }
      return { ContactOptType: ch.op === 'add' ? (1 as const) : (2 as const), ...result };
    });
    if (!this.#oneByOne) checkConversationLimit(total());
    return results;
  }

  /** The conversations every user has with a mark (`markedPerUser`), by key. */
  #marked(): ReadonlyMap<string, Conversation> {
    if (this.#marks === undefined) {
      const marks = new Map<string, Conversation>();
      for (let i = 0; i < this.#markedPerUser; i++) {
        const c: Conversation = { type: 1, id: `~marked-${String(i).padStart(4, '0')}` };
        marks.set(conversationKey(c), c);
      }
      this.#marks = marks;
    }
    return this.#marks;
  }

  /** Applies one add/remove to a working copy of a group's members, returning the per-item result. */
  #applyChange(members: Map<string, Conversation>, op: 'add' | 'remove', c: Conversation): WireItemResult {
    if (c.type === 1 && this.#knownUsers !== undefined && !this.#knownUsers.has(c.id)) {
      return itemResult(c, 50001, `To_Account ${c.id} has not been imported`);
    }
    const key = conversationKey(c);
    const present = members.has(key);
    if (op === 'add' ? present : !present) {
      if (this.#existingMember === 'ok') return itemResult(c, 0, '');
      return itemResult(
        c,
        50002,
        op === 'add' ? 'conversation is already in the group' : 'conversation is not in the group',
      );
    }
    if (op === 'add') members.set(key, c);
    else members.delete(key);
    return itemResult(c, 0, '');
  }

  #existingGroup(userId: string, name: string): { user: UserGroups; group: GroupRecord } {
    const user = this.#users.get(userId);
    const group = user?.find(name);
    if (user === undefined || group === undefined) {
      throw new Refusal(51009, `conversation group "${name}" of ${userId} does not exist`);
    }
    return { user, group };
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

  #addUser(name: string): UserGroups {
    const user = new UserGroups();
    this.#users.set(name, user);
    return user;
  }

  #sortedUsers(): [string, UserGroups][] {
    return [...this.#users].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }
}
