import { type Conversation, type DesiredUser, type GroupState, LIMITS, type RemoteUser } from '../model.js';
import { chunk } from './chunk.js';
import { checkLimits } from './limits.js';
import {
  diffGroups,
  digestDesired,
  distinctCount,
  type FoldedRemote,
  foldDesired,
  foldRemote,
  type LogicalGroup,
  unionNames,
} from './normalize.js';
import { assignOperationIds, countedOperation, type DraftOperation } from './operation-id.js';
import {
  type GroupDeletion,
  type NewGroup,
  orderOperations,
  pushNewGroup,
  type UpdateChunk,
} from './order.js';
import { digestRemote } from './remote-digest.js';
import type {
  CountedOperation,
  CountedPlan,
  LimitViolation,
  NameRisk,
  PlanOptions,
  UserPlan,
  UserPlanStats,
} from './types.js';

/**
 * Plans one user: the fewest calls that take the service from `remote` to `desired`.
 * Pure and deterministic: the same inputs (in any order of groups and conversations) give the same
 * plan with the same operation ids. `remote` undefined means the app is taken as empty.
 *
 * - merge: every desired membership exists afterwards; nothing is removed.
 * - mirror: the user ends with exactly the desired groups and memberships, unless the user has
 *   rejected rows: then it is planned as merge and the plan says `downgradedToMerge: true`.
 * - New group: one create with its first ≤ 100 conversations, then updates of ≤ 100 adds.
 *   Existing group: ceil(changes / 100) updates, removals before adds. Name gone (mirror): one
 *   delete per service group holding it. Operation order: see {@link orderOperations}.
 * - Remote groups sharing a name are one group for the diff (union of members), reported in
 *   `duplicateGroups`; a name the service already holds is never created again.
 * - A user over a limit gets no operations, only `violations`.
 */
export function planUser(
  desired: DesiredUser,
  remote: RemoteUser | undefined,
  options: PlanOptions,
): UserPlan {
  const drafted = draftUser(desired, remote, options);
  const plan: UserPlan = {
    user: drafted.user,
    operations: assignOperationIds(drafted.drafts),
    violations: drafted.violations,
    desiredDigest: digestDesired(drafted.user, drafted.want, desired.hasRejectedRows),
    stats: drafted.stats,
    // What the app held, so that a saved plan can tell when the app changed since (a stale plan).
    ...(remote === undefined ? {} : { remoteDigest: digestRemote(remote) }),
    ...drafted.extras,
  };
  return withNameRisks(plan, desired.groups);
}

/**
 * The digest of a user's desired state, as {@link planUser} gives it in `desiredDigest` (whatever
 * the remote state and the mode), without planning: the `--state` snapshot's test of "unchanged"
 * costs one fold and one sha256 per user.
 */
export function desiredDigestOf(desired: DesiredUser): string {
  return digestDesired(desired.user, foldDesired(desired.groups), desired.hasRejectedRows);
}

/**
 * {@link planUser} only counted (for a summary or a report): the same operations, without ids or
 * digests. Users in the reader's order against an empty app take a shorter path
 * ({@link countNewUser}).
 */
export function countUser(
  desired: DesiredUser,
  remote: RemoteUser | undefined,
  options: PlanOptions,
): CountedPlan {
  const counted = remote === undefined ? countNewUser(desired, options) : undefined;
  if (counted !== undefined) return withNameRisks(counted, desired.groups);
  const drafted = draftUser(desired, remote, options);
  return withNameRisks(
    {
      user: drafted.user,
      operations: drafted.drafts.map(countedOperation),
      violations: drafted.violations,
      stats: drafted.stats,
      ...drafted.extras,
    },
    desired.groups,
  );
}

function withNameRisks<P extends CountedPlan>(plan: P, groups: readonly GroupState[]): P {
  const risks = nameRisks(plan.user, groups, plan.operations);
  return risks === undefined ? plan : { ...plan, nameRisks: risks };
}

/**
 * The desired groups whose name passes the update page's 32-byte reading of `OldGroupName`, each
 * flagged as updated by `operations` (now) or not (at risk in a later sync). Undefined when none:
 * the common case costs one length check per group.
 */
function nameRisks(
  user: string,
  groups: readonly GroupState[],
  operations: readonly CountedOperation[],
): NameRisk[] | undefined {
  let risks: NameRisk[] | undefined;
  const max = LIMITS.groupNameBytesRename;
  for (const g of groups) {
    // A UTF-16 code unit is at most 3 UTF-8 bytes: short names need no byte count.
    if (g.name.length * 3 <= max) continue;
    const bytes = Buffer.byteLength(g.name, 'utf8');
    if (bytes <= max || risks?.some((r) => r.group === g.name) === true) continue;
    const updateNow = operations.some((op) => op.kind === 'update' && op.group === g.name);
    risks ??= [];
    risks.push({ user, group: g.name, bytes, updateNow });
  }
  return risks?.sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
}

/** A user's operations before ids, with what the plan says besides. */
interface Drafted {
  readonly user: string;
  readonly drafts: readonly DraftOperation[];
  readonly violations: readonly LimitViolation[];
  readonly stats: UserPlanStats;
  readonly extras: Pick<CountedPlan, 'downgradedToMerge' | 'duplicateGroups'>;
  /** The desired groups, folded (for the digest). */
  readonly want: ReadonlyMap<string, LogicalGroup>;
}

/** The conversations of a new group in calls: the create carries the first 100, an update each further 100. */
function newGroup(name: string, conversations: readonly Conversation[], keys?: readonly string[]): NewGroup {
  if (conversations.length <= LIMITS.itemsPerCall) {
    return keys === undefined
      ? { group: name, chunks: [conversations] }
      : { group: name, chunks: [conversations], keyChunks: [keys] };
  }
  return {
    group: name,
    chunks: chunk(conversations, LIMITS.itemsPerCall),
    ...(keys === undefined ? {} : { keyChunks: chunk(keys, LIMITS.itemsPerCall) }),
  };
}

function draftUser(desired: DesiredUser, remote: RemoteUser | undefined, options: PlanOptions): Drafted {
  const user = desired.user;
  const downgraded = options.mode === 'mirror' && desired.hasRejectedRows;
  const mirror = options.mode === 'mirror' && !desired.hasRejectedRows;
  const want = foldDesired(desired.groups);
  const have = foldRemote(remote);
  const extras = {
    ...(downgraded ? { downgradedToMerge: true } : {}),
    ...(have.duplicates.length > 0 ? { duplicateGroups: have.duplicates } : {}),
  };
  const desiredConversations = distinctCount(want);
  const base = baseStats(want, have, desiredConversations);

  const violations = checkLimits(user, want, have, mirror, desiredConversations);
  if (violations.length > 0) {
    const stats: UserPlanStats = { ...base, membershipsUnchanged: base.membershipsExamined };
    return { user, drafts: [], violations, stats, extras, want };
  }

  const deletes: GroupDeletion[] = [];
  const updates: UpdateChunk[] = [];
  const creates: NewGroup[] = [];
  let added = 0;
  let removed = 0;
  let unchanged = 0;
  for (const name of unionNames(want, have.groups)) {
    const w = want.get(name);
    const h = have.groups.get(name);
    if (h === undefined) {
      const { conversations, keys } = w as LogicalGroup;
      added += conversations.length;
      creates.push(newGroup(name, conversations, keys));
      continue;
    }
    if (w === undefined) {
      if (mirror) {
        deletes.push({ group: name, count: h.groupIds.length, held: h.conversations });
        removed += h.keys.length;
      } else {
        unchanged += h.keys.length;
      }
      continue;
    }
    const diff = diffGroups(w, h);
    const add = diff.add;
    const remove = mirror ? diff.remove : [];
    unchanged += diff.common + (mirror ? 0 : diff.remove.length);
    added += add.length;
    removed += remove.length;
    chunk([...remove, ...add], LIMITS.itemsPerCall).forEach((items, index) => {
      updates.push({
        group: name,
        index,
        remove: items.slice(0, Math.max(0, remove.length - index * LIMITS.itemsPerCall)),
        add: items.slice(Math.max(0, remove.length - index * LIMITS.itemsPerCall)),
      });
    });
  }

  const drafts = orderOperations(
    user,
    { deletes, updates, creates },
    () => startState(have),
    LIMITS.conversationsPerUser,
    have.marked,
  );
  const stats: UserPlanStats = {
    ...base,
    groupsCreated: creates.length,
    groupsDeleted: deletes.reduce((n, d) => n + d.count, 0),
    membershipsAdded: added,
    membershipsRemoved: removed,
    membershipsUnchanged: unchanged,
  };
  return { user, drafts, violations: [], stats, extras, want };
}

/**
 * {@link countUser} against an empty app, for groups in the reader's order (names strictly
 * ascending, each group's conversations strictly ascending by type, then id) within the limits: the
 * plan of the general path (every group created, by {@link newGroup} and {@link pushNewGroup}, as
 * the general path does), without the conversation key strings that path builds for digests and
 * diffs. Undefined otherwise (the general path then plans the user, violations included).
 */
function countNewUser(desired: DesiredUser, options: PlanOptions): CountedPlan | undefined {
  const groups = desired.groups;
  let memberships = 0;
  for (let g = 0; g < groups.length; g++) {
    const group = groups[g]!;
    if (g > 0 && !(groups[g - 1]!.name < group.name)) return undefined;
    const cs = group.conversations;
    for (let i = 1; i < cs.length; i++) {
      const a = cs[i - 1]!;
      const b = cs[i]!;
      if (!(a.type < b.type || (a.type === b.type && a.id < b.id))) return undefined;
    }
    memberships += cs.length;
  }
  const conversations = groups.length === 1 ? memberships : distinctConversations(groups);
  if (groups.length > LIMITS.groupsPerUser || conversations > LIMITS.conversationsPerUser) return undefined;
  const user = desired.user;
  // Names ascending: the order in which the general path sequences its creates.
  const operations: DraftOperation[] = [];
  for (const { name, conversations: cs } of groups) pushNewGroup(user, newGroup(name, cs), operations);
  const stats: UserPlanStats = {
    groupsCreated: groups.length,
    groupsDeleted: 0,
    membershipsAdded: memberships,
    membershipsRemoved: 0,
    membershipsUnchanged: 0,
    membershipsExamined: 0,
    desiredGroups: groups.length,
    desiredConversations: conversations,
    desiredMemberships: memberships,
  };
  const downgraded = options.mode === 'mirror' && desired.hasRejectedRows;
  return {
    user,
    operations,
    violations: [],
    stats,
    ...(downgraded ? { downgradedToMerge: true } : {}),
  };
}

/** Distinct (type, id) pairs across groups, without building `type:id` keys. */
function distinctConversations(groups: readonly GroupState[]): number {
  const c2c = new Set<string>();
  const group = new Set<string>();
  for (const g of groups) for (const c of g.conversations) (c.type === 1 ? c2c : group).add(c.id);
  return c2c.size + group.size;
}

function baseStats(
  want: ReadonlyMap<string, LogicalGroup>,
  have: FoldedRemote,
  desiredConversations: number,
): UserPlanStats {
  let desiredMemberships = 0;
  for (const g of want.values()) desiredMemberships += g.keys.length;
  let examined = 0;
  for (const g of have.groups.values()) examined += g.keys.length;
  return {
    groupsCreated: 0,
    groupsDeleted: 0,
    membershipsAdded: 0,
    membershipsRemoved: 0,
    membershipsUnchanged: 0,
    membershipsExamined: examined,
    desiredGroups: want.size,
    desiredConversations,
    desiredMemberships,
  };
}

function startState(have: FoldedRemote): Map<string, ReadonlySet<string>> {
  const out = new Map<string, ReadonlySet<string>>();
  for (const [name, g] of have.groups) out.set(name, new Set(g.keys));
  return out;
}
