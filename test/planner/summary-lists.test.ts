import { describe, expect, it } from 'vitest';
import { SummaryBuilder, type SummaryOptions } from '../../src/planner/summary.js';
import type { CountedPlan, UserPlanStats } from '../../src/planner/types.js';

// The summary's edges, on plans written by hand: histogram bounds, clipped texts, the order of each
// list on ties, its options and their defaults.

const NO_CHANGE: UserPlanStats = {
  groupsCreated: 0,
  groupsDeleted: 0,
  membershipsAdded: 0,
  membershipsRemoved: 0,
  membershipsUnchanged: 0,
  membershipsExamined: 0,
};

/** A counted plan of `user` with these stats; `ops` operations (creates), no violation. */
const counted = (user: string, stats: Partial<UserPlanStats>, ops = 0, extra: Partial<CountedPlan> = {}) =>
  ({
    user,
    operations: Array.from({ length: ops }, (_, i) => ({ kind: 'create', user, group: `g${i}`, add: [] })),
    violations: [],
    stats: { ...NO_CHANGE, ...stats },
    ...extra,
  }) as CountedPlan;

const merge: SummaryOptions = { mode: 'merge', assumeEmpty: true };

describe('SummaryBuilder histograms', () => {
  it('puts each count in its bucket, bounds included', () => {
    const b = new SummaryBuilder(merge);
    for (const groups of [0, 1, 20, 21, 22]) b.addUser(counted(`g${groups}`, { desiredGroups: groups }));
    for (const n of [0, 10, 11, 50, 51, 100, 101, 250, 251, 500, 501, 750, 751, 1000, 1001]) {
      b.addUser(counted(`c${n}`, { desiredConversations: n }));
    }
    // Counted by planUser always; a plan without them counts as 0.
    b.addUser(counted('none', {}));
    const s = b.result();
    expect(s.groupsPerUser).toEqual([
      { label: '0', min: 0, max: 0, count: 1 + 15 + 1 },
      { label: '1', min: 1, max: 1, count: 1 },
      ...Array.from({ length: 18 }, (_, i) => ({ label: `${i + 2}`, min: i + 2, max: i + 2, count: 0 })),
      { label: '20', min: 20, max: 20, count: 1 },
      { label: '21+', min: 21, max: null, count: 2 },
    ]);
    expect(s.conversationsPerUser).toEqual([
      { label: '0', min: 0, max: 0, count: 1 + 5 + 1 },
      { label: '1–10', min: 1, max: 10, count: 1 },
      { label: '11–50', min: 11, max: 50, count: 2 },
      { label: '51–100', min: 51, max: 100, count: 2 },
      { label: '101–250', min: 101, max: 250, count: 2 },
      { label: '251–500', min: 251, max: 500, count: 2 },
      { label: '501–750', min: 501, max: 750, count: 2 },
      { label: '751–1000', min: 751, max: 1000, count: 2 },
      { label: '1001+', min: 1001, max: null, count: 1 },
    ]);
  });
});

describe('SummaryBuilder texts and lists', () => {
  it('keeps a rejection, an unreadable user and their texts up to 300 characters whole, clips longer ones', () => {
    const b = new SummaryBuilder(merge);
    const t300 = 'm'.repeat(300);
    const t301 = `${'r'.repeat(299)}xy`;
    b.addRejection({ line: 2, rule: t300, message: t301, value: t300 });
    b.addRejection({ line: 3, rule: t301, message: t300, value: t301 });
    b.addUnreadable({ user: 'u1', errorCode: 50001, message: t300 });
    b.addUnreadable({ user: 'u2', errorCode: 'TRANSPORT', message: t301 });
    const s = b.result();
    const clipped = `${'r'.repeat(299)}…`;
    expect(s.rejectedRows.first).toEqual([
      { line: 2, rule: t300, message: clipped, value: t300 },
      { line: 3, rule: clipped, message: t300, value: clipped },
    ]);
    expect(s.unreadable).toEqual({
      count: 2,
      first: [
        { user: 'u1', errorCode: 50001, message: t300 },
        { user: 'u2', errorCode: 'TRANSPORT', message: clipped },
      ],
    });
  });

  it('orders every list on its ties: rejections by line then rule, violations by user then limit', () => {
    const b = new SummaryBuilder({ ...merge, listLimit: 3 });
    for (const [line, rule] of [
      [9, 'a'],
      [4, 'z'],
      [4, 'b'],
      [1000, 'a'],
    ] as const) {
      b.addRejection({ line, rule, message: `line ${line}` });
    }
    const violation = (user: string, limit: 'groups' | 'conversations') => ({
      user,
      limit,
      count: 1,
      max: 0,
      message: `${user} ${limit}`,
    });
    b.addUser(
      counted('bob', {}, 0, { violations: [violation('bob', 'groups'), violation('bob', 'conversations')] }),
    );
    b.addUser(counted('Bob', {}, 0, { violations: [violation('Bob', 'groups')] }));
    b.addUser(counted('alice', {}, 0, { violations: [violation('alice', 'groups')] }));
    const s = b.result();
    expect(s.rejectedRows).toEqual({
      count: 4,
      first: [
        { line: 4, rule: 'b', message: 'line 4' },
        { line: 4, rule: 'z', message: 'line 4' },
        { line: 9, rule: 'a', message: 'line 9' },
      ],
    });
    // By code unit: 'B' before 'a' and 'b'.
    expect(s.violations.first.map((v) => v.message)).toEqual([
      'Bob groups',
      'alice groups',
      'bob conversations',
    ]);
    expect(s.violations.count).toBe(4);
    expect(s.usersOverLimits).toBe(3);
  });

  it('lists removals by memberships, then groups deleted, then user; largest changes by size, then user', () => {
    const b = new SummaryBuilder({ mode: 'mirror', assumeEmpty: false, listLimit: 4 });
    b.addUser(counted('d', { membershipsRemoved: 2, groupsDeleted: 0 }, 1));
    b.addUser(counted('c', { membershipsRemoved: 2, groupsDeleted: 1 }, 1));
    b.addUser(counted('b', { membershipsRemoved: 2, groupsDeleted: 1 }, 1));
    b.addUser(counted('a', { membershipsRemoved: 0, groupsDeleted: 3 }, 1));
    b.addUser(counted('e', { membershipsRemoved: 5, groupsDeleted: 0 }, 1));
    b.addUser(counted('f', { membershipsAdded: 4 }, 1));
    // Groups deleted alone make a removal; nothing removed, none.
    b.addUser(counted('g', { groupsCreated: 1 }, 1));
    const s = b.result();
    expect(s.removals).toEqual({
      users: 5,
      first: [
        { user: 'e', membershipsRemoved: 5, groupsDeleted: 0 },
        { user: 'b', membershipsRemoved: 2, groupsDeleted: 1 },
        { user: 'c', membershipsRemoved: 2, groupsDeleted: 1 },
        { user: 'd', membershipsRemoved: 2, groupsDeleted: 0 },
      ],
    });
    // Sizes: e 5, f 4, b 3, c 3, a 3, d 2, g 1.
    expect(s.largestChanges.map((c) => c.user)).toEqual(['e', 'f', 'a', 'b']);
    expect(s.largestChanges[1]).toEqual({
      user: 'f',
      membershipsAdded: 4,
      membershipsRemoved: 0,
      groupsCreated: 0,
      groupsDeleted: 0,
    });
    expect(s.usersWithChanges).toBe(7);
  });

  it('lists long names by user then group, unreadable users by user; counts the ones this plan updates', () => {
    const b = new SummaryBuilder({ ...merge, listLimit: 2 });
    const risk = (user: string, group: string, updateNow: boolean) => ({ user, group, bytes: 40, updateNow });
    b.addUser(counted('b', {}, 0, { nameRisks: [risk('b', 'z', false), risk('b', 'y', true)] }));
    b.addUser(counted('a', {}, 0, { nameRisks: [risk('a', 'x', false)] }));
    b.addUnreadable({ user: 'zed', errorCode: 1, message: 'm' });
    b.addUnreadable({ user: 'amy', errorCode: 2, message: 'm' });
    b.addUnreadable({ user: 'max', errorCode: 3, message: 'm' });
    const s = b.result();
    expect(s.longNames).toEqual({
      groups: 3,
      updatedNow: 1,
      first: [risk('a', 'x', false), risk('b', 'y', true)],
    });
    expect(s.unreadable?.first.map((u) => u.user)).toEqual(['amy', 'max']);
    expect(s.unreadable?.count).toBe(3);
    expect(s.users).toBe(2);
  });

  it('counts downgraded users and users with duplicate names, and only those', () => {
    const b = new SummaryBuilder(merge);
    b.addUser(
      counted('a', {}, 0, { downgradedToMerge: true, duplicateGroups: [{ name: 'd', groupIds: [1, 2] }] }),
    );
    b.addUser(counted('b', {}, 0, { duplicateGroups: [] }));
    b.addUser(counted('c', {}));
    const s = b.result();
    expect([s.usersDowngraded, s.usersWithDuplicateGroups, s.usersWithChanges, s.usersOverLimits]).toEqual([
      1, 1, 0, 0,
    ]);
  });
});

describe('SummaryBuilder options', () => {
  it('defaults: 200 calls/s, 20 listed, no latency, 60 users in flight', () => {
    const s = new SummaryBuilder(merge).result();
    expect([s.rate, s.listLimit, s.latencyMs, s.concurrency, s.observedCallsPerSecond]).toEqual([
      200, 20, 0, 60, 0,
    ]);
    const b = new SummaryBuilder(merge);
    for (let i = 0; i < 25; i++) b.addRejection({ line: i + 2, rule: 'r', message: 'm' });
    expect(b.result().rejectedRows.first).toHaveLength(20);
    // A list limit of 0 lists nothing but still counts.
    const none = new SummaryBuilder({ ...merge, listLimit: 0 });
    none.addRejection({ line: 2, rule: 'r', message: 'm' });
    expect(none.result().rejectedRows).toEqual({ count: 1, first: [] });
  });

  it('refuses bad options and readings, with what was given', () => {
    const bad: [SummaryOptions, string][] = [
      [
        { ...merge, rate: Number.POSITIVE_INFINITY },
        'Expected `rate` to be a number above 0, got `Infinity` (number)',
      ],
      [{ ...merge, rate: -1 }, 'Expected `rate` to be a number above 0, got `-1` (number)'],
      [{ ...merge, listLimit: 1.5 }, 'Expected `listLimit` to be a whole number from 0 and up, got `1.5`'],
      [{ ...merge, listLimit: -1 }, 'Expected `listLimit` to be a whole number from 0 and up, got `-1`'],
      [{ ...merge, latencyMs: -1 }, 'Expected `latencyMs` to be a number from 0 and up, got `-1`'],
      [{ ...merge, latencyMs: Number.NaN }, 'Expected `latencyMs` to be a number from 0 and up, got `NaN`'],
      [{ ...merge, concurrency: 0 }, 'Expected `concurrency` to be a whole number from 1 and up, got `0`'],
      [
        { ...merge, concurrency: 2.5 },
        'Expected `concurrency` to be a whole number from 1 and up, got `2.5`',
      ],
    ];
    for (const [options, message] of bad) expect(() => new SummaryBuilder(options), message).toThrow(message);
    // The edges are allowed: a list of 0, no latency, one user in flight.
    const edge = new SummaryBuilder({
      ...merge,
      listLimit: 0,
      latencyMs: 0,
      concurrency: 1,
      rate: 0.5,
    }).result();
    expect([edge.listLimit, edge.latencyMs, edge.concurrency, edge.rate]).toEqual([0, 0, 1, 0.5]);
    const b = new SummaryBuilder(merge);
    expect(() => b.setLatency(-1)).toThrow('Expected `latencyMs` to be a number from 0 and up, got `-1`');
    expect(() => b.setLatency(Number.POSITIVE_INFINITY)).toThrow('got `Infinity`');
    expect(() => b.setObservedRate(0)).toThrow('Expected `callsPerSecond` to be a number above 0, got `0`');
    expect(() => b.setObservedRate(Number.NaN)).toThrow('got `NaN`');
    b.setLatency(0);
    expect(b.result().latencyMs).toBe(0);
  });

  it('the estimate takes the latency and the calls per second the reads reached', () => {
    const b = new SummaryBuilder({ mode: 'mirror', assumeEmpty: false, rate: 100, concurrency: 2 });
    // Each user: one update (a membership added) and one read.
    for (let i = 0; i < 40; i++)
      b.addUser(counted(`u${i}`, { membershipsAdded: 1, membershipsExamined: 1 }, 1));
    expect(b.result()).toMatchObject({ estimatedSeconds: 0.8, estimatedReadSeconds: 0.4 });
    b.setLatency(100);
    // Reads: 40 users at once, 0.1 s each: 0.1 s, + 0.1 s for the last answer; writes: 2 in flight, 2 s + 0.1 s.
    expect(b.result()).toMatchObject({
      latencyMs: 100,
      estimatedReadSeconds: 0.5,
      estimatedSeconds: 0.5 + 2.1,
    });
    b.setObservedRate(10);
    expect(b.result()).toMatchObject({
      observedCallsPerSecond: 10,
      estimatedReadSeconds: 4.1,
      estimatedSeconds: 8.2,
    });
  });

  it('adds the users of a part planned with the same options, and refuses another', () => {
    const part = new SummaryBuilder(merge);
    part.addUser(counted('a', { desiredGroups: 2, desiredConversations: 5, membershipsAdded: 3 }, 2));
    const limit = { user: 'c', limit: 'groups' as const, count: 21, max: 20, message: 'c groups' };
    part.addUser(
      counted('c', { membershipsRemoved: 1, groupsDeleted: 2 }, 0, {
        violations: [limit],
        downgradedToMerge: true,
        duplicateGroups: [{ name: 'd', groupIds: [1, 2] }],
      }),
    );
    const whole = new SummaryBuilder(merge);
    whole.addUser(counted('b', { desiredGroups: 2, desiredConversations: 5, groupsDeleted: 1 }, 1));
    whole.addUsersOf(part.result());
    const s = whole.result();
    expect([
      s.users,
      s.usersOverLimits,
      s.usersDowngraded,
      s.usersWithDuplicateGroups,
      s.violations.count,
    ]).toEqual([3, 1, 1, 1, 1]);
    expect([s.removals.users, s.groups.deleted, s.memberships.removed]).toEqual([2, 3, 1]);
    // A user without operations is not among the largest changes.
    expect(s.usersWithChanges).toBe(2);
    expect(s.groupsPerUser.find((x) => x.label === '2')?.count).toBe(2);
    expect(s.conversationsPerUser.find((x) => x.label === '1–10')?.count).toBe(2);
    expect(s.calls.create_contact_group).toBe(3);
    expect(s.memberships.added).toBe(3);
    expect(s.largestChanges.map((c) => c.user)).toEqual(['a', 'b']);
    expect(() =>
      whole.addUsersOf(new SummaryBuilder({ mode: 'mirror', assumeEmpty: true }).result()),
    ).toThrow('SummaryBuilder.addUsersOf: the part was planned with other options');
    expect(() =>
      whole.addUsersOf(new SummaryBuilder({ mode: 'merge', assumeEmpty: false }).result()),
    ).toThrow('the part was planned with other options');
  });
});
