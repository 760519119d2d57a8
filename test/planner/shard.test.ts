import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isSyncError } from '../../src/errors.js';
import { inShard, parseShard, userHash } from '../../src/planner/shard.js';

describe('--shard i/n', () => {
  it('reads i/n, spaces around it allowed', () => {
    expect(parseShard('0/4')).toEqual({ index: 0, count: 4 });
    expect(parseShard(' 3/4 ')).toEqual({ index: 3, count: 4 });
    expect(parseShard('0/1')).toEqual({ index: 0, count: 1 });
    expect(parseShard('12/16')).toEqual({ index: 12, count: 16 });
  });

  it.each(['4/4', '5/4', '0/0', '1/0', '-1/4', '1/-4', '1.5/4', '1/4x', 'x1/4', '1 / 4', '1', '/4', ''])(
    'refuses %j with a usage error naming the value',
    (text) => {
      let error: unknown;
      try {
        parseShard(text);
      } catch (e) {
        error = e;
      }
      expect(isSyncError(error, 'USAGE')).toBe(true);
      expect((error as Error).message).toBe(
        `Expected --shard to be i/n with 0 <= i < n, such as 0/4, got "${text}"`,
      );
      expect(isSyncError(error) && error.context.value).toBe(text);
    },
  );

  it('hashes a user as the first 4 bytes of sha256(UTF-8 user), big-endian (documented)', () => {
    for (const user of ['alice', 'bob', 'ünïcödé-用户', '']) {
      const digest = createHash('sha256').update(Buffer.from(user, 'utf8')).digest();
      expect(userHash(user)).toBe(digest.readUInt32BE(0));
    }
    // A fixed value, so that another tool can check its own rule against it.
    expect(userHash('alice')).toBe(0x2bd806c9);
  });

  it('puts each user in exactly one shard: hash mod n = i', () => {
    const users = Array.from({ length: 200 }, (_, i) => `user-${i}`);
    for (const count of [2, 3, 7]) {
      const shards = Array.from({ length: count }, (_, index) => ({ index, count }));
      for (const user of users) {
        const holders = shards.filter((s) => inShard(user, s));
        expect(holders.map((s) => s.index)).toEqual([userHash(user) % count]);
      }
      // Every shard gets some of 200 users.
      for (const s of shards) expect(users.some((u) => inShard(u, s))).toBe(true);
    }
  });

  it('without a shard, or with n = 1, takes every user', () => {
    for (const user of ['alice', 'bob', 'carol']) {
      expect(inShard(user, undefined)).toBe(true);
      expect(inShard(user, { index: 0, count: 1 })).toBe(true);
    }
  });
});
