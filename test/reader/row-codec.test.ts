import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Membership } from '../../src/model.js';
import {
  encodedUser,
  encodeMembership,
  encodeRejected,
  escapeValue,
  unescapeValue,
} from '../../src/reader/stage/row-codec.js';
import { GroupedDecoder } from '../../src/reader/users/decode.js';

/** A working-file text as the decoder reads it: a byte string. */
const bytes = (text: string) => Buffer.from(text).toString('latin1');

const nasty = fc.string({
  unit: fc.constantFrom('a', 'b', '\\', '\t', '\n', '\r', 't', 'n', '群', '"', ','),
});

describe('row codec', () => {
  it('round-trips any value through escape/unescape, with no TAB or LF left', () => {
    fc.assert(
      fc.property(nasty, (value) => {
        const escaped = escapeValue(value);
        expect(escaped).not.toMatch(/[\t\n\r]/);
        expect(unescapeValue(escaped)).toBe(value);
      }),
    );
  });

  it('round-trips memberships and rejected markers through the decoder', () => {
    fc.assert(
      fc.property(
        nasty,
        nasty,
        nasty,
        fc.constantFrom(0, 1, 2),
        fc.integer({ min: 1, max: 1e9 }),
        (user, group, id, type, line) => {
          const membership: Membership =
            type === 0
              ? { user, group, line }
              : { user, group, conversation: { type: type as 1 | 2, id }, line };
          const text = encodeMembership(membership);
          expect(text.endsWith('\n')).toBe(true);
          expect(text.slice(0, -1)).not.toMatch(/\n/);
          expect(unescapeValue(encodedUser(text))).toBe(user);
          const decoder = new GroupedDecoder();
          expect([...decoder.push(bytes(text + encodeRejected(user, line + 1)))]).toEqual([]);
          const built = decoder.end()!;
          expect(built.user).toBe(user);
          expect(built.hasRejectedRows).toBe(true);
          expect(built.lines).toEqual([line]);
          expect(built.groups).toEqual([{ name: group, conversations: type === 0 ? [] : [{ type, id }] }]);
        },
      ),
    );
  });

  it('throws on a malformed line', () => {
    expect(() => [...new GroupedDecoder().push('alice\t1\tG\n')]).toThrow(/Malformed/);
  });
});
