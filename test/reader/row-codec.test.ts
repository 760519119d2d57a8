import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Membership } from '../../src/model.js';
import {
  encodedUser,
  encodeMembership,
  encodeRejected,
  escapeValue,
  findTabs,
  lineNumberAt,
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

  it('finds the four TABs of a line inside a text of many lines', () => {
    const text = 'alice\t1\tG\tbob\t2\nbob\t0\tE\t\t3\n';
    const tabs = new Int32Array(4);
    findTabs(text, 0, text.indexOf('\n'), tabs);
    expect([...tabs]).toEqual([5, 7, 9, 13]);
    const second = text.indexOf('\n') + 1;
    findTabs(text, second, text.length - 1, tabs);
    expect([...tabs]).toEqual([second + 3, second + 5, second + 7, second + 8]);
  });

  it.each([
    ['a kind of two characters', 'alice\t12\tG\tbob\t2'],
    ['no line field', 'alice\t1\tG\tbob'],
    ['a fifth field', 'alice\t1\tG\tbob\t2\textra'],
  ])('refuses a line with %s', (_, line) => {
    expect(() => findTabs(line, 0, line.length, new Int32Array(4))).toThrow(
      `Malformed working-file line: ${JSON.stringify(line)}`,
    );
  });

  it('refuses a line without any TAB, even after lines that have them', () => {
    const text = 'alice\t1\tG\tbob\t2\ncorrupted\n';
    const start = text.indexOf('\n') + 1;
    expect(() => findTabs(text, start, text.length - 1, new Int32Array(4))).toThrow(
      'Malformed working-file line: "corrupted"',
    );
  });

  it('refuses a line whose TABs are only found on the next line', () => {
    const text = 'alice\t1\tG\nbob\t0\tE\t\t3';
    expect(() => findTabs(text, 0, text.indexOf('\n'), new Int32Array(4))).toThrow(
      'Malformed working-file line: "alice\\t1\\tG"',
    );
  });

  it('reads a line number of digits, and anything else as Number does', () => {
    const text = 'x\t1\tg\tid\t';
    const at = (field: string) => lineNumberAt(`${text}${field}`, text.length, text.length + field.length);
    expect(at('907')).toBe(907);
    expect(at('')).toBe(0);
    expect(at('1e3')).toBe(1000);
    expect(at(' 12')).toBe(12);
    expect(at('7x')).toBeNaN();
  });

  it('reads the digits of text[from, end) only, not those around it', () => {
    expect(lineNumberAt('12345', 2, 4)).toBe(34);
    expect(lineNumberAt('907\t', 0, 3)).toBe(907);
  });
});
