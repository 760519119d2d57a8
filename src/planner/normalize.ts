import { type Conversation, conversationKey, type GroupState, type RemoteUser } from '../model.js';
import { compareCodeUnits, sha256Hex } from './canonical.js';
import type { DuplicateGroup } from './types.js';

/** A group reduced to its name and a key → conversation map (keys from {@link conversationKey}). */
export interface LogicalGroup {
  readonly name: string;
  readonly members: ReadonlyMap<string, Conversation>;
}

/** A remote group name with every service group that carries it (usually one). */
export interface RemoteLogicalGroup extends LogicalGroup {
  /** Ascending. More than one when the service holds duplicate names. */
  readonly groupIds: readonly number[];
}

/**
 * Folds groups into one entry per name (a repeated name gets the union of its members), whatever
 * the order of groups and conversations. Callers iterate names through {@link sortedNames}.
 */
export function foldDesired(groups: readonly GroupState[]): Map<string, LogicalGroup> {
  const out = new Map<string, { name: string; members: Map<string, Conversation> }>();
  for (const g of groups) {
    let entry = out.get(g.name);
    if (entry === undefined) {
      entry = { name: g.name, members: new Map() };
      out.set(g.name, entry);
    }
    for (const c of g.conversations) entry.members.set(conversationKey(c), c);
  }
  return out;
}

/** The remote state by name, plus the names held by more than one service group. */
export interface FoldedRemote {
  readonly groups: Map<string, RemoteLogicalGroup>;
  readonly duplicates: readonly DuplicateGroup[];
  /** Service groups, duplicates counted one by one (what the 20-group limit counts). */
  readonly physicalGroups: number;
}

export function foldRemote(remote: RemoteUser | undefined): FoldedRemote {
  const groups = new Map<string, { name: string; groupIds: number[]; members: Map<string, Conversation> }>();
  for (const g of remote?.groups ?? []) {
    let entry = groups.get(g.name);
    if (entry === undefined) {
      entry = { name: g.name, groupIds: [], members: new Map() };
      groups.set(g.name, entry);
    }
    entry.groupIds.push(g.groupId);
    for (const c of g.conversations) entry.members.set(conversationKey(c), c);
  }
  const duplicates: DuplicateGroup[] = [];
  for (const name of sortedNames(groups)) {
    const entry = groups.get(name);
    if (entry === undefined) continue;
    entry.groupIds.sort((a, b) => a - b);
    if (entry.groupIds.length > 1) duplicates.push({ name, groupIds: [...entry.groupIds] });
  }
  return { groups, duplicates, physicalGroups: remote?.groups.length ?? 0 };
}

/** The keys of a map in code-unit order. */
export function sortedNames(map: ReadonlyMap<string, unknown>): string[] {
  return [...map.keys()].sort(compareCodeUnits);
}

/** The members of a group sorted by key (the order of `compareConversations`). */
export function sortedMembers(group: LogicalGroup): Conversation[] {
  return sortedEntries(group).map(([, c]) => c);
}

/** The members of a group as [key, conversation] pairs sorted by key. */
export function sortedEntries(group: LogicalGroup): [string, Conversation][] {
  return [...group.members].sort(([a], [b]) => compareCodeUnits(a, b));
}

/** Distinct conversation keys across groups. */
export function distinctKeys(groups: Iterable<LogicalGroup>): Set<string> {
  const keys = new Set<string>();
  for (const g of groups) for (const k of g.members.keys()) keys.add(k);
  return keys;
}

/**
 * sha256 of the canonical desired state: the user, whether any of its rows were rejected (a user
 * whose rejected rows are fixed must be planned again), and its groups by name with their sorted
 * conversation keys. Independent of the order rows arrived in.
 */
export function digestDesired(
  user: string,
  groups: ReadonlyMap<string, LogicalGroup>,
  hasRejectedRows: boolean,
): string {
  // Keys in code-unit order, as canonicalJson would write them; JSON.stringify keeps insertion order
  // and is several times faster on this hot path (one digest per user).
  const canonicalGroups = sortedNames(groups).map((name) => {
    const g = groups.get(name) as LogicalGroup;
    return { conversations: [...g.members.keys()].sort(compareCodeUnits), name };
  });
  return sha256Hex(JSON.stringify({ groups: canonicalGroups, hasRejectedRows, user }));
}
