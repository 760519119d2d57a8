import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHINESE_64, demoCsv, EMOJI_64, limitsCsv } from '../bench/gen-samples.js';
import type { DesiredUser } from '../src/model.js';
import { membershipKey } from '../src/model.js';
import { readAll } from './reader/helpers.js';

/**
 * Every samples/*.csv is read here with exact expectations; a sample without an entry fails.
 * (Planner and report samples are checked by their owners' tests.)
 */
const SAMPLES = join(import.meta.dirname, '..', 'samples');

interface Expectation {
  readonly rows: number;
  readonly validRows: number;
  readonly blankRows: number;
  readonly users: readonly string[];
  readonly grouped: boolean;
  readonly headerForm: 'canonical' | 'short';
  /** [line, rule] of every rejection, in order. */
  readonly rejections: readonly (readonly [number, string])[];
  readonly check?: (users: ReadonlyMap<string, DesiredUser>) => void;
}

const groupNames = (u: DesiredUser | undefined) => u?.groups.map((g) => g.name);
const distinct = (u: DesiredUser | undefined) =>
  new Set(u?.groups.flatMap((g) => g.conversations.map((c) => `${c.type}:${c.id}`))).size;

const EXPECTED: Record<string, Expectation> = {
  'basic.csv': {
    rows: 13,
    validRows: 13,
    blankRows: 0,
    users: ['alice', 'bob', 'carol', 'dave', 'erin'],
    grouped: true,
    headerForm: 'canonical',
    rejections: [],
    check: (users) => {
      expect(users.get('alice')).toMatchObject({
        groups: [
          {
            name: 'Family',
            conversations: [
              { type: 1, id: 'bob' },
              { type: 1, id: 'carol' },
            ],
          },
          {
            name: 'Work',
            conversations: [
              { type: 1, id: 'dave' },
              { type: 2, id: '@TGS#1AAAAAAA' },
            ],
          },
        ],
        lines: [2, 3, 4, 5, 6],
        hasRejectedRows: false,
      });
      expect(users.get('carol')?.groups).toEqual([{ name: 'Archive', conversations: [] }]);
      expect(users.get('alice')?.lineOf?.get(membershipKey('Family', { type: 1, id: 'bob' }))).toBe(2);
    },
  },
  'short-header.csv': {
    rows: 9,
    validRows: 9,
    blankRows: 0,
    users: ['alice', 'bob', 'carol'],
    grouped: true,
    headerForm: 'short',
    rejections: [],
    check: (users) => {
      expect(groupNames(users.get('alice'))).toEqual(['Book "club"', 'Family, close', 'Work']);
      expect(users.get('alice')?.groups[0]?.conversations).toEqual([{ type: 2, id: '@TGS#2BBBBBBB' }]);
      expect(users.get('bob')).toMatchObject({
        groups: [
          { name: 'Empty', conversations: [] },
          { name: 'Two\r\nlines', conversations: [{ type: 1, id: 'alice' }] },
        ],
        lines: [6, 8],
      });
      expect(users.get('carol')).toMatchObject({
        groups: [
          { name: 'padded', conversations: [{ type: 1, id: 'dave' }] },
          {
            name: '家人',
            conversations: [
              { type: 1, id: 'alice' },
              { type: 2, id: '@TGS#3CCCCCCC' },
            ],
          },
        ],
        lines: [9, 10, 11],
      });
    },
  },
  'limits.csv': {
    rows: 2046,
    validRows: 2045,
    blankRows: 0,
    users: ['twenty_groups', 'many_groups', 'thousand_convs', 'many_convs', 'long_names'],
    grouped: true,
    headerForm: 'canonical',
    rejections: [[2047, 'GROUP_TOO_LONG']],
    check: (users) => {
      expect(users.get('twenty_groups')?.groups).toHaveLength(20);
      expect(users.get('many_groups')?.groups).toHaveLength(21);
      expect(distinct(users.get('thousand_convs'))).toBe(1000);
      expect(distinct(users.get('many_convs'))).toBe(1001);
      expect(users.get('many_convs')?.lines).toHaveLength(1002);
      expect(users.get('long_names')).toMatchObject({ hasRejectedRows: true, lines: [2045, 2046] });
      expect(groupNames(users.get('long_names'))).toEqual([CHINESE_64, EMOJI_64].sort());
      expect([CHINESE_64, EMOJI_64].map((n) => Buffer.byteLength(n))).toEqual([64, 64]);
    },
  },
  'bad-rows.csv': {
    rows: 14,
    validRows: 5,
    blankRows: 1,
    users: ['alice', 'bob', 'carol', 'dave', 'erin'],
    grouped: true,
    headerForm: 'canonical',
    rejections: [
      [3, 'USER_EMPTY'],
      [4, 'GROUP_EMPTY'],
      [5, 'GROUP_TOO_LONG'],
      [7, 'TYPE_INVALID'],
      [8, 'TYPE_MISSING'],
      [9, 'PEER_MISSING'],
      [10, 'PEER_CONFLICT'],
      [12, 'COLUMN_COUNT'],
      [16, 'COLUMN_COUNT'],
    ],
    check: (users) => {
      expect([...users.values()].map((u) => [u.user, u.hasRejectedRows, u.lines])).toEqual([
        ['alice', true, [2, 6]],
        ['bob', true, [11]],
        ['carol', true, [13]],
        ['dave', false, [15]],
        ['erin', true, []],
      ]);
      expect(users.get('dave')?.groups).toEqual([{ name: 'Empty', conversations: [] }]);
    },
  },
  'demo.csv': {
    rows: 2000,
    validRows: 2000,
    blankRows: 0,
    users: Array.from({ length: 300 }, (_, i) => `user_${String(i).padStart(3, '0')}`),
    grouped: true,
    headerForm: 'canonical',
    rejections: [],
    check: (users) => {
      for (const user of users.values()) {
        expect(user.groups.length).toBeLessThanOrEqual(20);
        expect(distinct(user)).toBeLessThanOrEqual(1000);
      }
      const kinds = new Set(
        [...users.values()].flatMap((u) => u.groups.flatMap((g) => g.conversations.map((c) => c.type))),
      );
      expect(kinds).toEqual(new Set([1, 2]));
      expect([...users.values()].some((u) => u.groups.some((g) => g.conversations.length === 0))).toBe(true);
    },
  },
};

const files = readdirSync(SAMPLES)
  .filter((f) => f.endsWith('.csv'))
  .sort();

describe('samples', () => {
  it('has an expectation for every sample and a sample for every expectation', () => {
    expect(files).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(files)('%s reads with the expected counts and rejections', async (file) => {
    const expected = EXPECTED[file];
    if (expected === undefined)
      throw new Error(`samples/${file} has no expectations in test/samples.test.ts`);
    const { users, rejections, summary } = await readAll(join(SAMPLES, file));
    expect(summary).toMatchObject({
      rows: expected.rows,
      validRows: expected.validRows,
      rejectedRows: expected.rejections.length,
      blankRows: expected.blankRows,
      users: expected.users.length,
      grouped: expected.grouped,
      headerForm: expected.headerForm,
    });
    expect(users.map((u) => u.user)).toEqual(expected.users);
    expect(rejections.map((r) => [r.line, r.rule])).toEqual(expected.rejections);
    for (const r of rejections) expect(r.message.startsWith(`line ${r.line}: `)).toBe(true);
    expected.check?.(new Map(users.map((u) => [u.user, u])));
  });

  it('limits.csv and demo.csv are what bench/gen-samples.ts generates', async () => {
    expect(readFileSync(join(SAMPLES, 'limits.csv'), 'utf8')).toBe(limitsCsv());
    expect(readFileSync(join(SAMPLES, 'demo.csv')).equals(await demoCsv())).toBe(true);
  });
});
