import { createHash } from 'node:crypto';
import { SyncError } from '../errors.js';

/** `--shard i/n`: this process handles the users with hash(user) mod n = i. */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (m === null || count < 1 || index >= count) {
    throw new SyncError('USAGE', `Expected --shard to be i/n with 0 <= i < n, such as 0/4, got "${text}"`, {
      value: text,
    });
  }
  return { index, count };
}

/**
 * hash(user): the first 4 bytes of sha256(UTF-8 user ID) as an unsigned 32-bit integer. Documented, so
 * other tools can split an export the same way.
 */
export function userHash(user: string): number {
  return createHash('sha256').update(user, 'utf8').digest().readUInt32BE(0);
}

export function inShard(user: string, shard: Shard | undefined): boolean {
  return shard === undefined || shard.count === 1 || userHash(user) % shard.count === shard.index;
}
