import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { conversationKey, type RemoteUser } from '../../src/model.js';
import { planUser } from '../../src/planner/plan-user.js';
import type { Operation, PlanOptions } from '../../src/planner/types.js';
import { c2c, desiredUser, grp, peers, remoteUser } from './fixtures.js';
import { ServiceModel } from './service-model.js';

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

function applyAll(remote: RemoteUser | undefined, ops: readonly Operation[]): ServiceModel {
  const model = new ServiceModel(remote);
  for (const op of ops) model.apply(op);
  return model;
}

describe('planUser: operations', () => {
  it('creates a new group with its first 100 conversations, then updates of at most 100 adds', () => {
    const plan = planUser(desiredUser('alice', { friends: peers('p', 250) }), undefined, empty);
    expect(shape(plan.operations)).toEqual([
      'create friends +100',
      'update friends -0 +100',
      'update friends -0 +50',
    ]);
    const first = plan.operations[0];
    expect(first?.kind === 'create' && first.add.map(conversationKey)).toEqual(
      peers('p', 250).map(conversationKey).sort().slice(0, 100),
    );
    expect(plan.stats).toMatchObject({ groupsCreated: 1, membershipsAdded: 250, desiredGroups: 1 });
  });

  it('creates an empty desired group with one call and no items', () => {
    const plan = planUser(desiredUser('alice', { later: [] }), undefined, empty);
    expect(shape(plan.operations)).toEqual(['create later +0']);
  });

  it('plans nothing for what already matches', () => {
    const remote = remoteUser('alice', [['work', [c2c('bob'), grp('@TGS#1')]]]);
    const plan = planUser(desiredUser('alice', { work: [grp('@TGS#1'), c2c('bob')] }), remote, mirror);
    expect(plan.operations).toEqual([]);
    expect(plan.stats).toMatchObject({
      membershipsUnchanged: 2,
      membershipsExamined: 2,
      membershipsAdded: 0,
    });
  });

  it('merge adds what is missing and removes nothing', () => {
    const remote = remoteUser('alice', [
      ['work', [c2c('bob'), c2c('old')]],
      ['gone', [c2c('x')]],
    ]);
    const plan = planUser(desiredUser('alice', { work: [c2c('bob'), c2c('carol')] }), remote, merge);
    expect(shape(plan.operations)).toEqual(['update work -0 +1']);
    expect(plan.stats).toMatchObject({ membershipsRemoved: 0, groupsDeleted: 0, membershipsUnchanged: 3 });
  });

  it('mirror orders deletes, then removals, then adds, then creates', () => {
    const remote = remoteUser('alice', [
      ['a-adds', [c2c('k')]],
      ['b-removes', [c2c('k'), c2c('x'), c2c('y')]],
      ['z-gone', [c2c('z')]],
    ]);
    const desired = desiredUser('alice', {
      'a-adds': [c2c('k'), c2c('n')],
      'b-removes': [c2c('k')],
      'new-one': [c2c('m')],
    });
    const plan = planUser(desired, remote, mirror);
    expect(shape(plan.operations)).toEqual([
      'delete z-gone',
      'update b-removes -2 +0',
      'update a-adds -0 +1',
      'create new-one +1',
    ]);
    expect(plan.stats).toMatchObject({ groupsDeleted: 1, membershipsRemoved: 3, membershipsExamined: 5 });
    expect(applyAll(remote, plan.operations).state()).toEqual(
      new Map([
        ['a-adds', ['1:k', '1:n']],
        ['b-removes', ['1:k']],
        ['new-one', ['1:m']],
      ]),
    );
  });

  it('mirror puts removals before adds within a group: ceil(changes / 100) updates', () => {
    const remote = remoteUser('alice', [['g', peers('old', 150)]]);
    const plan = planUser(desiredUser('alice', { g: peers('new', 120) }), remote, mirror);
    expect(shape(plan.operations)).toEqual(['update g -100 +0', 'update g -50 +50', 'update g -0 +70']);
  });

  it('downgrades mirror to merge for a user with rejected rows, and says so', () => {
    const remote = remoteUser('alice', [
      ['keep', [c2c('a'), c2c('extra')]],
      ['gone', []],
    ]);
    const desired = desiredUser('alice', { keep: [c2c('a'), c2c('b')] }, { hasRejectedRows: true });
    const plan = planUser(desired, remote, mirror);
    expect(plan.downgradedToMerge).toBe(true);
    expect(shape(plan.operations)).toEqual(['update keep -0 +1']);
    expect(
      planUser({ ...desired, hasRejectedRows: false }, remote, mirror).downgradedToMerge,
    ).toBeUndefined();
    expect(planUser(desired, remote, merge).downgradedToMerge).toBeUndefined();
  });
});

describe('planUser: duplicate remote names', () => {
  const remote = remoteUser('alice', [
    ['dup', [c2c('a')]],
    ['dup', [c2c('b')]],
    ['other', []],
  ]);

  it('treats them as one group, reports them, and never creates the name again', () => {
    const plan = planUser(desiredUser('alice', { dup: [c2c('a'), c2c('b'), c2c('c')] }), remote, merge);
    expect(plan.duplicateGroups).toEqual([{ name: 'dup', groupIds: [1, 2] }]);
    expect(shape(plan.operations)).toEqual(['update dup -0 +1']);
    expect(plan.operations.some((op) => op.kind === 'create')).toBe(false);
  });

  it('deletes every group holding a name gone in mirror mode, with distinct ids', () => {
    const plan = planUser(desiredUser('alice', { other: [] }), remote, mirror);
    expect(shape(plan.operations)).toEqual(['delete dup', 'delete dup']);
    const [a, b] = plan.operations;
    expect(b?.id).toBe(`${a?.id}-2`);
    expect(applyAll(remote, plan.operations).state()).toEqual(new Map([['other', []]]));
  });
});

describe('planUser: limits', () => {
  const names = (n: number, prefix = 'g'): Record<string, never[]> =>
    Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, []]));

  it('refuses a user with 21 groups, with no operations', () => {
    const plan = planUser(desiredUser('alice', names(21)), undefined, empty);
    expect(plan.operations).toEqual([]);
    expect(plan.violations).toEqual([
      {
        user: 'alice',
        limit: 'groups',
        count: 21,
        max: 20,
        message: 'user alice has 21 groups, the limit is 20',
      },
    ]);
  });

  it('refuses a user with 1001 distinct conversations, counted across groups', () => {
    const plan = planUser(
      desiredUser('alice', { a: peers('p', 600), b: peers('p', 401, 600), c: peers('p', 10) }),
      undefined,
      empty,
    );
    expect(plan.violations.map((v) => v.message)).toEqual([
      'user alice has 1001 conversations, the limit is 1000',
    ]);
    expect(
      planUser(desiredUser('alice', { a: peers('p', 600), b: peers('p', 400, 600) }), undefined, empty)
        .violations,
    ).toEqual([]);
  });

  it('merge counts what the app already holds; mirror counts the desired state', () => {
    const remote = remoteUser(
      'alice',
      Object.keys(names(15, 'old')).map((n) => [n, peers(`${n}-`, 60)] as const),
    );
    const desired = desiredUser('alice', { ...names(6, 'new'), big: peers('q', 200) });
    const merged = planUser(desired, remote, merge);
    expect(merged.operations).toEqual([]);
    expect(merged.violations.map((v) => [v.limit, v.count])).toEqual([
      ['groups', 22],
      ['conversations', 1100],
    ]);
    expect(merged.violations[0]?.message).toBe(
      'user alice has 22 groups after merging with the 15 already in the app, the limit is 20',
    );
    const mirrored = planUser(desired, remote, mirror);
    expect(mirrored.violations).toEqual([]);
    const model = applyAll(remote, mirrored.operations);
    expect(model.groupCount()).toBe(7);
    expect(model.maxGroups).toBeLessThanOrEqual(20);
  });

  it('a downgraded mirror is counted as merge', () => {
    const remote = remoteUser(
      'alice',
      Object.keys(names(15, 'old')).map((n) => [n, []] as const),
    );
    const desired = desiredUser('alice', names(6, 'new'), { hasRejectedRows: true });
    expect(planUser(desired, remote, mirror).violations.map((v) => v.count)).toEqual([21]);
  });

  it('splits a mixed update when its adds would pass 1000 before another group frees conversations', () => {
    // a and b both hold s0..s98; c holds 901 more: 1000 distinct. Each of a and b swaps its 99 for one new one.
    const shared = peers('s', 99);
    const remote = remoteUser('alice', [
      ['a', shared],
      ['b', shared],
      ['c', peers('t', 901)],
    ]);
    const desired = desiredUser('alice', { a: [c2c('f1')], b: [c2c('f2')], c: peers('t', 901) });
    const plan = planUser(desired, remote, mirror);
    expect(shape(plan.operations)).toEqual(['update a -99 +0', 'update b -99 +1', 'update a -0 +1']);
    const model = applyAll(remote, plan.operations);
    expect(model.conversationCount()).toBe(903);
    expect(model.maxConversations).toBe(1000);
  });
});

describe('planUser: ids and digests', () => {
  it('derives operation ids from content: sha256 of canonical JSON, 16 hex characters', () => {
    const plan = planUser(desiredUser('alice', { g: [c2c('bob')] }), undefined, empty);
    const expected = createHash('sha256')
      .update('{"add":["1:bob"],"group":"g","kind":"create","remove":[],"user":"alice"}')
      .digest('hex')
      .slice(0, 16);
    expect(plan.operations.map((op) => op.id)).toEqual([expected]);
  });

  it('gives different users and different contents different ids', () => {
    const a = planUser(desiredUser('alice', { g: [c2c('bob')] }), undefined, empty);
    const b = planUser(desiredUser('bob', { g: [c2c('bob')] }), undefined, empty);
    const c = planUser(desiredUser('alice', { g: [c2c('carol')] }), undefined, empty);
    expect(new Set([a, b, c].map((p) => p.operations[0]?.id)).size).toBe(3);
  });

  it('digests the desired state: order-independent, sensitive to content and rejected rows', () => {
    const one = planUser(desiredUser('alice', { g: [c2c('a'), c2c('b')], h: [] }), undefined, empty);
    const two = planUser(desiredUser('alice', { h: [], g: [c2c('b'), c2c('a')] }), undefined, empty);
    const other = planUser(desiredUser('alice', { g: [c2c('a')], h: [] }), undefined, empty);
    const rejected = planUser(
      desiredUser('alice', { g: [c2c('a'), c2c('b')], h: [] }, { hasRejectedRows: true }),
      undefined,
      empty,
    );
    expect(one.desiredDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(two.desiredDigest).toBe(one.desiredDigest);
    expect(other.desiredDigest).not.toBe(one.desiredDigest);
    expect(rejected.desiredDigest).not.toBe(one.desiredDigest);
  });
});
