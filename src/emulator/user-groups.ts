import { type Conversation, conversationKey } from '../model.js';
import type { StateGroup } from './snapshot.js';

/** One conversation group of a user. Members keep the order they were added in. */
export interface GroupRecord {
  readonly groupId: number;
  name: string;
  members: ReadonlyMap<string, Conversation>;
}

/** A conversation in at least one of the user's groups: in how many, and when its grouping last changed. */
export interface Grouped {
  readonly conversation: Conversation;
  count: number;
  timestamp: number;
}

/**
 * One user's groups (ascending GroupId; ids never reused) and the index of the conversations they
 * group, kept in step on every change so the 1000-conversation limit is checked in O(call size).
 */
export class UserGroups {
  nextGroupId = 1;
  #groups: GroupRecord[] = [];
  /** Insertion order: the order get_contact_group pages through. */
  readonly #grouped = new Map<string, Grouped>();

  get groups(): readonly GroupRecord[] {
    return this.#groups;
  }

  /** Distinct conversations in at least one group. */
  get groupedCount(): number {
    return this.#grouped.size;
  }

  /** The grouped conversations, in first-grouped order. */
  grouped(): [string, Grouped][] {
    return [...this.#grouped];
  }

  groupedOf(key: string): Grouped | undefined {
    return this.#grouped.get(key);
  }

  /** The group of that name with the lowest GroupId (groups are kept by ascending GroupId). */
  find(name: string): GroupRecord | undefined {
    return this.#groups.find((g) => g.name === name);
  }

  /** Adds an empty group, with the next GroupId unless one is given (loading a snapshot). */
  addGroup(name: string, groupId = this.nextGroupId): GroupRecord {
    const group: GroupRecord = { groupId, name, members: new Map() };
    this.#groups.push(group);
    this.#groups.sort((a, b) => a.groupId - b.groupId);
    this.nextGroupId = Math.max(this.nextGroupId, groupId + 1);
    return group;
  }

  removeGroup(group: GroupRecord, now: number): void {
    this.setMembers(group, new Map(), now);
    this.#groups = this.#groups.filter((g) => g !== group);
  }

  /** How many conversations would be grouped if `group`'s members became `after`. */
  countAfter(group: GroupRecord | undefined, after: ReadonlyMap<string, Conversation>): number {
    const before = group?.members ?? new Map<string, Conversation>();
    let total = this.#grouped.size;
    for (const key of after.keys()) if (!before.has(key) && !this.#grouped.has(key)) total++;
    for (const key of before.keys()) if (!after.has(key) && this.#grouped.get(key)?.count === 1) total--;
    return total;
  }

  /** Replaces a group's members, updating the index and the timestamps of conversations that moved. */
  setMembers(group: GroupRecord, members: ReadonlyMap<string, Conversation>, now: number): void {
    for (const [key, conversation] of members) {
      if (group.members.has(key)) continue;
      const g = this.#grouped.get(key);
      if (g === undefined) this.#grouped.set(key, { conversation, count: 1, timestamp: now });
      else {
        g.count++;
        g.timestamp = now;
      }
    }
    for (const key of group.members.keys()) {
      if (members.has(key)) continue;
      const g = this.#grouped.get(key);
      if (g === undefined) continue;
      g.count--;
      g.timestamp = now;
      if (g.count === 0) this.#grouped.delete(key);
    }
    group.members = members;
  }

  /** GroupIds of the groups holding the conversation, ascending. */
  groupIdsOf(key: string): number[] {
    return this.#groups.filter((g) => g.members.has(key)).map((g) => g.groupId);
  }

  toState(): StateGroup[] {
    return this.#groups.map((g) => ({
      groupId: g.groupId,
      name: g.name,
      members: [...g.members.values()].map((c) => ({ type: c.type, id: c.id })),
    }));
  }

  /** Rebuilds a user from a snapshot entry (already validated by `parseSnapshot`). */
  static fromState(nextGroupId: number, groups: readonly StateGroup[], now: number): UserGroups {
    const user = new UserGroups();
    for (const g of groups) {
      const group = user.addGroup(g.name, g.groupId);
      user.setMembers(group, new Map(g.members.map((m) => [conversationKey(m), m])), now);
    }
    user.nextGroupId = nextGroupId;
    return user;
  }
}
