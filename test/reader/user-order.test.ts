import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  compareUserOrder,
  escapeValue,
  scanInput,
  userOrderKey,
  userOrderKeyEscaped,
} from '../../src/reader/index.js';
import { hash32 } from '../../src/reader/stage/order-tracker.js';
import { canonicalOrder } from '../../src/reader/users/user-order.js';
import { scratchDir } from './helpers.js';

const scratch = scratchDir();
afterAll(() => scratch.cleanup());

const HEADER = 'From_Account,GroupName,Type,To_Account,ToGroupId';

async function usersOf(path: string, partitionBytes: number, order: 'id' | 'canonical'): Promise<string[]> {
  const scan = await scanInput(path, { partitionBytes });
  const names: string[] = [];
  for await (const user of scan.users({ order })) names.push(user.user);
  return names;
}

describe('the canonical order of users', () => {
  it('is a total order of the ID alone: the key and the comparison agree', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        const byKey = userOrderKey(a) < userOrderKey(b) ? -1 : userOrderKey(a) > userOrderKey(b) ? 1 : 0;
        expect(compareUserOrder(a, b)).toBe(byKey);
        expect(compareUserOrder(b, a)).toBe(byKey === 0 ? 0 : -byKey);
      }),
      { numRuns: 300 },
    );
  });

  it('has as key 8 hex digits of the hash of the escaped ID, then the ID, from the ID or its escaped form', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('a', 'Z', '\\', '\t', '\n', '\r', 'é', '😀', '0') }),
        (user) => {
          const key = userOrderKey(user);
          expect(key).toBe(hash32(escapeValue(user)).toString(16).padStart(8, '0') + user);
          expect(userOrderKeyEscaped(escapeValue(user), user)).toBe(key);
        },
      ),
      { numRuns: 300 },
    );
    // Hashes with leading zeros and high bits: the digits are not cut or signed.
    for (const user of ['', 'a', 'u0', 'u1', 'u2', 'u3', 'alice']) {
      expect(userOrderKey(user).slice(0, 8)).toMatch(/^[0-9a-f]{8}$/);
    }
  });

  it('is what scan.users({ order: "canonical" }) yields, grouped or not, whatever the partition count', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 4 })), {
          minLength: 1,
          maxLength: 200,
        }),
        fc.boolean(),
        fc.constantFrom(200, 1000, 1 << 21),
        async (rows, grouped, partitionBytes) => {
          const ordered = grouped ? [...rows].sort((a, b) => b[0] - a[0]) : rows;
          const lines = ordered.map(([u, g]) => `u\t${u}é,G${g},1,peer,`.replace('\t', ''));
          const path = scratch.file('order.csv', `${HEADER}\n${lines.join('\n')}\n`);
          const canonical = await usersOf(path, partitionBytes, 'canonical');
          const expected = [...new Set(rows.map(([u]) => `u${u}é`))].sort(compareUserOrder);
          expect(canonical).toEqual(expected);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('differs from user-ID order (so the test above can fail)', async () => {
    const users = Array.from({ length: 50 }, (_, i) => `user_${String(i).padStart(2, '0')}`);
    const path = scratch.file('sorted.csv', `${HEADER}\n${users.map((u) => `${u},G,1,p,`).join('\n')}\n`);
    expect(await usersOf(path, 1 << 21, 'id')).toEqual(users);
    expect(await usersOf(path, 1 << 21, 'canonical')).toEqual([...users].sort(compareUserOrder));
    expect([...users].sort(compareUserOrder)).not.toEqual(users);
  });

  it("canonicalOrder (the partitions' fast sort) agrees with the order keys, hash ties and large inputs included", () => {
    const byKey = (users: readonly string[]) =>
      users
        .map((user, i) => [userOrderKey(user), i] as const)
        .sort((a, b) => (a[0] < b[0] ? -1 : 1))
        .map(([, i]) => i);
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ unit: fc.constantFrom('a', 'b', '\\', '\t', 'é', '😀', '0', '1') }), {
          maxLength: 60,
        }),
        (users) => {
          expect(canonicalOrder(users)).toEqual(byKey(users));
        },
      ),
      { numRuns: 300 },
    );
    // Pairs of IDs with the same hash: their order is the IDs' (the packed sort alone would keep
    // them in input order, so each pair is also given reversed).
    expect(hash32('c4896')).toBe(hash32('c66664'));
    expect(hash32('c48100')).toBe(hash32('c93843'));
    for (const users of [
      ['c66664', 'x', 'c4896', 'c93843', 'c48100'],
      ['c4896', 'c48100', 'c66664', 'c93843'],
    ]) {
      expect(canonicalOrder(users).map((i) => users[i])).toEqual([...users].sort(compareUserOrder));
    }
    // More users than the packed sort holds (2^21): the plain sort, the same order.
    const many = Array.from({ length: 2 ** 21 + 3 }, (_, i) => `c${i}`);
    const order = canonicalOrder(many);
    expect(order).toHaveLength(many.length);
    for (let i = 1; i < order.length; i++) {
      if (compareUserOrder(many[order[i - 1]!]!, many[order[i]!]!) >= 0) {
        throw new Error(`out of order at ${i}: ${many[order[i - 1]!]} then ${many[order[i]!]}`);
      }
    }
  });
});
