import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Conversation, compareConversations, conversationKey, membershipKey } from '../../src/model.js';
import { UserBuilder } from '../../src/reader/users/user-builder.js';

describe('UserBuilder', () => {
  it('sorts groups and conversations, drops duplicates, keeps the first line of each membership', () => {
    const b = new UserBuilder('alice');
    b.add('Work', 2, '@TGS#2', 9);
    b.add('Family', 1, 'bob', 5);
    b.add('Work', 1, 'carol', 3);
    b.add('Family', 1, 'bob', 2); // duplicate, earlier line
    b.add('Empty', 0, '', 7);
    b.add('Work', 0, '', 8); // a declaration of a group that also has members
    const user = b.build();
    expect(user).toMatchObject({
      user: 'alice',
      groups: [
        { name: 'Empty', conversations: [] },
        { name: 'Family', conversations: [{ type: 1, id: 'bob' }] },
        {
          name: 'Work',
          conversations: [
            { type: 1, id: 'carol' },
            { type: 2, id: '@TGS#2' },
          ],
        },
      ],
      lines: [2, 3, 5, 7, 8, 9],
      hasRejectedRows: false,
    });
    const lineOf = user.lineOf!;
    expect(lineOf.get(membershipKey('Family', { type: 1, id: 'bob' }))).toBe(2);
    expect(lineOf.get(membershipKey('Empty'))).toBe(7);
    expect(lineOf.get(membershipKey('Work'))).toBe(8);
    expect(lineOf.get(membershipKey('Work', { type: 2, id: '@TGS#2' }))).toBe(9);
    expect(lineOf.get(membershipKey('Family'))).toBeUndefined();
    expect(lineOf.get(membershipKey('Nope', { type: 1, id: 'bob' }))).toBeUndefined();
    expect(lineOf.get('garbage')).toBeUndefined();
    expect(lineOf.size).toBe(5);
    expect(lineOf.has(membershipKey('Work', { type: 1, id: 'carol' }))).toBe(true);
  });

  it('marks rejected rows and builds a user with no groups from them alone', () => {
    const b = new UserBuilder('bob');
    b.markRejected();
    expect(b.build()).toMatchObject({ user: 'bob', groups: [], lines: [], hasRejectedRows: true });
  });

  it('equals a straightforward map-based model on random rows', () => {
    const row = fc.record({
      group: fc.constantFrom('A', 'B', 'b', 'Ä', '群', 'A B'),
      type: fc.constantFrom(0, 1, 2),
      id: fc.constantFrom('x', 'y', 'X', '@TGS#1', 'x:y', ''),
    });
    fc.assert(
      fc.property(fc.array(row, { maxLength: 40 }), (rows) => {
        const b = new UserBuilder('u');
        const expected = new Map<string, Map<string, Conversation>>();
        const firstLine = new Map<string, number>();
        rows.forEach((r, i) => {
          const line = 100 - i; // descending, so "first line" is the smallest, not the first seen
          const type = r.type === 0 ? 0 : (r.type as 1 | 2);
          b.add(r.group, type, r.id, line);
          const members = expected.get(r.group) ?? new Map<string, Conversation>();
          expected.set(r.group, members);
          const conversation = type === 0 ? undefined : { type, id: r.id };
          if (conversation !== undefined) members.set(conversationKey(conversation), conversation);
          const key = membershipKey(r.group, conversation);
          firstLine.set(key, Math.min(line, firstLine.get(key) ?? Number.POSITIVE_INFINITY));
        });
        const user = b.build();
        const names = [...expected.keys()].sort();
        expect(user.groups.map((g) => g.name)).toEqual(names);
        for (const group of user.groups) {
          expect(group.conversations).toEqual(
            [...expected.get(group.name)!.values()].sort(compareConversations),
          );
        }
        expect(new Map(user.lineOf!)).toEqual(firstLine);
        expect(user.lines).toEqual(rows.map((_, i) => 100 - i).sort((x, y) => x - y));
      }),
      { numRuns: 300 },
    );
  });
});
