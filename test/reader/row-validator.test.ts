import { describe, expect, it } from 'vitest';
import { isSyncError } from '../../src/errors.js';
import type { Membership } from '../../src/model.js';
import { isRejection, type RowOutcome, RowValidator } from '../../src/reader/csv/row-validator.js';
import type { Rejection } from '../../src/reader/types.js';

const CANONICAL = ['From_Account', 'GroupName', 'Type', 'To_Account', 'ToGroupId'];
const SHORT = ['user', 'group', 'type', 'peer'];

function feed(header: string[], ...rows: string[][]): RowOutcome[] {
  const validator = new RowValidator();
  return [header, ...rows].map((row) => validator.accept(row));
}

function one(header: string[], row: string[]): RowOutcome {
  return feed(header, row)[1]!;
}

function rejection(outcome: RowOutcome): Rejection {
  if (!isRejection(outcome)) throw new Error(`expected a rejection, got ${JSON.stringify(outcome)}`);
  return outcome;
}

describe('RowValidator: header', () => {
  it('accepts the canonical header and maps columns in any order, with extra columns', () => {
    const validator = new RowValidator();
    expect(validator.accept(['note', 'ToGroupId', 'To_Account', 'Type', 'GroupName', 'From_Account'])).toBe(
      'header',
    );
    expect(validator.layout).toMatchObject({
      form: 'canonical',
      width: 6,
      user: 5,
      group: 4,
      type: 3,
      toAccount: 2,
    });
    expect(validator.accept(['x', '', 'bob', '1', 'Family', 'alice'])).toEqual({
      user: 'alice',
      group: 'Family',
      conversation: { type: 1, id: 'bob' },
      line: 2,
    });
  });

  it('matches names trimmed and case-insensitively', () => {
    const validator = new RowValidator();
    validator.accept([' from_account ', 'GROUPNAME', 'type', 'to_account', 'togroupid']);
    expect(validator.layout?.form).toBe('canonical');
    const short = new RowValidator();
    short.accept(['User', ' Group', 'TYPE', 'Peer ']);
    expect(short.layout?.form).toBe('short');
  });

  it('names every missing column in one INVALID_INPUT error', () => {
    const validator = new RowValidator();
    try {
      validator.accept(['From_Account', 'Type', 'To_Account']);
      expect.unreachable();
    } catch (error) {
      expect(isSyncError(error, 'INVALID_INPUT')).toBe(true);
      expect((error as Error).message).toContain('missing columns GroupName, ToGroupId');
      expect((error as Error).message).toContain('line 1');
    }
  });

  it('refuses a header without any known column, and repeated required columns', () => {
    expect(() => new RowValidator().accept(['a', 'b', 'c'])).toThrow(/no known column/);
    expect(() => new RowValidator().accept(['user', 'group', 'type', 'peer', 'User'])).toThrow(
      /user appears more than once/,
    );
  });

  it('skips blank lines before the header and counts them', () => {
    const validator = new RowValidator();
    expect(validator.accept([''])).toBe('blank');
    expect(validator.accept(CANONICAL)).toBe('header');
    const row = validator.accept(['alice', 'G', '', '', '']) as Membership;
    expect(row.line).toBe(3);
  });

  it('detects a failures file by its error_code and error_message columns', () => {
    const validator = new RowValidator();
    validator.accept([...CANONICAL, 'error_code', 'error_message', 'line']);
    expect(validator.layout?.failuresFile).toBe(true);
    expect(validator.accept(["'@alice", "'=SUM(A1)", '2', '', "'@TGS#1", 'API', 'x', '3'])).toEqual({
      user: '@alice',
      group: '=SUM(A1)',
      conversation: { type: 2, id: '@TGS#1' },
      line: 2,
    });
  });

  it('trims a failures-file cell after removing its escape', () => {
    const validator = new RowValidator();
    validator.accept([...CANONICAL, 'error_code', 'error_message']);
    expect(validator.accept(["'@alice ", "'=G ", '1', "'-bob\t", '', 'API', 'x'])).toMatchObject({
      user: '@alice',
      group: '=G',
      conversation: { type: 1, id: '-bob' },
    });
  });

  it('has no header before the header row, and takes one from elsewhere for a part of a file', () => {
    const validator = new RowValidator();
    expect(validator.header).toEqual([]);
    expect(validator.layout).toBeUndefined();
    validator.useHeader(SHORT, 40);
    expect(validator.header).toBe(SHORT);
    expect(validator.layout?.form).toBe('short');
    expect(validator.nextLine).toBe(40);
    expect(validator.accept(['alice', 'G', '1', 'bob'])).toEqual({
      user: 'alice',
      group: 'G',
      conversation: { type: 1, id: 'bob' },
      line: 40,
    });
  });

  it("leaves a leading ' alone outside failures files and before other characters", () => {
    expect(one(CANONICAL, ["'@alice", "'x", '1', "'-bob", ''])).toEqual({
      user: "'@alice",
      group: "'x",
      conversation: { type: 1, id: "'-bob" },
      line: 2,
    });
    const failures = new RowValidator();
    failures.accept([...CANONICAL, 'error_code', 'error_message']);
    expect(failures.accept(["'alice", 'G', '1', 'bob', '', '', ''])).toMatchObject({ user: "'alice" });
  });

  it('removes nothing from a failures-file cell without the escape, even before = + - @', () => {
    const failures = new RowValidator();
    failures.accept([...CANONICAL, 'error_code', 'error_message']);
    expect(failures.accept(['a@b', 'x=y', '1', 'b-ob', '', '', ''])).toMatchObject({
      user: 'a@b',
      group: 'x=y',
      conversation: { type: 1, id: 'b-ob' },
    });
  });
});

describe('RowValidator: rows', () => {
  it('reads c2c, group and empty-group rows in both header forms', () => {
    expect(
      feed(CANONICAL, ['a', 'G', '1', 'b', ''], ['a', 'G', '2', '', '@TGS#1'], ['a', 'E', '', '', '']),
    ).toEqual([
      'header',
      { user: 'a', group: 'G', conversation: { type: 1, id: 'b' }, line: 2 },
      { user: 'a', group: 'G', conversation: { type: 2, id: '@TGS#1' }, line: 3 },
      { user: 'a', group: 'E', line: 4 },
    ]);
    expect(feed(SHORT, ['a', 'G', 'C2C', 'b'], ['a', 'G', 'Group', '@TGS#1'], ['a', 'E', '', ''])).toEqual([
      'header',
      { user: 'a', group: 'G', conversation: { type: 1, id: 'b' }, line: 2 },
      { user: 'a', group: 'G', conversation: { type: 2, id: '@TGS#1' }, line: 3 },
      { user: 'a', group: 'E', line: 4 },
    ]);
  });

  it('trims the known cells but keeps the original record', () => {
    const outcome = one(CANONICAL, ['  alice ', ' Family\t', ' 1 ', ' bob', '  ']);
    expect(outcome).toEqual({
      user: 'alice',
      group: 'Family',
      conversation: { type: 1, id: 'bob' },
      line: 2,
    });
    const rejected = rejection(one(CANONICAL, [' alice ', '   ', '1', 'bob', '']));
    expect(rejected.record).toEqual([' alice ', '   ', '1', 'bob', '']);
    expect(rejected.user).toBe('alice');
  });

  it.each([
    [
      'COLUMN_COUNT',
      ['alice', 'G', '1', 'bob'],
      'line 2: expected 5 columns as in the header, got 4',
      undefined,
    ],
    ['USER_EMPTY', ['', 'G', '1', 'bob', ''], 'line 2: From_Account is empty', undefined],
    ['GROUP_EMPTY', ['alice', ' ', '1', 'bob', ''], 'line 2: GroupName is empty', undefined],
    [
      'GROUP_TOO_LONG',
      ['alice', 'x'.repeat(65), '1', 'bob', ''],
      'line 2: GroupName is 65 bytes, the limit is 64',
      'x'.repeat(65),
    ],
    ['TYPE_INVALID', ['alice', 'G', '3', 'bob', ''], 'line 2: Type must be 1, 2, c2c or group, got "3"', '3'],
    [
      'TYPE_MISSING',
      ['alice', 'G', '', 'bob', ''],
      'line 2: Type is empty but To_Account is "bob"; give a Type, or leave both empty to declare an empty group',
      'bob',
    ],
    [
      'TYPE_MISSING',
      ['alice', 'G', '', '', '@TGS#1'],
      'line 2: Type is empty but ToGroupId is "@TGS#1"; give a Type, or leave both empty to declare an empty group',
      '@TGS#1',
    ],
    ['PEER_MISSING', ['alice', 'G', '1', '', ''], 'line 2: Type 1 needs To_Account', undefined],
    ['PEER_MISSING', ['alice', 'G', '2', '', ''], 'line 2: Type 2 needs ToGroupId', undefined],
    [
      'PEER_CONFLICT',
      ['alice', 'G', '1', 'bob', '@TGS#1'],
      'line 2: Type 1 takes no ToGroupId, got "@TGS#1"',
      '@TGS#1',
    ],
    [
      'PEER_CONFLICT',
      ['alice', 'G', 'group', 'bob', '@TGS#1'],
      'line 2: Type group takes no To_Account, got "bob"',
      'bob',
    ],
  ])('rejects %s: %j', (rule, row, message, value) => {
    const r = rejection(one(CANONICAL, row));
    expect(r).toMatchObject({ line: 2, rule, message, record: row, header: CANONICAL });
    expect(r.value).toBe(value);
    expect(r.user).toBe(row[0] === '' ? undefined : 'alice');
  });

  it('names the short-form columns in messages', () => {
    expect(rejection(one(SHORT, ['alice', 'G', 'c2c', ''])).message).toBe('line 2: type c2c needs peer');
    expect(rejection(one(SHORT, ['alice', 'G', '', 'bob'])).rule).toBe('TYPE_MISSING');
    expect(rejection(one(SHORT, ['', 'G', 'c2c', 'bob'])).message).toBe('line 2: user is empty');
  });

  it('measures GroupName in UTF-8 bytes: 64 is fine, 65 is not', () => {
    const chinese = '群'.repeat(21); // 63 bytes
    expect(isRejection(one(CANONICAL, ['a', `${chinese}x`, '', '', '']))).toBe(false); // 64
    expect(rejection(one(CANONICAL, ['a', `${chinese}xy`, '', '', ''])).message).toBe(
      'line 2: GroupName is 65 bytes, the limit is 64',
    );
    const emoji = '😀'.repeat(16); // 64 bytes, 32 UTF-16 units
    expect(isRejection(one(CANONICAL, ['a', emoji, '', '', '']))).toBe(false);
    expect(rejection(one(CANONICAL, ['a', `${emoji}!`, '', '', ''])).rule).toBe('GROUP_TOO_LONG');
  });

  it('skips rows whose cells are all blank, and single empty cells (empty lines)', () => {
    expect(feed(CANONICAL, [''], ['', '', '', ''], [' ', '', '\t', '', ''])).toEqual([
      'header',
      'blank',
      'blank',
      'blank',
    ]);
  });

  it('rejects a row with the wrong width even when its first cell is empty', () => {
    expect(rejection(one(CANONICAL, ['', 'G'])).rule).toBe('COLUMN_COUNT');
  });

  it('counts physical lines across quoted newlines (LF and CRLF) and blank lines', () => {
    const validator = new RowValidator();
    validator.accept(CANONICAL); // line 1
    const a = validator.accept(['alice', 'multi\nline\ngroup', '', '', '']) as Membership; // lines 2-4
    expect(validator.accept([''])).toBe('blank'); // line 5
    const b = validator.accept(['bob', 'G', '1', 'x\r\ny', '']) as Membership; // lines 6-7
    const c = rejection(validator.accept(['carol', 'G', '9', '', ''])); // line 8
    expect([a.line, b.line, c.line, validator.nextLine]).toEqual([2, 6, 8, 9]);
  });
});
