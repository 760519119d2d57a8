import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { DesiredUser, GroupState } from '../../src/model.js';
import { assignOperationIds } from '../../src/planner/operation-id.js';
import { countUser, planUser } from '../../src/planner/plan-user.js';
import { digestRemote } from '../../src/planner/remote-digest.js';
import type { Operation, PlanOptions, UserPlan } from '../../src/planner/types.js';
import { c2c, desiredUser, grp, peers, remoteUser } from './fixtures.js';

// Edges of planning one user that the reader never hands over (groups out of order, a name twice)
// but a library caller may, and the documented ordering, ids and digests.

const merge: PlanOptions = { mode: 'merge', assumeEmpty: false };
const mirror: PlanOptions = { mode: 'mirror', assumeEmpty: false };
const empty: PlanOptions = { mode: 'merge', assumeEmpty: true };

const shape = (ops: readonly Operation[]): string[] =>
  ops.map((op) =>
    op.kind === 'delete'
      ? `delete ${op.group}`
      : op.kind === 'create'
        ? `create ${op.group} +${op.add.length}`
        : `update ${op.group} -${op.remove.length} +${op.add.length}`,
  );

const user = (groups: GroupState[], hasRejectedRows = false): DesiredUser => ({
  user: 'alice',
  groups,
  lines: [],
  hasRejectedRows,
});

function withoutIds(plan: UserPlan): unknown {
  const { desiredDigest: _d, remoteDigest: _r, ...rest } = plan;
  return { ...rest, operations: plan.operations.map(({ id: _id, ...op }) => op) };
}

describe('groups in any order, names repeated', () => {
  const sorted = user([
    { name: 'a', conversations: [c2c('x'), c2c('y'), grp('x')] },
    // In the reader's order (ids ascending by code unit), so that only the edge below differs.
    { name: 'b', conversations: peers('p', 150).sort((x, y) => (x.id < y.id ? -1 : 1)) },
  ]);
  const variants: [string, DesiredUser][] = [
    ['names out of order', user([sorted.groups[1] as GroupState, sorted.groups[0] as GroupState])],
    [
      'conversations out of order',
      user([{ name: 'a', conversations: [grp('x'), c2c('y'), c2c('x')] }, sorted.groups[1] as GroupState]),
    ],
    [
      'types out of order',
      user([{ name: 'a', conversations: [c2c('x'), grp('x'), c2c('y')] }, sorted.groups[1] as GroupState]),
    ],
    [
      'a conversation twice',
      user([
        { name: 'a', conversations: [c2c('x'), c2c('x'), c2c('y'), grp('x')] },
        sorted.groups[1] as GroupState,
      ]),
    ],
    [
      'a name twice',
      user([
        { name: 'a', conversations: [c2c('x'), grp('x')] },
        { name: 'a', conversations: [c2c('y')] },
        sorted.groups[1] as GroupState,
      ]),
    ],
    [
      'a name twice, in order',
      user([
        { name: 'a', conversations: [c2c('x'), c2c('y'), grp('x')] },
        { name: 'a', conversations: [] },
        sorted.groups[1] as GroupState,
      ]),
    ],
  ];

  it.each(variants)(
    '%s: the plan of the sorted groups, counted or planned, against an empty app or not',
    (_, desired) => {
      for (const options of [empty, mirror]) {
        const expected = planUser(sorted, undefined, options);
        expect(expected.operations.length).toBe(3);
        const plan = planUser(desired, undefined, options);
        expect(plan).toEqual(expected);
        expect(countUser(desired, undefined, options)).toStrictEqual(withoutIds(expected));
        const remote = remoteUser('alice', [['b', peers('p', 3)]]);
        expect(planUser(desired, remote, options)).toEqual(planUser(sorted, remote, options));
      }
    },
  );

  it('counted against an empty app, a user over a limit gets violations and no operations', () => {
    const groups = Array.from({ length: 21 }, (_, i) => ({
      name: `g${String(i).padStart(2, '0')}`,
      conversations: [],
    }));
    expect(countUser(user(groups), undefined, empty).violations.map((v) => v.count)).toEqual([21]);
    const big = user([{ name: 'g', conversations: peers('p', 1001).sort((a, b) => (a.id < b.id ? -1 : 1)) }]);
    const counted = countUser(big, undefined, empty);
    expect(counted.operations).toEqual([]);
    expect(counted.violations.map((v) => v.count)).toEqual([1001]);
    const split = user([
      { name: 'a', conversations: peers('p', 600).sort((a, b) => (a.id < b.id ? -1 : 1)) },
      { name: 'b', conversations: peers('q', 401).sort((a, b) => (a.id < b.id ? -1 : 1)) },
    ]);
    expect(countUser(split, undefined, empty).violations.map((v) => v.count)).toEqual([1001]);
    // 1000 distinct across groups (one-to-one and group conversations with the same ids) fits.
    const both = user([
      { name: 'a', conversations: peers('p', 500).sort((a, b) => (a.id < b.id ? -1 : 1)) },
      {
        name: 'b',
        conversations: peers('p', 500)
          .map((c) => grp(c.id))
          .sort((a, b) => (a.id < b.id ? -1 : 1)),
      },
    ]);
    expect(countUser(both, undefined, empty).violations).toEqual([]);
    expect(countUser(both, undefined, empty).stats.desiredConversations).toBe(1000);
  });

  it('flags a long name once, and lists long names by name', () => {
    const long = (c: string) => c.repeat(33);
    const plan = planUser(
      user([
        { name: long('z'), conversations: [] },
        { name: long('a'), conversations: [c2c('x')] },
        { name: long('a'), conversations: [c2c('y')] },
      ]),
      undefined,
      empty,
    );
    expect(plan.nameRisks?.map((r) => [r.group, r.bytes])).toEqual([
      [long('a'), 33],
      [long('z'), 33],
    ]);
    expect(planUser(user([{ name: 'short', conversations: [] }]), undefined, empty)).not.toHaveProperty(
      'nameRisks',
    );
  });
});

describe('the order of calls', () => {
  it('adds to an existing group in chunk order', () => {
    const plan = planUser(
      desiredUser('alice', { g: [c2c('a0'), ...peers('b', 250)] }),
      remoteUser('alice', [['g', [c2c('a0')]]]),
      merge,
    );
    expect(shape(plan.operations)).toEqual(['update g -0 +100', 'update g -0 +100', 'update g -0 +50']);
    const adds = plan.operations.flatMap((op) => (op.kind === 'update' ? op.add.map((c) => c.id) : []));
    expect(adds).toEqual([...adds].sort());
  });

  it("keeps a group's chunks together and in chunk order, groups by name, removals before adds", () => {
    // a and c take two calls each (100 items a call): their second chunk must not go before b or d.
    const remote = remoteUser('alice', [
      ['a', peers('a', 150)],
      ['b', [c2c('x')]],
      ['c', []],
      ['d', []],
    ]);
    const desired = desiredUser('alice', { a: [], b: [], c: peers('c', 150), d: [c2c('y')] });
    expect(shape(planUser(desired, remote, mirror).operations)).toEqual([
      'update a -100 +0',
      'update a -50 +0',
      'update b -1 +0',
      'update c -0 +100',
      'update c -0 +50',
      'update d -0 +1',
    ]);
  });

  it('puts mixed updates by net change, smallest first, whatever their names', () => {
    const remote = remoteUser('alice', [
      ['a', peers('a', 5)],
      ['b', peers('b', 40)],
    ]);
    // a: -5 +30 (net 25); b: -40 +50 (net 10).
    const desired = desiredUser('alice', { a: peers('na', 30), b: peers('nb', 50) });
    expect(shape(planUser(desired, remote, mirror).operations)).toEqual([
      'update b -40 +50',
      'update a -5 +30',
    ]);
  });

  it('does not split a mixed update that ends at exactly 1000 conversations (the fewest calls)', () => {
    // s0 is in a and b; c holds 998 more: 999. a swaps s0 for f1 (s0 stays in b): 1000, not past it.
    const remote = remoteUser('alice', [
      ['a', [c2c('s0')]],
      ['b', [c2c('s0')]],
      ['c', peers('t', 998)],
    ]);
    const desired = desiredUser('alice', { a: [c2c('f1')], b: [c2c('s0')], c: peers('t', 998) });
    expect(shape(planUser(desired, remote, mirror).operations)).toEqual(['update a -1 +1']);
  });
});

describe('operation ids: sha256 of the canonical JSON of user, kind, group and items (first 16 hex)', () => {
  const id = (json: string) => createHash('sha256').update(json).digest('hex').slice(0, 16);

  it('for a delete and an update with removals, as documented', () => {
    const plan = planUser(
      desiredUser('alice', { keep: [c2c('b')] }),
      remoteUser('alice', [
        ['keep', [c2c('a')]],
        ['gone', []],
      ]),
      mirror,
    );
    expect(plan.operations.map((op) => op.id)).toEqual([
      id('{"add":[],"group":"gone","kind":"delete","remove":[],"user":"alice"}'),
      id('{"add":["1:b"],"group":"keep","kind":"update","remove":["1:a"],"user":"alice"}'),
    ]);
  });

  it('each operation of a list spanning users gets the id of its own user', () => {
    const drafts = [
      { kind: 'create', user: 'alice', group: 'g', add: [c2c('x')] },
      { kind: 'create', user: 'bob', group: 'g', add: [c2c('x')] },
      { kind: 'create', user: 'alice', group: 'g', add: [c2c('x')] },
    ] as const;
    const ids = assignOperationIds(drafts).map((op) => op.id);
    const alice = id('{"add":["1:x"],"group":"g","kind":"create","remove":[],"user":"alice"}');
    expect(ids).toEqual([
      alice,
      id('{"add":["1:x"],"group":"g","kind":"create","remove":[],"user":"bob"}'),
      `${alice}-2`,
    ]);
  });
});

describe('the digest of what the app held', () => {
  const groups = [
    { groupId: 1, name: 'a', conversations: [c2c('x'), grp('y')] },
    { groupId: 2, name: 'a', conversations: [] },
    { groupId: 3, name: 'b', conversations: [c2c('z')] },
  ];

  it('is the same whatever order the service lists groups and members in, and without group ids', () => {
    const d = digestRemote({ user: 'u', groups });
    const reordered = [groups[2], { ...groups[0], conversations: [grp('y'), c2c('x')] }, groups[1]].map(
      (g, i) => ({
        ...(g as (typeof groups)[number]),
        groupId: 10 - i,
      }),
    );
    expect(digestRemote({ user: 'u', groups: reordered })).toBe(d);
    // As documented: the canonical JSON of the groups sorted by name, then by their conversations.
    expect(d).toBe(
      createHash('sha256')
        .update(
          '{"groups":[{"conversations":[],"name":"a"},{"conversations":["1:x","2:y"],"name":"a"},{"conversations":["1:z"],"name":"b"}]}',
        )
        .digest('hex'),
    );
  });

  it('changes with a name, a member, or a group held twice', () => {
    const d = digestRemote({ user: 'u', groups });
    const variants = [
      groups.map((g) => (g.groupId === 3 ? { ...g, name: 'c' } : g)),
      groups.map((g) => (g.groupId === 3 ? { ...g, conversations: [grp('z')] } : g)),
      groups.slice(1),
      [...groups, { groupId: 4, name: 'b', conversations: [c2c('z')] }],
    ];
    const digests = variants.map((v) => digestRemote({ user: 'u', groups: v }));
    expect(new Set([d, ...digests]).size).toBe(5);
  });
});
