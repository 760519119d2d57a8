import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countCalls, emptyCallCounts, estimateDuration } from '../../src/planner/calls.js';
import { chunk } from '../../src/planner/chunk.js';
import { planUser } from '../../src/planner/plan-user.js';
import { desiredUser, peers, remoteUser } from './fixtures.js';

describe('chunk', () => {
  it('splits into slices of at most `size`, keeping order and every item', () => {
    fc.assert(
      fc.property(fc.array(fc.integer()), fc.integer({ min: 1, max: 120 }), (items, size) => {
        const chunks = chunk(items, size);
        expect(chunks.flat()).toEqual(items);
        expect(chunks.length).toBe(Math.ceil(items.length / size));
        for (const c of chunks.slice(0, -1)) expect(c.length).toBe(size);
        for (const c of chunks) expect(c.length).toBeGreaterThan(0);
      }),
    );
  });

  it('gives no chunks for no items and refuses a size below 1', () => {
    expect(chunk([], 100)).toEqual([]);
    expect(() => chunk([1], 0)).toThrow(
      'Expected `size` to be a whole number from 1 and up, got `0` (number)',
    );
  });
});

describe('countCalls and estimateDuration', () => {
  // Planned inside the test that uses them (a describe's body runs outside any test: Stryker would
  // count the planner lines it reaches as covered by no test in particular).
  const samplePlans = () => [
    planUser(desiredUser('a', { g: peers('p', 250), h: [] }), undefined, {
      mode: 'merge',
      assumeEmpty: true,
    }),
    planUser(
      desiredUser('b', { g: [] }),
      remoteUser('b', [
        ['g', peers('p', 150)],
        ['x', []],
      ]),
      {
        mode: 'mirror',
        assumeEmpty: false,
      },
    ),
  ];

  it('counts writes per endpoint, and reads (pages of 100 memberships, at least one) when state is read', () => {
    const plans = samplePlans();
    expect(countCalls(plans)).toEqual({
      ...emptyCallCounts(),
      create_contact_group: 2,
      update_contact_group: 4,
      del_contact_group: 1,
    });
    expect(countCalls(plans, { readsState: true }).get_contact_group).toBe(1 + 2);
    expect(countCalls(plans, { readsState: true, pageSize: 50 }).get_contact_group).toBe(1 + 3);
  });

  it('estimates the slowest endpoint: endpoints run in parallel at their own rate', () => {
    const calls = {
      ...emptyCallCounts(),
      create_contact_group: 400,
      update_contact_group: 1000,
      get_contact_group: 100,
    };
    expect(estimateDuration(calls, 200)).toBe(5);
    expect(estimateDuration(calls, { update_contact_group: 500, get_contact_group: 10 })).toBe(10);
    expect(estimateDuration(emptyCallCounts(), 200)).toBe(0);
    expect(() => estimateDuration(calls, 0)).toThrow(/rate of create_contact_group/);
  });
});
