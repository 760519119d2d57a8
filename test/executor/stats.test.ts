import { describe, expect, it } from 'vitest';
import { CallStats } from '../../src/executor/rate/stats.js';
import { ENDPOINTS } from '../../src/tencent/wire.js';

const zero = { calls: 0, retries: 0, rateLimited: 0, failures: 0 };

describe('CallStats', () => {
  it('starts every endpoint at zero', () => {
    const stats = new CallStats();
    expect(Object.keys(stats.snapshot()).sort()).toEqual([...ENDPOINTS].sort());
    for (const endpoint of ENDPOINTS) expect(stats.of(endpoint)).toEqual(zero);
    expect(stats.totalCalls()).toBe(0);
    expect(stats.totalFailures()).toBe(0);
  });

  it('counts in place per endpoint and sums calls and failures over all endpoints', () => {
    const stats = new CallStats();
    stats.of('create_contact_group').calls += 3;
    stats.of('create_contact_group').failures += 1;
    stats.of('get_contact_group').calls += 2;
    stats.of('get_contact_group').retries += 1;
    stats.of('del_contact_group').failures += 2;
    stats.of('del_contact_group').rateLimited += 1;
    expect(stats.totalCalls()).toBe(5);
    expect(stats.totalFailures()).toBe(3);
    expect(stats.callsByEndpoint()).toEqual({
      create_contact_group: 3,
      update_contact_group: 0,
      search_contact_group: 0,
      del_contact_group: 0,
      get_contact_group: 2,
    });
    expect(stats.snapshot().del_contact_group).toEqual({ calls: 0, retries: 0, rateLimited: 1, failures: 2 });
  });

  it('gives copies: a snapshot does not move with later counts, nor counts with edits of a snapshot', () => {
    const stats = new CallStats();
    stats.of('update_contact_group').calls = 1;
    const before = stats.snapshot();
    stats.of('update_contact_group').calls = 7;
    expect(before.update_contact_group.calls).toBe(1);
    before.update_contact_group.failures = 9;
    expect(stats.of('update_contact_group')).toEqual({ ...zero, calls: 7 });
  });
});
