import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Conversation, conversationKey } from '../../src/model.js';
import { STATS_KEYS, serializeUserPlan } from '../../src/planner/plan-file-format.js';
import { EMPTY_REMOTE_DIGEST } from '../../src/planner/remote-digest.js';
import type { Operation, UserPlan } from '../../src/planner/types.js';

/**
 * A plan file's user line is written as text (plan-file-format.ts): it must be the bytes
 * `JSON.stringify` gives for the line's object form (PLAN-FORMAT.md), whatever the names hold.
 */

/** The object form of a user's line, as PLAN-FORMAT.md describes it. */
function objectForm(plan: UserPlan): object {
  const keys = (cs: readonly Conversation[]) => cs.map(conversationKey);
  const op = (o: Operation): object =>
    o.kind === 'create'
      ? { id: o.id, kind: o.kind, group: o.group, add: keys(o.add) }
      : o.kind === 'update'
        ? { id: o.id, kind: o.kind, group: o.group, add: keys(o.add), remove: keys(o.remove) }
        : o.held === undefined
          ? { id: o.id, kind: o.kind, group: o.group }
          : { id: o.id, kind: o.kind, group: o.group, held: keys(o.held) };
  const stats: Record<string, number> = {};
  for (const k of STATS_KEYS) {
    const v = plan.stats[k];
    if (v !== undefined) stats[k] = v;
  }
  return {
    user: plan.user,
    desiredDigest: plan.desiredDigest,
    remoteDigest: plan.remoteDigest ?? EMPTY_REMOTE_DIGEST,
    operations: plan.operations.map(op),
    violations: plan.violations.map((v) => ({
      limit: v.limit,
      count: v.count,
      max: v.max,
      message: v.message,
    })),
    stats,
    ...(plan.downgradedToMerge === true ? { downgradedToMerge: true } : {}),
    ...(plan.duplicateGroups !== undefined && plan.duplicateGroups.length > 0
      ? { duplicateGroups: plan.duplicateGroups.map((d) => ({ name: d.name, groupIds: [...d.groupIds] })) }
      : {}),
  };
}

/** Names with what JSON escapes, lone surrogates, and text that looks like the line's own keys. */
const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('', '"', '\\', '\n\t\r', '\u2028', '\ud800', ',"stats":{}', '会话分组', '@TGS#1AAA'),
);
const conv = fc.record({ type: fc.constantFrom(1 as const, 2 as const), id: text });
const convs = fc.array(conv, { maxLength: 5 });
const count = fc.nat({ max: 5000 });
const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({ id: text, kind: fc.constant('create' as const), user: text, group: text, add: convs }),
  fc.record({
    id: text,
    kind: fc.constant('update' as const),
    user: text,
    group: text,
    add: convs,
    remove: convs,
  }),
  fc.record(
    { id: text, kind: fc.constant('delete' as const), user: text, group: text, held: convs },
    { requiredKeys: ['id', 'kind', 'user', 'group'] },
  ),
);
const plan: fc.Arbitrary<UserPlan> = fc.record(
  {
    user: text,
    desiredDigest: text,
    remoteDigest: text,
    operations: fc.array(operation, { maxLength: 6 }),
    violations: fc.array(
      fc.record({
        user: text,
        limit: fc.constantFrom('groups' as const, 'conversations' as const),
        count,
        max: count,
        message: text,
      }),
      { maxLength: 2 },
    ),
    stats: fc.record(
      {
        groupsCreated: count,
        groupsDeleted: count,
        membershipsAdded: count,
        membershipsRemoved: count,
        membershipsUnchanged: count,
        membershipsExamined: count,
        desiredGroups: count,
        desiredConversations: count,
        desiredMemberships: count,
      },
      // The six counts every plan has; the desired ones may be absent.
      { requiredKeys: [...STATS_KEYS.slice(0, 6)] as (typeof STATS_KEYS)[number][] },
    ),
    downgradedToMerge: fc.boolean(),
    duplicateGroups: fc.array(fc.record({ name: text, groupIds: fc.array(count, { maxLength: 3 }) }), {
      maxLength: 2,
    }),
  },
  { requiredKeys: ['user', 'desiredDigest', 'operations', 'violations', 'stats'] },
) as fc.Arbitrary<UserPlan>;

describe("a plan file's user line, written as text", () => {
  it('is the bytes JSON.stringify gives for its object form', () => {
    fc.assert(
      fc.property(plan, (p) => {
        expect(serializeUserPlan(p)).toBe(JSON.stringify(objectForm(p)));
      }),
      { numRuns: 2000 },
    );
  });
});
