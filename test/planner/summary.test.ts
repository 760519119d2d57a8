import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BoundedSortedList } from '../../src/planner/bounded-list.js';
import { planUser } from '../../src/planner/plan-user.js';
import { SummaryBuilder } from '../../src/planner/summary.js';
import type { UserPlan } from '../../src/planner/types.js';
import { c2c, desiredUser, peers, remoteUser } from './fixtures.js';

describe('BoundedSortedList', () => {
  it('keeps the N smallest items whatever the order they come in', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 })), fc.integer({ min: 0, max: 6 }), (xs, limit) => {
        const list = new BoundedSortedList<number>(limit, (a, b) => a - b);
        for (const x of xs) list.add(x);
        expect(list.toArray()).toEqual([...xs].sort((a, b) => a - b).slice(0, limit));
      }),
    );
  });
});

describe('SummaryBuilder', () => {
  // Planned in each test that uses them, not once in the describe (which runs outside any test, so
  // Stryker would count every planner line it reaches as covered by no test in particular).
  const samplePlans = (): UserPlan[] => [
    planUser(desiredUser('carol', { a: peers('p', 120), b: [] }), undefined, {
      mode: 'mirror',
      assumeEmpty: false,
    }),
    planUser(
      desiredUser('alice', Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`g${i}`, []]))),
      undefined,
      {
        mode: 'mirror',
        assumeEmpty: false,
      },
    ),
    planUser(
      desiredUser('bob', { a: [c2c('x')] }),
      remoteUser('bob', [
        ['a', [c2c('x'), c2c('y')]],
        ['gone', [c2c('z')]],
      ]),
      { mode: 'mirror', assumeEmpty: false },
    ),
    planUser(
      desiredUser('dave', { a: [c2c('x')] }, { hasRejectedRows: true }),
      remoteUser('dave', [
        ['a', [c2c('y')]],
        ['a', []],
      ]),
      {
        mode: 'mirror',
        assumeEmpty: false,
      },
    ),
  ];

  it('adds up users, groups, memberships, calls, and lists violations and removals by user', () => {
    const b = new SummaryBuilder({ mode: 'mirror', assumeEmpty: false, rate: 100, listLimit: 5 });
    for (const p of samplePlans()) b.addUser(p);
    const s = b.result();
    expect(s).toMatchObject({
      users: 4,
      usersWithChanges: 3,
      usersOverLimits: 1,
      usersDowngraded: 1,
      usersWithDuplicateGroups: 1,
      groups: { desired: 2 + 21 + 1 + 1, created: 2, deleted: 1 },
      memberships: { desired: 120 + 1 + 1, added: 121, removed: 2, unchanged: 1 + 1, examined: 3 + 1 },
      calls: { create_contact_group: 2, update_contact_group: 3, del_contact_group: 1, get_contact_group: 4 },
      // Mirror reads every user first (4 reads at 100/s), then writes (the busiest endpoint: 3 updates).
      estimatedSeconds: 0.04 + 0.03,
      estimatedReadSeconds: 0.04,
      violations: {
        count: 1,
        first: [expect.objectContaining({ user: 'alice', limit: 'groups', count: 21 })],
      },
      removals: { users: 1, first: [{ user: 'bob', membershipsRemoved: 2, groupsDeleted: 1 }] },
    });
    expect(s.groupsPerUser.find((x) => x.label === '21+')?.count).toBe(1);
    expect(s.groupsPerUser.find((x) => x.label === '2')?.count).toBe(1);
    expect(s.conversationsPerUser.find((x) => x.label === '101–250')?.count).toBe(1);
    expect(s.groupsPerUser.reduce((n, x) => n + x.count, 0)).toBe(4);
  });

  it('keeps the first rejections by line, with the total, whatever order they arrive in', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 2, max: 10_000 }), { minLength: 1, maxLength: 40 }),
        (lines) => {
          const b = new SummaryBuilder({ mode: 'merge', assumeEmpty: true, listLimit: 3 });
          for (const line of lines) b.addRejection({ line, rule: 'r', message: `line ${line}: bad` });
          const s = b.result();
          expect(s.rejectedRows.count).toBe(lines.length);
          expect(s.rejectedRows.first.map((r) => r.line)).toEqual(
            [...lines].sort((x, y) => x - y).slice(0, 3),
          );
        },
      ),
    );
  });

  it('keeps only the reported fields of a rejection, clipped', () => {
    const b = new SummaryBuilder({ mode: 'merge', assumeEmpty: true });
    const rejection = {
      line: 3,
      rule: 'GROUP_TOO_LONG',
      message: 'line 3: too long',
      value: 'x'.repeat(5000),
      record: ['a'],
      header: ['h'],
    };
    b.addRejection(rejection);
    const [kept] = b.result().rejectedRows.first;
    expect(Object.keys(kept ?? {})).toEqual(['line', 'rule', 'message', 'value']);
    expect(kept?.value).toHaveLength(300);
    expect(kept?.value?.endsWith('…')).toBe(true);
  });

  it('is the same whatever order users arrive in', () => {
    const plans = samplePlans();
    fc.assert(
      fc.property(
        fc.shuffledSubarray(plans, { minLength: plans.length, maxLength: plans.length }),
        (order) => {
          const a = new SummaryBuilder({ mode: 'mirror', assumeEmpty: false, listLimit: 1 });
          const b = new SummaryBuilder({ mode: 'mirror', assumeEmpty: false, listLimit: 1 });
          for (const p of plans) a.addUser(p);
          for (const p of order) b.addUser(p);
          expect(JSON.stringify(b.result())).toBe(JSON.stringify(a.result()));
        },
      ),
      { numRuns: 30 },
    );
  });

  it('validates its options eagerly', () => {
    expect(() => new SummaryBuilder({ mode: 'merge', assumeEmpty: true, rate: 0 })).toThrow(
      'Expected `rate` to be a number above 0, got `0` (number)',
    );
    expect(() => new SummaryBuilder({ mode: 'merge', assumeEmpty: true, listLimit: -1 })).toThrow(
      /listLimit/,
    );
  });
});
