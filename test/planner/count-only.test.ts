import { describe, expect, it } from 'vitest';
import { planUser } from '../../src/planner/plan-user.js';
import { desiredUser, peers, remoteUser } from './fixtures.js';

describe('planUser with countOnly', () => {
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
        const counted = planUser(desired, have, { mode, assumeEmpty: have === undefined, countOnly: true });
        expect(full.operations.length).toBeGreaterThan(1);
        expect(counted.operations).toEqual(full.operations.map((op) => ({ ...op, id: '' })));
        expect(counted.stats).toEqual(full.stats);
        expect(counted.violations).toEqual(full.violations);
        expect(counted.desiredDigest).toBe('');
        expect(full.desiredDigest).toMatch(/^[0-9a-f]{64}$/);
      });
    }
  }
});
