import { type Conversation, conversationKey, type GroupState, type RemoteUser } from '../model.js';
import { compareCodeUnits, sha256Hex } from './canonical.js';
import type { DuplicateGroup } from './types.js';

/**
 * A group reduced to its name and its distinct conversations, sorted by key (keys from
 * {@link conversationKey}, in code-unit order: the order of `compareConversations`).
 *
 * Sorted arrays rather than maps: the planner diffs two groups by walking both lists once, and the
 * reader already hands over groups in this order, so folding a desired user is one linear check.
 */
export interface LogicalGroup {
  readonly name: string;
  /** Distinct conversation keys, ascending. */
  readonly keys: readonly string[];
  /** The conversations, aligned with `keys`. */
  readonly conversations: readonly Conversation[];
}

/** A remote group name with every service group that carries it (usually one). */
export interface RemoteLogicalGroup extends LogicalGroup {
  /** Ascending. More than one when the service holds duplicate names. */
  readonly groupIds: readonly number[];
}

/**
 * Folds groups into one entry per name (a repeated name gets the union of its members), whatever
 * the order of groups and conversations. The map's keys are in code-unit order.
 */
export function foldDesired(groups: readonly GroupState[]): Map<string, LogicalGroup> {
  // The common case (the reader's output): names strictly ascending, each group's keys strictly
  // ascending. Checked in one pass; anything else takes the general path.
  const out = new Map<string, LogicalGroup>();
  let previous: string | undefined;
  for (const g of groups) {
    const folded = sortedGroup(g.name, g.conversations);
    if (folded === undefined || (previous !== undefined && !(previous < g.name))) return foldAny(groups);
    out.set(g.name, folded);
    previous = g.name;
  }
  return out;
}

/** The group as a {@link LogicalGroup} when its conversations are strictly ascending, else undefined. */
function sortedGroup(name: string, conversations: readonly Conversation[]): LogicalGroup | undefined {
  const keys: string[] = new Array(conversations.length);
  for (let i = 0; i < conversations.length; i++) {
    const key = conversationKey(conversations[i]!);
    if (i > 0 && !(keys[i - 1]! < key)) return undefined;
    keys[i] = key;
  }
  return { name, keys, conversations };
}

function foldAny(
  groups: readonly { readonly name: string; readonly conversations: readonly Conversation[] }[],
): Map<string, LogicalGroup> {
  const members = new Map<string, Map<string, Conversation>>();
  for (const g of groups) {
    let entry = members.get(g.name);
    if (entry === undefined) {
      entry = new Map();
      members.set(g.name, entry);
    }
    for (const c of g.conversations) entry.set(conversationKey(c), c);
  }
  const out = new Map<string, LogicalGroup>();
  for (const name of [...members.keys()].sort(compareCodeUnits)) {
    out.set(name, fromMembers(name, members.get(name)!));
  }
  return out;
}

function fromMembers(name: string, members: ReadonlyMap<string, Conversation>): LogicalGroup {
  const keys = [...members.keys()].sort(compareCodeUnits);
  return { name, keys, conversations: keys.map((k) => members.get(k)!) };
}

/** The remote state by name, plus the names held by more than one service group. */
export interface FoldedRemote {
  /** By name, in code-unit order. */
  readonly groups: Map<string, RemoteLogicalGroup>;
  readonly duplicates: readonly DuplicateGroup[];
  /** Service groups, duplicates counted one by one (what the 20-group limit counts). */
  readonly physicalGroups: number;
  /**
   * Keys of the conversations that carry a mark (`RemoteUser.marked`): they count toward the
   * 1000-conversation limit whatever the groups become, and are never touched.
   */
  readonly marked: ReadonlySet<string>;
}

const NO_MARKS: ReadonlySet<string> = new Set();
const EMPTY_REMOTE: FoldedRemote = { groups: new Map(), duplicates: [], physicalGroups: 0, marked: NO_MARKS };

export function foldRemote(remote: RemoteUser | undefined): FoldedRemote {
  if (remote === undefined) return EMPTY_REMOTE;
  const marked =
    remote.marked === undefined || remote.marked.length === 0
      ? NO_MARKS
      : new Set(remote.marked.map(conversationKey));
  if (remote.groups.length === 0) return marked.size === 0 ? EMPTY_REMOTE : { ...EMPTY_REMOTE, marked };
  const ids = new Map<string, number[]>();
  for (const g of remote.groups) {
    const list = ids.get(g.name);
    if (list === undefined) ids.set(g.name, [g.groupId]);
    else list.push(g.groupId);
  }
  const folded = foldAny(remote.groups);
  const groups = new Map<string, RemoteLogicalGroup>();
  const duplicates: DuplicateGroup[] = [];
  for (const [name, group] of folded) {
    const groupIds = ids.get(name)!.sort((a, b) => a - b);
    if (groupIds.length > 1) duplicates.push({ name, groupIds: [...groupIds] });
    groups.set(name, { ...group, groupIds });
  }
  return { groups, duplicates, physicalGroups: remote.groups.length, marked };
}

/** The names of both sides, once each, in code-unit order. */
export function unionNames(a: ReadonlyMap<string, unknown>, b: ReadonlyMap<string, unknown>): string[] {
  if (b.size === 0) return [...a.keys()];
  if (a.size === 0) return [...b.keys()];
  const names = new Set([...a.keys(), ...b.keys()]);
  return [...names].sort(compareCodeUnits);
}

/** What one group's desired and remote members differ by, in key order. */
export interface GroupDiff {
  readonly add: Conversation[];
  readonly remove: Conversation[];
  /** Members on both sides. */
  readonly common: number;
}

/** One walk over both sorted lists. */
export function diffGroups(want: LogicalGroup, have: LogicalGroup): GroupDiff {
  const add: Conversation[] = [];
  const remove: Conversation[] = [];
  let common = 0;
  const wk = want.keys;
  const hk = have.keys;
  let i = 0;
  let j = 0;
  while (i < wk.length || j < hk.length) {
    if (j === hk.length || (i < wk.length && wk[i]! < hk[j]!)) {
      add.push(want.conversations[i]!);
      i++;
    } else if (i === wk.length || hk[j]! < wk[i]!) {
      remove.push(have.conversations[j]!);
      j++;
    } else {
      common++;
      i++;
      j++;
    }
  }
  return { add, remove, common };
}

/** Distinct conversation keys across groups. */
export function distinctKeys(groups: Iterable<LogicalGroup>): Set<string> {
  const keys = new Set<string>();
  for (const g of groups) for (const k of g.keys) keys.add(k);
  return keys;
}

/** How many distinct conversations the groups hold (no set is built for a single group). */
export function distinctCount(groups: ReadonlyMap<string, LogicalGroup>): number {
  if (groups.size === 1) for (const g of groups.values()) return g.keys.length;
  return distinctKeys(groups.values()).size;
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
  // The bytes canonicalJson would write (keys in code-unit order, names and conversation keys sorted),
  // put together directly: several times faster on this hot path (one digest per user).
  let text = '{"groups":[';
  let first = true;
  for (const g of groups.values()) {
    text += `${first ? '' : ','}{"conversations":${JSON.stringify(g.keys)},"name":${JSON.stringify(g.name)}}`;
    first = false;
  }
  return sha256Hex(`${text}],"hasRejectedRows":${hasRejectedRows},"user":${JSON.stringify(user)}}`);
}
