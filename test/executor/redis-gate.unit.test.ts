import { describe, expect, it } from 'vitest';
import { SyncError } from '../../src/errors.js';
import { createRedisGate, describeRedisUrl, parseReservation } from '../../src/executor/redis-gate.js';

describe('script answers and URLs', () => {
  it('narrows the script answer from µs to ms and refuses anything else', () => {
    expect(parseReservation([1, 2500])).toEqual({ granted: true, delayMs: 2.5 });
    expect(parseReservation([0, 1000])).toEqual({ granted: false, retryInMs: 1 });
    for (const bad of [null, [1], [2, 5], [1, -1], [1, '5'], 'OK']) {
      expect(() => parseReservation(bad)).toThrow(SyncError);
    }
  });

  it('names a Redis by host:port only, and knows its password as a secret', () => {
    expect(describeRedisUrl('redis://u:p%40ss@cache.internal:6380/2')).toEqual({
      where: 'cache.internal:6380',
      secrets: ['p%40ss', 'p@ss'],
    });
    expect(describeRedisUrl('rediss://cache').where).toBe('cache:6379');
    for (const bad of ['cache:6379', 'http://cache:6379', 'redis://']) {
      expect(() => describeRedisUrl(bad)).toThrow(expect.objectContaining({ code: 'CONFIG' }));
    }
  });

  it('validates its options eagerly', async () => {
    await expect(
      createRedisGate({ url: 'redis://127.0.0.1:1', headroom: 2, maxInFlight: 0 }),
    ).rejects.toThrow(
      'Expected `headroom` to be a number in (0, 1], got `2`; Expected `maxInFlight` to be an integer from 1, got `0`',
    );
  });
});
