import { type Conversation, conversationKey, LIMITS, type RemoteUser } from '../../src/model.js';
import type { Operation } from '../../src/planner/types.js';

interface ModelGroup {
  readonly id: number;
  readonly name: string;
  readonly members: Map<string, Conversation>;
}

/**
 * A small model of one user's conversation groups as the service keeps them: groups addressed by
 * name (the lowest id when names repeat), the per-call item limit, the 20-group and
 * 1000-conversation limits checked after every call (a call that would break one fails and changes
 * nothing), conversations carrying a mark counted toward the 1000. With `oneByOne`, the strictest
 * reading: the items of a call are applied in wire order (removals first, as the client sends them)
 * and the limit is checked after each. Independent of the planner's code.
 */
export class ServiceModel {
  readonly #groups: ModelGroup[] = [];
  readonly #marked: ReadonlySet<string>;
  readonly #oneByOne: boolean;
  #nextId = 1;
  /** The highest group and distinct-conversation counts seen after any successful call. */
  maxGroups = 0;
  maxConversations = 0;
  calls = 0;

  constructor(remote?: RemoteUser, options: { oneByOne?: boolean } = {}) {
    this.#marked = new Set((remote?.marked ?? []).map(conversationKey));
    this.#oneByOne = options.oneByOne === true;
    for (const g of remote?.groups ?? []) {
      this.#groups.push({
        id: g.groupId,
        name: g.name,
        members: new Map(g.conversations.map((c) => [conversationKey(c), c])),
      });
      this.#nextId = Math.max(this.#nextId, g.groupId + 1);
    }
  }

  apply(op: Operation): void {
    this.calls += 1;
    const before = this.#groups.map((g) => ({ ...g, members: new Map(g.members) }));
    try {
      this.#apply(op);
      if (this.#groups.length > LIMITS.groupsPerUser) throw new Error(`51010: ${this.#groups.length} groups`);
      const n = this.conversationCount();
      if (n > LIMITS.conversationsPerUser)
        throw new Error(`51008: ${n} conversations after ${op.kind} ${op.group}`);
      this.maxGroups = Math.max(this.maxGroups, this.#groups.length);
      this.maxConversations = Math.max(this.maxConversations, n);
    } catch (err) {
      this.#groups.splice(0, this.#groups.length, ...before);
      throw err;
    }
  }

  #apply(op: Operation): void {
    const target = this.#find(op.group);
    switch (op.kind) {
      case 'create':
        if (target !== undefined) throw new Error(`50002: group ${op.group} exists`);
        if (op.add.length > LIMITS.itemsPerCall) throw new Error('51006');
        this.#groups.push({
          id: this.#nextId++,
          name: op.group,
          members: new Map(op.add.map((c) => [conversationKey(c), c])),
        });
        return;
      case 'update':
        if (target === undefined) throw new Error(`51009: no group ${op.group}`);
        if (
          op.add.length + op.remove.length > LIMITS.itemsPerCall ||
          op.add.length + op.remove.length === 0
        ) {
          throw new Error(`51006: ${op.add.length + op.remove.length} items`);
        }
        for (const c of op.remove) target.members.delete(conversationKey(c));
        for (const c of op.add) {
          target.members.set(conversationKey(c), c);
          const n = this.conversationCount();
          if (this.#oneByOne && n > LIMITS.conversationsPerUser) {
            throw new Error(`51008: ${n} conversations in the middle of update ${op.group}`);
          }
        }
        return;
      case 'delete':
        if (target === undefined) throw new Error(`51009: no group ${op.group}`);
        this.#groups.splice(this.#groups.indexOf(target), 1);
        return;
    }
  }

  #find(name: string): ModelGroup | undefined {
    let best: ModelGroup | undefined;
    for (const g of this.#groups) if (g.name === name && (best === undefined || g.id < best.id)) best = g;
    return best;
  }

  conversationCount(): number {
    const keys = new Set<string>(this.#marked);
    for (const g of this.#groups) for (const k of g.members.keys()) keys.add(k);
    return keys.size;
  }

  groupCount(): number {
    return this.#groups.length;
  }

  /** name → sorted conversation keys (names held twice are merged). */
  state(): Map<string, string[]> {
    const out = new Map<string, Set<string>>();
    for (const g of this.#groups) {
      const s = out.get(g.name) ?? new Set<string>();
      for (const k of g.members.keys()) s.add(k);
      out.set(g.name, s);
    }
    return new Map([...out].map(([name, s]) => [name, [...s].sort()]));
  }
}
