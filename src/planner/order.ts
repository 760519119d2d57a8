import { type Conversation, conversationKey } from '../model.js';
import { compareCodeUnits } from './canonical.js';
import type { DraftOperation } from './operation-id.js';

/** One update call on a group the service already holds: removals come before adds. */
export interface UpdateChunk {
  readonly group: string;
  /** Position of the chunk in the group's sequence (ties keep that order). */
  readonly index: number;
  readonly add: readonly Conversation[];
  readonly remove: readonly Conversation[];
}

/** A group to create: the create carries `chunks[0]` (possibly empty), updates carry the rest. */
export interface NewGroup {
  readonly group: string;
  readonly chunks: readonly (readonly Conversation[])[];
  /** The conversation keys of `chunks`, aligned (saves the operation ids computing them again). */
  readonly keyChunks?: readonly (readonly string[])[];
}

/** A name to delete, `count` times (once per service group holding it). */
export interface GroupDeletion {
  readonly group: string;
  readonly count: number;
  /** What the groups of this name held (for `--backup`). */
  readonly held?: readonly Conversation[];
}

/**
 * Orders one user's operations so that every intermediate state stays within the 20-group and
 * 1000-conversation limits whenever the start and end states are within them:
 *
 * 1. deletes (groups and conversations only go down);
 * 2. updates that remove, pure removals first, then by net change (adds − removals) ascending;
 * 3. updates that only add (groups unchanged, conversations only go up);
 * 4. creates, each followed by its extra add updates (groups and conversations only go up).
 *
 * Phases 1, 3 and 4 are monotone, so the group count never passes max(start, end). The one
 * non-monotone step is an update mixing removals and adds (at most one per group: the chunk where
 * the group's removals end and its adds begin). The sequence is simulated; when such a mixed update
 * would take the user past `conversationLimit` (possible when a removal only frees a conversation
 * once another group drops it too), it is split into its removals (kept in phase 2) and its adds
 * (moved to phase 3), at the cost of one extra call. With every mixed update split, the conversation
 * count is monotone too, so the loop ends with a safe order.
 *
 * `pinned`: conversations that count whatever the groups become (those carrying a mark).
 * Within one call, the client sends removals before adds, so a call's own count only goes down, then
 * up: it never passes the larger of its start and its end, even on a service that applies items one
 * by one.
 */
export function orderOperations(
  user: string,
  parts: {
    readonly deletes: readonly GroupDeletion[];
    readonly updates: readonly UpdateChunk[];
    readonly creates: readonly NewGroup[];
  },
  /** The start state (name → conversation keys), built only when a mixed update must be checked. */
  start: () => ReadonlyMap<string, ReadonlySet<string>>,
  conversationLimit: number,
  pinned: ReadonlySet<string> = new Set(),
): DraftOperation[] {
  let updates = [...parts.updates];
  // Without a mixed update (always so in merge mode) every phase is monotone: nothing to check.
  if (!updates.some((u) => u.add.length > 0 && u.remove.length > 0)) {
    return sequence(user, parts.deletes, updates, parts.creates).drafts;
  }
  const startState = start();
  for (;;) {
    const { drafts, sources } = sequence(user, parts.deletes, updates, parts.creates);
    const at = firstOverflow(drafts, startState, conversationLimit, pinned);
    const source = at < 0 ? undefined : sources[at];
    if (source === undefined) return drafts;
    updates = updates.flatMap((u) =>
      u === source
        ? [
            { group: u.group, index: u.index, add: [], remove: u.remove },
            { group: u.group, index: u.index, add: u.add, remove: [] },
          ]
        : [u],
    );
  }
}

/**
 * The calls that make a new group, in order: a create carrying its first chunk (possibly empty),
 * then an update adding each further chunk.
 */
export function pushNewGroup(user: string, group: NewGroup, into: DraftOperation[]): void {
  const keys = group.keyChunks;
  const first = group.chunks[0] ?? [];
  const firstKeys = keys?.[0];
  into.push(
    firstKeys === undefined
      ? { kind: 'create', user, group: group.group, add: first }
      : { kind: 'create', user, group: group.group, add: first, addKeys: firstKeys },
  );
  for (let i = 1; i < group.chunks.length; i++) {
    const add = group.chunks[i]!;
    const addKeys = keys?.[i];
    into.push(
      addKeys === undefined
        ? { kind: 'update', user, group: group.group, add, remove: [] }
        : { kind: 'update', user, group: group.group, add, remove: [], addKeys },
    );
  }
}

function sequence(
  user: string,
  deletes: readonly GroupDeletion[],
  updates: readonly UpdateChunk[],
  creates: readonly NewGroup[],
): { drafts: DraftOperation[]; sources: (UpdateChunk | undefined)[] } {
  const drafts: DraftOperation[] = [];
  const sources: (UpdateChunk | undefined)[] = [];
  const push = (d: DraftOperation, source?: UpdateChunk): void => {
    drafts.push(d);
    sources.push(source);
  };
  for (const d of [...deletes].sort((a, b) => compareCodeUnits(a.group, b.group))) {
    for (let i = 0; i < d.count; i++) {
      push(
        d.held === undefined
          ? { kind: 'delete', user, group: d.group }
          : { kind: 'delete', user, group: d.group, held: d.held },
      );
    }
  }
  const byGroup = (a: UpdateChunk, b: UpdateChunk): number =>
    compareCodeUnits(a.group, b.group) || a.index - b.index;
  const net = (u: UpdateChunk): number => u.add.length - u.remove.length;
  const pureRemovals = updates.filter((u) => u.remove.length > 0 && u.add.length === 0).sort(byGroup);
  const mixed = updates
    .filter((u) => u.remove.length > 0 && u.add.length > 0)
    .sort((a, b) => net(a) - net(b) || byGroup(a, b));
  const adding = updates.filter((u) => u.remove.length === 0).sort(byGroup);
  for (const u of [...pureRemovals, ...mixed, ...adding]) {
    push({ kind: 'update', user, group: u.group, add: u.add, remove: u.remove }, u);
  }
  for (const c of [...creates].sort((a, b) => compareCodeUnits(a.group, b.group))) {
    pushNewGroup(user, c, drafts);
    while (sources.length < drafts.length) sources.push(undefined);
  }
  return { drafts, sources };
}

/**
 * Replays the drafts on the start state (name → conversation keys) and returns the index of the first
 * update that mixes removals and adds and leaves more than `limit` distinct conversations, or -1.
 */
function firstOverflow(
  drafts: readonly DraftOperation[],
  start: ReadonlyMap<string, ReadonlySet<string>>,
  limit: number,
  pinned: ReadonlySet<string>,
): number {
  const groups = new Map<string, Set<string>>();
  const refs = new Map<string, number>();
  // A pinned conversation holds one reference no group ever drops.
  for (const k of pinned) refs.set(k, 1);
  const take = (key: string): void => {
    refs.set(key, (refs.get(key) ?? 0) + 1);
  };
  const drop = (key: string): void => {
    const n = (refs.get(key) ?? 0) - 1;
    if (n > 0) refs.set(key, n);
    else refs.delete(key);
  };
  for (const [name, keys] of start) {
    groups.set(name, new Set(keys));
    for (const k of keys) take(k);
  }
  for (let i = 0; i < drafts.length; i++) {
    const d = drafts[i] as DraftOperation;
    let members = groups.get(d.group);
    if (d.kind === 'delete') {
      for (const k of members ?? []) drop(k);
      groups.delete(d.group);
      continue;
    }
    if (members === undefined) {
      members = new Set();
      groups.set(d.group, members);
    }
    if (d.kind === 'update') {
      for (const c of d.remove) {
        const k = conversationKey(c);
        if (members.delete(k)) drop(k);
      }
    }
    for (const c of d.add) {
      const k = conversationKey(c);
      if (!members.has(k)) {
        members.add(k);
        take(k);
      }
    }
    if (d.kind === 'update' && d.add.length > 0 && d.remove.length > 0 && refs.size > limit) return i;
  }
  return -1;
}
