import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DesiredUser, Membership } from '../../src/model.js';
import { encodeMembership, encodeRejected } from '../../src/reader/stage/row-codec.js';
import { GroupedDecoder, partitionUsers } from '../../src/reader/users/decode.js';
import { UserBuilder } from '../../src/reader/users/user-builder.js';

const nasty = fc.string({ unit: fc.constantFrom('a', 'b', '\\', '\t', '\n', 't', '群'), maxLength: 4 });

const row = fc.record({
  user: nasty,
  group: nasty,
  id: nasty,
  type: fc.constantFrom<0 | 1 | 2 | 'R'>(0, 1, 2, 'R'),
  line: fc.integer({ min: 1, max: 1e9 }),
});

const unescapeField = (value: string) =>
  value.replace(/\\(.)/g, (_, ch: string) =>
    ch === 't' ? '\t' : ch === 'n' ? '\n' : ch === 'r' ? '\r' : ch,
  );

/**
 * The users of working-file lines (text, not bytes) by a reference decoder written from the format
 * (src/reader/stage/row-codec.ts): split on TAB, unescape, one builder per user, in order of first
 * appearance. What the decoder must equal (in user-ID order for partitionUsers).
 */
function reference(lines: readonly string[]): DesiredUser[] {
  const builders = new Map<string, UserBuilder>();
  for (const text of lines) {
    const [key, kind, group, id, line] = text.slice(0, -1).split('\t') as [
      string,
      string,
      string,
      string,
      string,
    ];
    let builder = builders.get(key);
    if (builder === undefined) {
      builder = new UserBuilder(unescapeField(key));
      builders.set(key, builder);
    }
    if (kind === 'R') builder.markRejected();
    else builder.add(unescapeField(group), Number(kind) as 0 | 1 | 2, unescapeField(id), Number(line));
  }
  return [...builders.values()].map((b) => b.build());
}

function expected(lines: readonly string[]): DesiredUser[] {
  return reference(lines).sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));
}

/** A working-file text as the decoder reads it: a byte string. */
const bytes = (text: string) => Buffer.from(text).toString('latin1');

/** Users of grouped byte strings through one decoder. */
function groupedUsers(texts: readonly string[]): DesiredUser[] {
  const decoder = new GroupedDecoder();
  const users = texts.flatMap((text) => [...decoder.push(text)]);
  const last = decoder.end();
  return last === undefined ? users : [...users, last];
}

describe('partitionUsers', () => {
  it('builds the users of texts of lines in user-ID order, as a builder per user would', () => {
    fc.assert(
      fc.property(fc.array(row, { maxLength: 40 }), fc.nat(), (rows, cut) => {
        const lines = rows.map((r) => {
          if (r.type === 'R') return encodeRejected(r.user, r.line);
          const m: Membership =
            r.type === 0
              ? { user: r.user, group: r.group, line: r.line }
              : { user: r.user, group: r.group, conversation: { type: r.type, id: r.id }, line: r.line };
          return encodeMembership(m);
        });
        const at = lines.length === 0 ? 0 : cut % (lines.length + 1);
        // Byte strings, as read from the working files.
        const texts = [lines.slice(0, at).join(''), lines.slice(at).join('')].map(bytes);
        const users = [...partitionUsers(texts)];
        expect(users.map((u) => ({ ...u, lineOf: [...(u.lineOf ?? [])] }))).toEqual(
          expected(lines).map((u) => ({ ...u, lineOf: [...(u.lineOf ?? [])] })),
        );
      }),
    );
  });

  it('throws on a malformed line without taking fields from the next line', () => {
    expect(() => [...partitionUsers(['alice\t1\tG\nbob\t1\tG\tx\t3\n'])]).toThrow(
      'Malformed working-file line: "alice\\t1\\tG"',
    );
    expect(() => [...partitionUsers(['bob\t1\tG\tx\t3\nalice\t1\tG\tx\t4\tz\n'])]).toThrow(
      /Malformed.*alice/,
    );
  });
});

describe('GroupedDecoder', () => {
  it('builds the users of contiguous lines across texts, in order, as a builder per user would', () => {
    fc.assert(
      fc.property(fc.array(row, { maxLength: 40 }), fc.array(fc.nat(), { maxLength: 3 }), (rows, cuts) => {
        // Each user's lines together (in the order of first appearance), as in a grouped spill.
        const byUser = new Map<string, string[]>();
        for (const r of rows) {
          const text =
            r.type === 'R'
              ? encodeRejected(r.user, r.line)
              : encodeMembership(
                  r.type === 0
                    ? { user: r.user, group: r.group, line: r.line }
                    : {
                        user: r.user,
                        group: r.group,
                        conversation: { type: r.type, id: r.id },
                        line: r.line,
                      },
                );
          byUser.set(r.user, [...(byUser.get(r.user) ?? []), text]);
        }
        const lines = [...byUser.values()].flat();
        // Grouped lines: the users in the order they first appear.
        const wanted = reference(lines);
        const at = [...new Set(cuts.map((c) => c % (lines.length + 1)))].sort((a, b) => a - b);
        const texts = [0, ...at]
          .map((from, k) => lines.slice(from, [...at, lines.length][k]).join(''))
          .map(bytes);
        const users = groupedUsers(texts);
        const plain = (us: DesiredUser[]) => us.map((u) => ({ ...u, lineOf: [...(u.lineOf ?? [])] }));
        expect(plain(users)).toEqual(plain(wanted));
      }),
    );
  });
});
