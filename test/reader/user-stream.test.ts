import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DesiredUser, Membership } from '../../src/model.js';
import {
  decodeInto,
  encodedUser,
  encodeMembership,
  encodeRejected,
} from '../../src/reader/stage/row-codec.js';
import { UserBuilder } from '../../src/reader/users/user-builder.js';
import { GroupedUsers, groupedUsers, partitionUsers } from '../../src/reader/users/user-stream.js';

const nasty = fc.string({ unit: fc.constantFrom('a', 'b', '\\', '\t', '\n', 't', '群'), maxLength: 4 });

const row = fc.record({
  user: nasty,
  group: nasty,
  id: nasty,
  type: fc.constantFrom<0 | 1 | 2 | 'R'>(0, 1, 2, 'R'),
  line: fc.integer({ min: 1, max: 1e9 }),
});

/** The users as one builder per user fed line by line in order: what partitionUsers must equal. */
function expected(lines: readonly string[]): DesiredUser[] {
  const builders = new Map<string, UserBuilder>();
  for (const text of lines) {
    const key = encodedUser(text);
    let builder = builders.get(key);
    if (builder === undefined) {
      builder = new UserBuilder(
        key.replace(/\\(.)/g, (_, ch: string) =>
          ch === 't' ? '\t' : ch === 'n' ? '\n' : ch === 'r' ? '\r' : ch,
        ),
      );
      builders.set(key, builder);
    }
    decodeInto(text.slice(0, -1), builder);
  }
  return [...builders.values()]
    .map((b) => b.build())
    .sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));
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
        const texts = [lines.slice(0, at).join(''), lines.slice(at).join('')].map((t) =>
          Buffer.from(t).toString('latin1'),
        );
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

describe('groupedUsers', () => {
  it('builds the users of contiguous lines across texts as GroupedUsers does line by line', () => {
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
        const grouped = new GroupedUsers();
        const expected = [...grouped.push(lines.map((l) => l.slice(0, -1)))];
        const last = grouped.end();
        if (last !== undefined) expected.push(last);
        const at = [...new Set(cuts.map((c) => c % (lines.length + 1)))].sort((a, b) => a - b);
        const texts = [0, ...at]
          .map((from, k) => lines.slice(from, [...at, lines.length][k]).join(''))
          .map((t) => Buffer.from(t).toString('latin1'));
        const users = [...groupedUsers(texts)];
        const plain = (us: DesiredUser[]) => us.map((u) => ({ ...u, lineOf: [...(u.lineOf ?? [])] }));
        expect(plain(users)).toEqual(plain(expected));
      }),
    );
  });
});
