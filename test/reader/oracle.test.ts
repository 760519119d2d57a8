import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { expectedRows, expectedRowsStreaming, expectedState } from '../helpers/expected-state.js';
import { csvCell, readAll, scratchDir } from './helpers.js';

/**
 * The end-to-end tests' oracle (test/helpers/expected-state.ts: csv-parse and the documented rules,
 * nothing from src/) and the reader must agree on every input: where they differ, either the reader
 * breaks a documented rule or the documentation is incomplete.
 */
const scratch = scratchDir();
afterAll(() => scratch.cleanup());

/** The reader's view in the oracle's shape: users with at least one group, no user rules applied. */
async function readerView(path: string) {
  const { users, summary } = await readAll(path);
  const groups: Record<string, Record<string, string[]>> = {};
  for (const user of users) {
    if (user.groups.length === 0) continue;
    groups[user.user] = Object.fromEntries(
      user.groups.map((g) => [g.name, g.conversations.map((c) => `${c.type}:${c.id}`).sort()]),
    );
  }
  return { groups, rows: summary.rows, rejected: summary.rejectedRows, blank: summary.blankRows };
}

function oracleView(path: string) {
  const rows = expectedRows(path);
  const groups: Record<string, Record<string, string[]>> = {};
  for (const [user, userGroups] of rows.users) {
    if (userGroups.size === 0) continue;
    groups[user] = Object.fromEntries([...userGroups].map(([name, set]) => [name, [...set].sort()]));
  }
  return { groups, rows: rows.rows, rejected: rows.rejected, blank: rows.blank };
}

describe('the test oracle agrees with the reader', () => {
  it.each(['basic.csv', 'short-header.csv', 'limits.csv', 'bad-rows.csv', 'demo.csv'])(
    'on samples/%s',
    async (name) => {
      const path = join(process.cwd(), 'samples', name);
      expect(oracleView(path)).toEqual(await readerView(path));
    },
  );

  it.each(['basic.csv', 'short-header.csv', 'bad-rows.csv'])(
    'reads samples/%s the same streaming',
    async (name) => {
      const path = join(process.cwd(), 'samples', name);
      expect(await expectedRowsStreaming(path)).toEqual(expectedRows(path));
    },
  );

  it('applies the user rules: limits.csv leaves out exactly the users over 20 groups or 1000 conversations', () => {
    const all = expectedRows(join(process.cwd(), 'samples', 'limits.csv')).users;
    const kept = expectedState(join(process.cwd(), 'samples', 'limits.csv'));
    const dropped = [...all.keys()].filter((u) => !(u in kept)).sort();
    expect(dropped.length).toBeGreaterThan(0);
    for (const user of dropped) {
      const groups = all.get(user) as Map<string, Set<string>>;
      const distinct = new Set([...groups.values()].flatMap((s) => [...s]));
      expect(groups.size > 20 || distinct.size > 1000, user).toBe(true);
    }
    for (const user of Object.keys(kept)) {
      expect(Object.keys(kept[user] as object).length).toBeLessThanOrEqual(20);
    }
  });

  // Cells chosen to hit every documented rule: blanks and padding (NBSP, tabs), Type spellings,
  // failures-file escapes, names at and over 64 UTF-8 bytes, quotes and commas.
  const USERS = ['alice', ' bob ', '\u00a0carol\t', 'Alice', '', '  ', "'=dan", 'e,"ve"'];
  const GROUPS = ['Family', ' Work', '', '家'.repeat(21), '家'.repeat(22), 'x'.repeat(64), "'@home", 'a\nb'];
  const TYPES = ['', ' ', '1', '2', 'c2c', 'C2C ', 'Group', 'GROUP', '3', 'one'];
  const PEERS = ['', ' ', 'bob', ' p1 ', '@TGS#1', "'-x", "'@TGS#2", 'q"uote'];
  const HEADERS = [
    ['From_Account', 'GroupName', 'Type', 'To_Account', 'ToGroupId'],
    [' from_account ', 'GROUPNAME', 'type', 'To_Account', 'ToGroupId', 'note'],
    ['ToGroupId', 'Type', 'From_Account', 'To_Account', 'GroupName'],
    ['user', 'group', 'type', 'peer'],
    ['Peer', ' USER', 'Group', 'Type', 'extra'],
    ['From_Account', 'GroupName', 'Type', 'To_Account', 'ToGroupId', 'error_code', 'error_message', 'line'],
    ['user', 'group', 'type', 'peer', 'error_code', 'error_message', 'line'],
  ];

  const row = (header: readonly string[]) =>
    fc
      .record({
        user: fc.constantFrom(...USERS),
        group: fc.constantFrom(...GROUPS),
        type: fc.constantFrom(...TYPES),
        a: fc.constantFrom(...PEERS),
        b: fc.constantFrom(...PEERS),
        shape: fc.constantFrom('ok', 'ok', 'ok', 'ok', 'short', 'long', 'blank', 'blank-short', 'empty'),
      })
      .map(({ user, group, type, a, b, shape }) => {
        if (shape === 'blank') return header.map(() => ' ');
        if (shape === 'blank-short') return [' ', ''];
        if (shape === 'empty') return [];
        const cells = header.map((name) => {
          switch (name.trim().toLowerCase()) {
            case 'from_account':
            case 'user':
              return user;
            case 'groupname':
            case 'group':
              return group;
            case 'type':
              return type;
            case 'to_account':
            case 'peer':
              return a;
            case 'togroupid':
              return b;
            default:
              return 'x';
          }
        });
        return shape === 'short' ? cells.slice(1) : shape === 'long' ? [...cells, 'extra'] : cells;
      });

  it('on generated inputs (header forms, Type spellings, padding, escapes, limits of names, column counts)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .constantFrom(...HEADERS)
          .chain((header) =>
            fc.tuple(
              fc.constant(header),
              fc.array(row(header), { maxLength: 30 }),
              fc.boolean(),
              fc.boolean(),
              fc.constantFrom([], [[]], [['', '', '']], [[' ', '\t']]),
            ),
          ),
        async ([header, rows, crlf, bom, before]) => {
          const eol = crlf ? '\r\n' : '\n';
          const lines = [...before, header, ...rows];
          const text = lines.map((cells) => cells.map(csvCell).join(',')).join(eol) + eol;
          const path = scratch.file('gen.csv', `${bom ? '\ufeff' : ''}${text}`);
          expect(oracleView(path)).toEqual(await readerView(path));
        },
      ),
      { numRuns: 150 },
    );
  });
});
