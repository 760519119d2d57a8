import { describe, expect, it } from 'vitest';
import type { RemoteUser } from '../../src/model.js';
import { planUser } from '../../src/planner/plan-user.js';
import type { PlanOptions } from '../../src/planner/types.js';
import { desiredUser, peers, remoteUser } from './fixtures.js';

// The per-user limits as the plan reports them: what is counted in each mode, and the message a
// person reads (src/planner/limits.ts).

const merge: PlanOptions = { mode: 'merge', assumeEmpty: false };
const mirror: PlanOptions = { mode: 'mirror', assumeEmpty: false };
const names = (n: number, prefix = 'g'): Record<string, never[]> =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, []]));

describe('the per-user limits', () => {
  it('20 groups and 1000 conversations fit; one more does not', () => {
    expect(planUser(desiredUser('alice', names(20)), remoteUser('alice', []), merge).violations).toEqual([]);
    expect(
      planUser(desiredUser('alice', { a: peers('p', 1000) }), remoteUser('alice', []), merge).violations,
    ).toEqual([]);
    const over = planUser(desiredUser('alice', { ...names(20), a: peers('p', 1001) }), undefined, merge);
    expect(over.violations.map((v) => v.message)).toEqual([
      'user alice has 21 groups, the limit is 20',
      'user alice has 1001 conversations, the limit is 1000',
    ]);
  });

  it('merge counts a group or a conversation the app already holds, and the CSV names again, once', () => {
    // The app holds the 20 groups and 1000 conversations the CSV wants: nothing to add, within both limits.
    const held = remoteUser('alice', [
      ['g0', peers('p', 1000)],
      ...Array.from({ length: 19 }, (_, i) => [`g${i + 1}`, []] as const),
    ]);
    const same = planUser(desiredUser('alice', { ...names(20), g0: peers('p', 1000) }), held, merge);
    expect(same.violations).toEqual([]);
    expect(same.operations).toEqual([]);
    // One new name, or one new conversation, is one too many.
    const more = planUser(desiredUser('alice', { ...names(20), g20: [], g0: peers('p', 1001) }), held, merge);
    expect(more.violations.map((v) => [v.limit, v.count])).toEqual([
      ['groups', 21],
      ['conversations', 1001],
    ]);
  });

  it('mirror counts a kept name the service holds twice as two groups, and says nothing of merging', () => {
    const remote = remoteUser('alice', [
      ['dup', []],
      ['dup', []],
      ['old', peers('o', 5)],
    ]);
    const plan = planUser(desiredUser('alice', { ...names(19), dup: [] }), remote, mirror);
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
    // 19 names and one of them held twice: 20, within the limit (the old group is deleted).
    expect(planUser(desiredUser('alice', { ...names(18), dup: [] }), remote, mirror).violations).toEqual([]);
  });

  it('mirror counts the desired conversations only: no "after merging" in its message', () => {
    const remote = remoteUser('alice', [['old', peers('o', 500)]]);
    const plan = planUser(desiredUser('alice', { a: peers('p', 1001) }), remote, mirror);
    expect(plan.violations.map((v) => v.message)).toEqual([
      'user alice has 1001 conversations, the limit is 1000',
    ]);
  });

  it('merge names what the app holds only when its groups hold conversations', () => {
    const remote = remoteUser('alice', [['empty', []]]);
    const plan = planUser(desiredUser('alice', { a: peers('p', 1001) }), remote, merge);
    expect(plan.violations.map((v) => v.message)).toEqual([
      'user alice has 1001 conversations, the limit is 1000',
    ]);
  });

  it('merge counts a conversation held in a group and carrying a mark once', () => {
    // The app: group a with m0..m9 (also marked) and p0..p889; x0..x4 carry only a mark.
    const remote: RemoteUser = {
      ...remoteUser('alice', [['a', [...peers('m', 10), ...peers('p', 890)]]]),
      marked: [...peers('m', 10), ...peers('x', 5)],
    };
    const plan = planUser(desiredUser('alice', { b: peers('q', 96) }), remote, merge);
    // 96 wanted + 900 held + 5 marks only = 1001.
    expect(plan.violations.map((v) => v.message)).toEqual([
      'user alice has 1001 conversations after merging with the 900 already in the app, counting 5 more that carry only a mark in the app (marks and groups share the limit), the limit is 1000',
    ]);
    expect(planUser(desiredUser('alice', { b: peers('q', 95) }), remote, merge).violations).toEqual([]);
  });

  it('marks count for a user the app holds no group for, in both modes', () => {
    const remote: RemoteUser = { ...remoteUser('alice', []), marked: peers('x', 3) };
    for (const options of [merge, mirror]) {
      const plan = planUser(desiredUser('alice', { b: peers('q', 998) }), remote, options);
      expect(plan.violations.map((v) => v.message)).toEqual([
        'user alice has 1001 conversations counting 3 more that carry only a mark in the app (marks and groups share the limit), the limit is 1000',
      ]);
    }
  });
});
