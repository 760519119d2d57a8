import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FailedItem } from '../../src/executor/run-apply.js';
import type { Membership } from '../../src/model.js';
import { isRejection, RowValidator } from '../../src/reader/index.js';
import { escapeFormula, FailuresWriter, formatRow, quoteCell } from '../../src/sync/failures-file.js';
import { conv, tempDir } from '../executor/helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  await cleanup();
});

const item = (over: Partial<FailedItem>): FailedItem => ({
  user: 'alice',
  group: 'work',
  conversation: conv('1:bob'),
  action: 'add',
  errorCode: 51007,
  message: 'item refused',
  opId: 'op1',
  ...over,
});

/** Reads a CSV file back the way cgsync does: csv-parse records through the reader's row rules. */
async function readBack(path: string): Promise<{ header: readonly string[]; rows: (Membership | string)[] }> {
  const records: string[][] = parse(await readFile(path, 'utf8'), { bom: true, relax_column_count: true });
  const validator = new RowValidator();
  const rows: (Membership | string)[] = [];
  for (const record of records) {
    const outcome = validator.accept(record);
    if (outcome === 'header' || outcome === 'blank') continue;
    rows.push(isRejection(outcome) ? `rejected: ${outcome.rule}` : outcome);
  }
  return { header: validator.header, rows };
}

describe('cell escaping and quoting', () => {
  it('prefixes cells a spreadsheet would run as a formula', () => {
    for (const v of ['=1+1', '+86123', '-archive', '@SUM(A1)', '\tx', '\rx'])
      expect(escapeFormula(v)).toBe(`'${v}`);
    for (const v of ['plain', '', "'quoted", ' =spaced', '1=1']) expect(escapeFormula(v)).toBe(v);
  });

  it('quotes per RFC 4180', () => {
    expect(quoteCell('a,b')).toBe('"a,b"');
    expect(quoteCell('say "hi"')).toBe('"say ""hi"""');
    expect(quoteCell('two\nlines')).toBe('"two\nlines"');
    expect(quoteCell('cr\rhere')).toBe('"cr\rhere"');
    expect(quoteCell('plain')).toBe('plain');
    expect(formatRow(['=x', 'a,b', ''])).toBe(`'=x,"a,b",\r\n`);
  });
});

describe('FailuresWriter', () => {
  it('writes the input columns plus error_code,error_message,line for rejected rows and failed adds', async () => {
    const path = join(dir, 'failures.csv');
    const w = FailuresWriter.create(path, [
      'From_Account',
      'GroupName',
      'Type',
      'To_Account',
      'ToGroupId',
      'note',
    ]);
    w.writeRejected({
      line: 3,
      rule: 'TYPE_INVALID',
      message: 'line 3: Type must be 1 or 2, got "3"',
      record: ['bob', 'g', '3', 'x', '', 'n'],
    });
    w.writeFailed(item({ line: 7 }));
    w.writeFailed(item({ conversation: conv('2:@TGS#1'), errorCode: 'TIMEOUT', message: 'no answer' }));
    const { conversation: _c, ...noConversation } = item({});
    w.writeFailed({
      ...noConversation,
      group: 'empty',
      action: 'create',
      errorCode: 51010,
      message: 'too many groups',
      line: 9,
    });
    w.writeFailed({ ...noConversation, action: 'create', group: 'g2' });
    w.writeFailed(item({ action: 'remove' }));
    w.writeFailed(item({ action: 'delete', group: 'old' }));
    await w.close();
    expect(w.rows).toBe(5);
    expect(await readFile(path, 'utf8')).toBe(
      [
        'From_Account,GroupName,Type,To_Account,ToGroupId,note,error_code,error_message,line',
        'bob,g,3,x,,n,TYPE_INVALID,"line 3: Type must be 1 or 2, got ""3""",3',
        'alice,work,1,bob,,,51007,item refused,7',
        // Group IDs start with @: escaped like any formula-looking cell, and unescaped by the reader.
        "alice,work,2,,'@TGS#1,,TIMEOUT,no answer,",
        'alice,empty,,,,,51010,too many groups,9',
        'alice,g2,,,,,51007,item refused,',
        '',
      ].join('\r\n'),
    );
  });

  it('fills the short header form', async () => {
    const path = join(dir, 'failures.csv');
    const w = FailuresWriter.create(path, ['user', 'group', 'type', 'peer']);
    w.writeFailed(item({ conversation: conv('2:@g') }));
    await w.close();
    expect(await readFile(path, 'utf8')).toBe(
      "user,group,type,peer,error_code,error_message,line\r\nalice,work,2,'@g,51007,item refused,\r\n",
    );
  });

  it('does not repeat the failure columns when the input was itself a failures file', async () => {
    const path = join(dir, 'failures.csv');
    const header = ['user', 'group', 'type', 'peer', 'error_code', 'error_message', 'line'];
    const w = FailuresWriter.create(path, header);
    w.writeRejected({
      line: 2,
      rule: 'PEER_MISSING',
      message: 'no peer',
      record: ['bob', 'g', '1', '', '51007', 'old', '4'],
    });
    w.writeFailed(item({ line: 3 }));
    await w.close();
    expect(await readFile(path, 'utf8')).toBe(
      'user,group,type,peer,error_code,error_message,line\r\nbob,g,1,,PEER_MISSING,no peer,2\r\nalice,work,1,bob,51007,item refused,3\r\n',
    );
  });

  it('is a valid cgsync input again: the same memberships come back, escapes and quotes undone', async () => {
    const cell = fc
      .array(fc.constantFrom('a', 'Z', '9', '=', '+', '-', '@', ',', '"', ' ', '\n', "'", '#', 'é'), {
        minLength: 1,
        maxLength: 12,
      })
      .map((chars) => chars.join('').trim())
      .filter((s) => s.length > 0 && !/^'[=+\-@]/.test(s));
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ user: cell, group: cell, type: fc.constantFrom<1 | 2>(1, 2), id: cell }), {
          minLength: 1,
          maxLength: 8,
        }),
        async (rows) => {
          const path = join(dir, `f${n++}.csv`);
          const w = FailuresWriter.create(path);
          for (const r of rows)
            w.writeFailed(item({ user: r.user, group: r.group, conversation: { type: r.type, id: r.id } }));
          await w.close();
          const back = await readBack(path);
          expect(back.rows).toEqual(
            rows.map((r) => ({
              user: r.user,
              group: r.group,
              conversation: { type: r.type, id: r.id },
              line: expect.any(Number),
            })),
          );
        },
      ),
      { numRuns: 100 },
    );
  });

  it('reports a file it cannot write as an IO error', async () => {
    const w = FailuresWriter.create(join(dir, 'missing', 'failures.csv'));
    w.writeFailed(item({}));
    await expect(w.close()).rejects.toMatchObject({
      code: 'IO',
      message: expect.stringMatching(/cannot write failures file .*ENOENT/),
    });
  });
});
