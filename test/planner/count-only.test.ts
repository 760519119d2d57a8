import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countUser, planUser } from '../../src/planner/plan-user.js';
import type { UserPlan } from '../../src/planner/types.js';
import { UserBuilder } from '../../src/reader/users/user-builder.js';
import { desiredUser, peers, remoteUser } from './fixtures.js';

/** What counting a user must give: its plan without operation ids and digests. */
function withoutIds(plan: UserPlan): unknown {
  const { desiredDigest: _d, remoteDigest: _r, ...rest } = plan;
  return { ...rest, operations: plan.operations.map(({ id: _id, ...op }) => op) };
}

describe('countUser', () => {
  const desired = desiredUser('u1', { Work: peers('w', 250), Family: peers('f', 3), Old: [] });
  const remote = remoteUser('u1', [
    ['Work', peers('w', 120, 100)],
    ['Gone', peers('g', 4)],
  ]);

  for (const mode of ['merge', 'mirror'] as const) {
    for (const [name, have] of [
      ['assume-empty', undefined],
      ['against a remote state', remote],
    ] as const) {
      it(`plans the same operations without ids or digest: ${mode}, ${name}`, () => {
        const full = planUser(desired, have, { mode, assumeEmpty: have === undefined });
        const counted = countUser(desired, have, { mode, assumeEmpty: have === undefined });
        expect(full.operations.length).toBeGreaterThan(1);
        expect(counted).toStrictEqual(withoutIds(full));
        expect(full.desiredDigest).toMatch(/^[0-9a-f]{64}$/);
      });
    }
  }
});

describe('countUser against an empty app (the fast path for reader-ordered users)', () => {
  const id = fc.constantFrom('a', 'b', 'c', 'ab', 'a:b', '1', '名', '');
  const row = fc.record({
    group: fc.constantFrom('G', 'H', 'a b', 'Ω', 'g'),
    type: fc.constantFrom<0 | 1 | 2>(0, 1, 2),
    id,
  });
  /** Many rows in one group: creates with extra update chunks, and the conversation limit. */
  const bulk = fc.array(fc.tuple(fc.constantFrom<1 | 2>(1, 2), fc.integer({ min: 0, max: 1200 })), {
    maxLength: 1100,
  });

  it('gives the general path plan, without ids or digest, for any rows in either mode', () => {
    fc.assert(
      fc.property(
        fc.array(row, { maxLength: 30 }),
        bulk,
        fc.integer({ min: 0, max: 25 }),
        fc.boolean(),
        fc.constantFrom<'merge' | 'mirror'>('merge', 'mirror'),
        fc.boolean(),
        (rows, many, extraGroups, rejected, mode, readerOrder) => {
          const builder = new UserBuilder('u');
          for (const [i, r] of rows.entries()) builder.add(r.group, r.type, r.id, i + 1);
          for (const [i, [type, n]] of many.entries()) builder.add('big', type, `p${n}`, 1000 + i);
          for (let g = 0; g < extraGroups; g++) builder.add(`x${g}`, 0, '', 5000 + g);
          if (rejected) builder.markRejected();
          const built = builder.build();
          // Not in the reader's order: the general path must take over.
          const desired = readerOrder ? built : { ...built, groups: [...built.groups].reverse() };
          const full = planUser(desired, undefined, { mode, assumeEmpty: true });
          const counted = countUser(desired, undefined, { mode, assumeEmpty: true });
          expect(counted).toStrictEqual(withoutIds(full));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('chunks a group at exactly 100, 101, 200 and 201 conversations as the general path does', () => {
    const builder = new UserBuilder('u');
    for (const n of [100, 101, 200, 201]) {
      for (let i = 0; i < n; i++) builder.add(`g${n}`, i % 2 === 0 ? 1 : 2, `p${i}`, i + 1);
    }
    const desired = builder.build();
    const full = planUser(desired, undefined, { mode: 'merge', assumeEmpty: true });
    const counted = countUser(desired, undefined, { mode: 'merge', assumeEmpty: true });
    expect(full.operations.map((op) => op.kind)).toEqual([
      'create',
      'create',
      'update',
      'create',
      'update',
      'create',
      'update',
      'update',
    ]);
    expect(counted).toStrictEqual(withoutIds(full));
  });
});
