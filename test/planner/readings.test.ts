import { describe, expect, it } from 'vitest';
import type { RemoteUser } from '../../src/model.js';
import { countUser, planUser } from '../../src/planner/plan-user.js';
import type { Operation, PlanOptions } from '../../src/planner/types.js';
import { desiredUser, peers, remoteUser } from './fixtures.js';
import { ServiceModel } from './service-model.js';

const merge: PlanOptions = { mode: 'merge', assumeEmpty: false };
const mirror: PlanOptions = { mode: 'mirror', assumeEmpty: false };

function applyOneByOne(remote: RemoteUser, ops: readonly Operation[]): ServiceModel {
  const model = new ServiceModel(remote, { oneByOne: true });
  for (const op of ops) model.apply(op);
  return model;
}

describe('conversations that carry only a mark', () => {
  it('count toward 1000: the plan names the user over the limit, before any write', () => {
    const remote: RemoteUser = { ...remoteUser('alice', [['a', peers('p', 900)]]), marked: peers('m', 60) };
    const plan = planUser(desiredUser('alice', { b: peers('q', 50) }), remote, merge);
    expect(plan.operations).toEqual([]);
    expect(plan.violations).toEqual([
      expect.objectContaining({ limit: 'conversations', count: 1010, max: 1000 }),
    ]);
    expect(plan.violations[0]?.message).toBe(
      'user alice has 1010 conversations after merging with the 900 already in the app, counting 60 more that carry only a mark in the app (marks and groups share the limit), the limit is 1000',
    );
    // Mirror counts them as well: they are never removed.
    const mirrored = planUser(desiredUser('alice', { b: peers('q', 950) }), remote, mirror);
    expect(mirrored.violations[0]?.count).toBe(1010);
    // A marked conversation that is also wanted in a group counts once.
    const overlap = planUser(desiredUser('alice', { b: peers('m', 60) }), remote, merge);
    expect(overlap.violations).toEqual([]);
  });

  it('are never added, removed or touched, in merge or mirror', () => {
    const remote: RemoteUser = { ...remoteUser('alice', [['a', peers('p', 3)]]), marked: peers('m', 2) };
    for (const options of [merge, mirror]) {
      const plan = planUser(desiredUser('alice', { b: peers('q', 2) }), remote, options);
      const touched = plan.operations.flatMap((op) =>
        op.kind === 'delete' ? [] : [...op.add, ...(op.kind === 'update' ? op.remove : [])],
      );
      expect(touched.some((c) => c.id.startsWith('m'))).toBe(false);
    }
  });

  it('are counted when ordering: a swap that only fits once marks are known is split, so no step passes 1000', () => {
    // A and B share p0..p49; each drops them and takes 45 new ones. 850 grouped + 110 marked = 960 at
    // the start, 1000 at the end; after A's update alone, 1005 (the p are still in B).
    const p = peers('p', 50);
    const remote: RemoteUser = {
      ...remoteUser('alice', [
        ['A', [...p, ...peers('q', 400)]],
        ['B', [...p, ...peers('r', 400)]],
      ]),
      marked: peers('m', 110),
    };
    const desired = desiredUser('alice', {
      A: [...peers('q', 400), ...peers('a', 45)],
      B: [...peers('r', 400), ...peers('b', 45)],
    });
    const plan = planUser(desired, remote, mirror);
    expect(plan.violations).toEqual([]);
    const model = applyOneByOne(remote, plan.operations);
    expect(model.conversationCount()).toBe(1000);
    expect(model.maxConversations).toBeLessThanOrEqual(1000);
    // Without the marks the same plan would not have needed the extra call.
    const unmarked = planUser(desired, { ...remote, marked: [] }, mirror);
    expect(plan.operations.length).toBe(unmarked.operations.length + 1);
  });
});

describe('group names over 32 bytes (the update page’s reading of OldGroupName)', () => {
  const long = 'n'.repeat(40);
  it('are flagged: updated by this plan (now), or only created (at risk in a later sync)', () => {
    const plan = planUser(
      desiredUser('alice', { [long]: peers('p', 150), [`${long}-b`]: peers('q', 3), short: peers('s', 1) }),
      undefined,
      { mode: 'merge', assumeEmpty: true },
    );
    expect(plan.nameRisks).toEqual([
      { user: 'alice', group: long, bytes: 40, updateNow: true },
      { user: 'alice', group: `${long}-b`, bytes: 42, updateNow: false },
    ]);
    // Count-only planning (plan --assume-empty on threads) flags them the same way.
    const counted = countUser(desiredUser('alice', { [long]: peers('p', 150) }), undefined, {
      mode: 'merge',
      assumeEmpty: true,
    });
    expect(counted.nameRisks).toEqual([{ user: 'alice', group: long, bytes: 40, updateNow: true }]);
    // 32 bytes (or 10 three-byte characters) is fine.
    expect(
      planUser(
        desiredUser('alice', { ['x'.repeat(32)]: peers('p', 150), 客户客户客户客户客户: [] }),
        undefined,
        {
          mode: 'merge',
          assumeEmpty: true,
        },
      ).nameRisks,
    ).toBeUndefined();
  });
});

describe('the summary of unreadable users and long names', () => {
  const long = 'n'.repeat(40);
  // Planned inside the test (a describe's body runs outside any test: "static" to Stryker).
  const samplePlans = () => [
    planUser(desiredUser('b', { [long]: peers('p', 150) }), undefined, { mode: 'merge', assumeEmpty: true }),
    planUser(desiredUser('a', { [`${long}x`]: peers('q', 2) }), undefined, {
      mode: 'merge',
      assumeEmpty: true,
    }),
  ];

  it('counts and lists them; parts merge to the same summary; the plan file keeps them', async () => {
    const plans = samplePlans();
    const { SummaryBuilder } = await import('../../src/planner/summary.js');
    const { serializeSummary } = await import('../../src/planner/plan-file-format.js');
    const { narrowSummaryLine } = await import('../../src/planner/plan-file-narrow.js');
    const options = { mode: 'merge' as const, assumeEmpty: true };
    const whole = new SummaryBuilder(options);
    for (const p of plans) whole.addUser(p);
    whole.addUnreadable({ user: 'ghost', errorCode: 50001, message: 'not imported' });
    const summary = whole.result();
    expect(summary.users).toBe(2);
    expect(summary.unreadable).toEqual({
      count: 1,
      first: [{ user: 'ghost', errorCode: 50001, message: 'not imported' }],
    });
    expect(summary.longNames).toEqual({
      groups: 2,
      updatedNow: 1,
      first: [
        { user: 'a', group: `${long}x`, bytes: 41, updateNow: false },
        { user: 'b', group: long, bytes: 40, updateNow: true },
      ],
    });
    // As plan threads do: parts planned apart, added together.
    const parts = [new SummaryBuilder(options), new SummaryBuilder(options)];
    parts[0]?.addUser(plans[1] as (typeof plans)[number]);
    parts[1]?.addUser(plans[0] as (typeof plans)[number]);
    parts[1]?.addUnreadable({ user: 'ghost', errorCode: 50001, message: 'not imported' });
    const merged = new SummaryBuilder(options);
    for (const p of parts) merged.addUsersOf((p as InstanceType<typeof SummaryBuilder>).result());
    expect(merged.result()).toEqual(summary);
    expect(narrowSummaryLine(JSON.parse(serializeSummary(summary)))).toEqual(summary);
    // Without any, the summary has neither field (plan files of earlier versions read the same).
    const plain = new SummaryBuilder(options).result();
    expect('unreadable' in plain || 'longNames' in plain).toBe(false);
  });
});
