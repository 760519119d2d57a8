import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { isSyncError } from '../../src/errors.js';
import { type Conversation, conversationKey, membershipKey } from '../../src/model.js';
import { readUsers } from '../../src/reader/read-users.js';
import { scanInput } from '../../src/reader/scan-input.js';
import { liveWorkDirs } from '../../src/work-dir.js';
import { csvLine, plainUsers, readAll, readAllByPath, scratchDir } from './helpers.js';

const scratch = scratchDir();
afterAll(() => scratch.cleanup());

const HEADER = 'From_Account,GroupName,Type,To_Account,ToGroupId';

function csv(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

async function expectSyncError(promise: Promise<unknown>, code: string, pattern: RegExp): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    expect(isSyncError(error)).toBe(true);
    expect((error as { code: string }).code).toBe(code);
    expect((error as Error).message).toMatch(pattern);
    return error as Error;
  }
  throw new Error(`expected a ${code} error`);
}

describe('readUsers: grouped input', () => {
  it('streams users in file order with a complete summary', async () => {
    const text = csv(
      HEADER,
      'bob,Family,1,alice,',
      'bob,Family,1,alice,',
      'bob,Work,2,,@TGS#1',
      'alice,Empty,,,',
      ',,,,',
      'alice,Family,9,carol,',
      'carol,Family,c2c,alice,',
    );
    const path = scratch.file('grouped.csv', text);
    const { users, rejections, summary } = await readAll(path);
    expect(users.map((u) => u.user)).toEqual(['bob', 'alice', 'carol']);
    expect(users[0]).toMatchObject({
      groups: [
        { name: 'Family', conversations: [{ type: 1, id: 'alice' }] },
        { name: 'Work', conversations: [{ type: 2, id: '@TGS#1' }] },
      ],
      lines: [2, 3, 4],
      hasRejectedRows: false,
    });
    expect(users[1]).toMatchObject({
      groups: [{ name: 'Empty', conversations: [] }],
      lines: [5],
      hasRejectedRows: true,
    });
    expect(rejections.map((r) => [r.line, r.rule, r.user])).toEqual([[7, 'TYPE_INVALID', 'alice']]);
    expect(summary).toEqual({
      rows: 6,
      validRows: 5,
      rejectedRows: 1,
      blankRows: 1,
      bytes: Buffer.byteLength(text),
      inputDigest: createHash('sha256').update(text).digest('hex'),
      grouped: true,
      headerForm: 'canonical',
      header: HEADER.split(','),
      failuresFile: false,
      partitions: 0,
      usersCounted: 3,
      users: 3,
    });
  });

  it('reads a header-only file as no users', async () => {
    const { users, summary } = await readAll(scratch.file('header-only.csv', `${HEADER}\r\n`));
    expect(users).toEqual([]);
    expect(summary).toMatchObject({ rows: 0, users: 0, grouped: true });
  });

  it('handles BOM, CRLF, mixed line endings and quoted newlines with exact line numbers', async () => {
    const text = `\ufeffuser,group,type,peer\r\nalice,"Family,\r\nand friends",c2c,bob\r\nalice,Work,group,@TGS#1\nbob,"multi\nline\nname",C2C,"x"\r\nbob,Bad,3,y\r\n`;
    const { users, rejections, summary } = await readAll(scratch.file('crlf.csv', text));
    expect(users.map((u) => [u.user, u.groups.map((g) => g.name), u.lines])).toEqual([
      ['alice', ['Family,\r\nand friends', 'Work'], [2, 4]],
      ['bob', ['multi\nline\nname'], [5]],
    ]);
    expect(rejections.map((r) => r.line)).toEqual([8]);
    expect(summary.headerForm).toBe('short');
  });

  it('keeps extra columns in rejections and marks a failures file', async () => {
    const text = csv(
      `${HEADER},error_code,error_message,line`,
      "'@x,'=G,2,,'@TGS#9,51011,too long,7",
      'y,G,1,,,,,',
    );
    const { users, rejections, summary } = await readAll(scratch.file('failures.csv', text));
    expect(summary.failuresFile).toBe(true);
    expect(users[0]).toMatchObject({
      user: '@x',
      groups: [{ name: '=G', conversations: [{ type: 2, id: '@TGS#9' }] }],
    });
    expect(rejections[0]).toMatchObject({
      rule: 'PEER_MISSING',
      record: ['y', 'G', '1', '', '', '', '', ''],
      header: [...HEADER.split(','), 'error_code', 'error_message', 'line'],
    });
  });
});

describe('readUsers: any order', () => {
  it('partitions ungrouped input and returns the same users as the grouped file', async () => {
    const rows = Array.from({ length: 600 }, (_, i) => {
      const user = `user_${i % 37}`;
      return i % 11 === 0 ? `${user},G${i % 5},2,,@TGS#${i % 13}` : `${user},G${i % 5},1,peer_${i % 17},`;
    });
    const shuffledPath = scratch.file('shuffled.csv', csv(HEADER, ...rows));
    const shuffled = await readAll(shuffledPath, { partitionBytes: 1000 });
    expect(shuffled.summary.grouped).toBe(false);
    expect(shuffled.summary.partitions).toBeGreaterThan(5);
    expect(shuffled.summary.users).toBe(37);
    // Counted during the scan only when grouped (for apply's progress total).
    expect(shuffled.summary.usersCounted).toBeUndefined();
    // Same rows sorted by user (stable), so lines differ: compare without lines.
    const sortedRows = [...rows].sort((a, b) => a.split(',')[0]!.localeCompare(b.split(',')[0]!));
    const sorted = await readAll(scratch.file('sorted.csv', csv(HEADER, ...sortedRows)));
    expect(sorted.summary.grouped).toBe(true);
    expect(sorted.summary.usersCounted).toBe(37);
    const withoutLines = (users: typeof sorted.users) =>
      plainUsers(users).map((u) => ({ ...(u as object), lines: undefined, lineOf: undefined }));
    expect(withoutLines(shuffled.users)).toEqual(withoutLines(sorted.users));
  });

  it('attributes a rejected row that comes after the user finished, even when grouped so far', async () => {
    const path = scratch.file(
      'late-reject.csv',
      csv(HEADER, 'alice,G,1,bob,', 'bob,G,1,alice,', 'alice,G,1,,'),
    );
    const { users, summary } = await readAll(path);
    expect(summary.grouped).toBe(false);
    expect(users.find((u) => u.user === 'alice')?.hasRejectedRows).toBe(true);
    expect(users.find((u) => u.user === 'bob')?.hasRejectedRows).toBe(false);
  });

  it('emits a user whose rows were all rejected, with no groups, so it is never taken as absent', async () => {
    const { users, summary } = await readAll(scratch.file('all-rejected.csv', csv(HEADER, 'zed,,1,bob,')));
    expect(summary.usersCounted).toBe(summary.users);
    expect(users).toEqual([
      expect.objectContaining({ user: 'zed', groups: [], lines: [], hasRejectedRows: true }),
    ]);
  });

  it('equals an in-memory model for random rows, orders and partition sizes', async () => {
    const users = [
      'alice',
      'bob',
      'Bob',
      'tab\tuser',
      'back\\slash',
      'émile',
      '用户',
      'x,y',
      'q"q',
      'new\nline',
      ' pad ',
    ];
    const groups = ['Family', 'Work', '群组', 'a,b', 'two\nlines', '😀'.repeat(16)];
    const peers = ['bob', 'x', '@TGS#1', 'a\\t'];
    const row = fc.record({
      user: fc.constantFrom(...users),
      group: fc.constantFrom(...groups),
      peer: fc.constantFrom(...peers),
      kind: fc.constantFrom('c2c', 'group', 'empty', 'badType', 'noUser', 'long', 'c2c', 'group'),
      spelling: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(row, { maxLength: 60 }),
        fc.boolean(),
        fc.constantFrom(16, 300, 1 << 20),
        async (specs, sortByUser, partitionBytes) => {
          const ordered = sortByUser
            ? [...specs].sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0))
            : specs;
          let text = `${HEADER}\n`;
          const expected = new Map<
            string,
            {
              groups: Map<string, Map<string, Conversation>>;
              lines: number[];
              lineOf: Map<string, number>;
              rejected: boolean;
            }
          >();
          const entry = (user: string) => {
            let e = expected.get(user);
            if (e === undefined) {
              e = { groups: new Map(), lines: [], lineOf: new Map(), rejected: false };
              expected.set(user, e);
            }
            return e;
          };
          for (const s of ordered) {
            const line = text.split('\n').length;
            const cells =
              s.kind === 'c2c'
                ? [s.user, s.group, s.spelling ? 'C2C' : '1', s.peer, '']
                : s.kind === 'group'
                  ? [s.user, s.group, s.spelling ? 'group' : '2', '', s.peer]
                  : s.kind === 'empty'
                    ? [s.user, s.group, '', '', '']
                    : s.kind === 'badType'
                      ? [s.user, s.group, '7', s.peer, '']
                      : s.kind === 'noUser'
                        ? ['', s.group, '1', s.peer, '']
                        : [s.user, 'é'.repeat(33), '1', s.peer, ''];
            text += `${csvLine(cells)}\n`;
            if (s.kind === 'noUser') continue;
            const e = entry(s.user.trim());
            if (s.kind === 'badType' || s.kind === 'long') {
              e.rejected = true;
              continue;
            }
            const conversation: Conversation | undefined =
              s.kind === 'empty' ? undefined : { type: s.kind === 'c2c' ? 1 : 2, id: s.peer };
            const members = e.groups.get(s.group) ?? new Map<string, Conversation>();
            e.groups.set(s.group, members);
            if (conversation !== undefined) members.set(conversationKey(conversation), conversation);
            e.lines.push(line);
            const key = membershipKey(s.group, conversation);
            if (!e.lineOf.has(key)) e.lineOf.set(key, line);
          }
          const path = scratch.file('property.csv', text);
          const result = await readAll(path, { partitionBytes });
          const model = [...expected.entries()].map(([user, e]) => ({
            user,
            groups: [...e.groups.keys()].sort().map((name) => ({
              name,
              conversations: [...e.groups.get(name)!.entries()]
                .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
                .map(([, c]) => ({ ...c })),
            })),
            lines: e.lines,
            hasRejectedRows: e.rejected,
            lineOf: [...e.lineOf.entries()].sort(([a], [b]) => (a < b ? -1 : 1)),
          }));
          model.sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));
          expect(plainUsers(result.users)).toEqual(model);
          expect(result.summary.rows).toBe(specs.length);
          expect(result.rejections.length).toBe(
            specs.filter((s) => ['badType', 'noUser', 'long'].includes(s.kind)).length,
          );
          if (sortByUser) expect(result.summary.grouped).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('readUsers: whole-file problems', () => {
  it('refuses invalid UTF-8 with its line, before emitting anything', async () => {
    const bytes = Buffer.concat([
      Buffer.from(`${HEADER}\nalice,G,1,bob,\nbob,`),
      Buffer.from([0xc3, 0x28]),
      Buffer.from(',1,x,\n'),
    ]);
    const path = scratch.file('latin1.csv', bytes);
    const seen: string[] = [];
    const error = await expectSyncError(
      (async () => {
        for await (const user of readUsers(path)) seen.push(user.user);
      })(),
      'INVALID_INPUT',
      /not UTF-8 text at line 3 \(byte \d+\)/,
    );
    expect((error as { context?: { line?: number } }).context?.line).toBe(3);
    expect(seen).toEqual([]);
  });

  it('refuses a UTF-16 file and binary data', async () => {
    await expectSyncError(
      scanInput(scratch.file('utf16.csv', Buffer.from(`\ufeff${HEADER}\n`, 'utf16le'))),
      'INVALID_INPUT',
      /UTF-16/,
    );
    await expectSyncError(
      scanInput(scratch.file('binary.csv', Buffer.from([1, 2, 0, 3, 10]))),
      'INVALID_INPUT',
      /NUL byte/,
    );
  });

  it.each([
    [
      'an unclosed quote',
      csv(HEADER, 'alice,G,1,bob,', 'alice,"open,1,bob,', 'x,y,1,z,'),
      /line 3: a quoted field starting here is never closed/,
    ],
    [
      'text after a closing quote',
      csv(HEADER, 'alice,G,1,bob,', 'alice,"multi', 'line"x,1,bob,'),
      /line 3: in the field starting here, a closing quote/,
    ],
    [
      'a quote inside an unquoted field',
      csv(HEADER, 'alice,G,1,bob,', 'alice,My "best" group,1,bob,'),
      /line 3: a quote inside an unquoted field/,
    ],
    [
      'a 10 MB field',
      csv(HEADER, 'alice,G,1,bob,', `alice,${'x'.repeat(10 * 1024 * 1024)},1,bob,`),
      /line 3: a row longer than 128000 characters/,
    ],
  ])('refuses %s with the line', async (_, text, pattern) => {
    await expectSyncError(scanInput(scratch.file('broken.csv', text)), 'INVALID_INPUT', pattern);
  });

  it('refuses an empty file, a missing header column and a missing file', async () => {
    await expectSyncError(scanInput(scratch.file('empty.csv', '')), 'INVALID_INPUT', /no header row/);
    await expectSyncError(scanInput(scratch.file('blank.csv', '\n\n')), 'INVALID_INPUT', /no header row/);
    await expectSyncError(
      scanInput(scratch.file('no-type.csv', csv('From_Account,GroupName,To_Account,ToGroupId', 'a,b,c,'))),
      'INVALID_INPUT',
      /missing column Type/,
    );
    await expectSyncError(scanInput(join(scratch.dir, 'nope.csv')), 'IO', /Cannot read/);
    await expectSyncError(scanInput(scratch.dir), 'IO', /not a regular file/);
    await expectSyncError(
      scanInput(scratch.file('ok.csv', csv(HEADER)), { tmpDir: join(scratch.dir, 'missing') }),
      'IO',
      /Cannot create a working directory in/,
    );
  });
});

describe('scanInput options', () => {
  const text = csv(HEADER, 'a,G,1,b,', 'a,,1,b,', 'b,G,7,c,', 'c,G,1,d,');

  it('strict: throws INVALID_ROW at the first rejection, after reporting it', async () => {
    const reported: number[] = [];
    const error = await expectSyncError(
      scanInput(scratch.file('strict.csv', text), { strict: true, onRejected: (r) => reported.push(r.line) }),
      'INVALID_ROW',
      /^Invalid row: line 3: GroupName is empty$/,
    );
    expect(reported).toEqual([3]);
    expect((error as { context?: object }).context).toEqual({ line: 3, user: 'a' });
  });

  it('maxInvalid: throws when more than N rows are rejected', async () => {
    await expect(
      scanInput(scratch.file('max1.csv', text), { maxInvalid: 2 }).then((s) => s.dispose()),
    ).resolves.toBeUndefined();
    await expectSyncError(
      scanInput(scratch.file('max2.csv', text), { maxInvalid: 1 }),
      'INVALID_INPUT',
      /More than 1 rows rejected \(the last at line 4\)/,
    );
  });

  it('validates options eagerly', async () => {
    await expectSyncError(scanInput('x.csv', { maxInvalid: -1 }), 'USAGE', /maxInvalid.*got `-1`/);
    await expectSyncError(scanInput('x.csv', { partitionBytes: 0 }), 'USAGE', /partitionBytes/);
  });

  it('signal: an abort stops the scan with INTERRUPTED', async () => {
    const controller = new AbortController();
    controller.abort();
    await expectSyncError(
      scanInput(scratch.file('abort.csv', text), { signal: controller.signal }),
      'INTERRUPTED',
      /interrupted/,
    );
  });

  it('signal: an abort during the scan stops it with INTERRUPTED', async () => {
    const controller = new AbortController();
    const rows = Array.from({ length: 5000 }, (_, i) => (i === 10 ? 'x,,1,y,' : `u${i},G,1,p,`));
    await expectSyncError(
      scanInput(scratch.file('abort-late.csv', csv(HEADER, ...rows)), {
        signal: controller.signal,
        onRejected: () => controller.abort(),
      }),
      'INTERRUPTED',
      /interrupted/,
    );
  });

  it('onRejected: an exception it throws ends the scan with that exception', async () => {
    const failing = scanInput(scratch.file('callback.csv', text), {
      onRejected: () => {
        throw new Error('failures file is full');
      },
    });
    await expect(failing).rejects.toThrow('failures file is full');
  });

  it('onScanned: the path form scans first and hands over the scan', async () => {
    let rows = -1;
    const users = await readAllByPath(scratch.file('onscanned.csv', text), {
      onScanned: (scan) => {
        rows = scan.summary.rows;
      },
    });
    expect(rows).toBe(4);
    expect(users.map((u) => u.user)).toEqual(['a', 'b', 'c']);
  });
});

describe('working files', () => {
  const tmp = join(scratch.dir, 'work');
  mkdirSync(tmp, { recursive: true });
  const shuffled = csv(HEADER, 'a,G,1,b,', 'b,G,1,c,', 'a,H,1,b,', 'c,G,1,d,');
  const grouped = csv(HEADER, 'a,G,1,b,', 'b,G,1,c,');

  it.each([
    ['grouped', grouped],
    ['partitioned', shuffled],
  ])('%s: removed after a full read, an early break, a consumer error, and on dispose', async (_, text) => {
    const path = scratch.file('work.csv', text);
    const full = await scanInput(path, { tmpDir: tmp });
    expect(readdirSync(tmp)).toHaveLength(1);
    for await (const _user of full.users()) {
      // read all
    }
    expect(readdirSync(tmp)).toEqual([]);

    const early = await scanInput(path, { tmpDir: tmp });
    for await (const _user of early.users()) break;
    expect(readdirSync(tmp)).toEqual([]);

    const failing = await scanInput(path, { tmpDir: tmp });
    await expect(
      (async () => {
        for await (const _user of failing.users()) throw new Error('consumer failed');
      })(),
    ).rejects.toThrow('consumer failed');
    expect(readdirSync(tmp)).toEqual([]);

    const unused = await scanInput(path, { tmpDir: tmp });
    await unused.dispose();
    expect(readdirSync(tmp)).toEqual([]);
    expect(() => unused.users()).toThrow(/single use/);
  });

  it('removed when the scan fails', async () => {
    await expect(
      scanInput(scratch.file('fail.csv', csv(HEADER, '"open')), { tmpDir: tmp }),
    ).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('removed by the exit hook when still there', async () => {
    const scan = await scanInput(scratch.file('exit.csv', shuffled), { tmpDir: tmp });
    const dir = liveWorkDirs().find((d) => d.startsWith(tmp))!;
    expect(existsSync(dir)).toBe(true);
    const hook = process.listeners('exit').find((listener) => listener.name === 'removeAllSync');
    expect(hook).toBeDefined();
    (hook as () => void)();
    expect(existsSync(dir)).toBe(false);
    expect(liveWorkDirs()).not.toContain(dir);
    await scan.dispose();
  });
});
