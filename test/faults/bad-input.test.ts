import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { mulberry32 } from '../../src/emulator/index.js';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { expectedState } from '../helpers/expected-state.js';
import { memoryIo } from '../helpers/io.js';
import { killAllCli, runCliProcess } from '../helpers/spawn-cli.js';
import { CANONICAL_HEADER, tempDir } from './fixtures.js';

/**
 * A corpus of broken inputs. Whole-file problems stop the run before the first call (exit 1, an
 * error naming the line), even when the problem sits after thousands of good rows: the reader scans
 * the whole file before any user is emitted. Row problems reject the row alone (its line in the
 * failures file), the rest is applied (exit 4), and nothing of a rejected row reaches the service.
 */
const GOOD_ROWS = 3000;
const WRITES = ['create_contact_group', 'update_contact_group', 'del_contact_group'] as const;

function goodRows(n = GOOD_ROWS): string {
  let s = '';
  for (let i = 0; i < n; i++) s += `g${String(Math.floor(i / 3)).padStart(5, '0')},Family,1,peer${i},\n`;
  return s;
}

/** The physical line the next row of `text` starts on. */
function nextLine(text: string): number {
  return text.split('\n').length;
}

const head = `${CANONICAL_HEADER}\n${goodRows()}`;
const at = nextLine(head); // the first line after the good rows

interface WholeFileCase {
  readonly name: string;
  readonly content: () => string | Buffer;
  readonly message: RegExp;
}

const wholeFile: readonly WholeFileCase[] = [
  {
    name: 'truncated mid-quoted-field',
    content: () => `${head}zz,"Friends, cl`,
    message: new RegExp(`line ${at}: a quoted field starting here is never closed`),
  },
  {
    name: 'binary garbage',
    content: () => {
      const random = mulberry32(99);
      return Buffer.from(Array.from({ length: 64 * 1024 }, () => Math.floor(random() * 256)));
    },
    message: /not UTF-8 text at line 1\b.*(binary|UTF-8)/,
  },
  {
    name: 'a 10 MB single quoted field',
    content: () => `${head}zz,"${'x'.repeat(10 * 1024 * 1024)}",1,p,\n`,
    message: new RegExp(`line ${at}: a row longer than 128000 characters`),
  },
  {
    name: 'a 10 MB single unquoted field',
    content: () => `${head}zz,Family,1,${'y'.repeat(10 * 1024 * 1024)},\n`,
    message: new RegExp(`line ${at}: a row longer than 128000 characters`),
  },
  {
    name: 'invalid UTF-8',
    content: () =>
      Buffer.concat([Buffer.from(`${head}zz,Fam`), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from(',1,p,\n')]),
    message: new RegExp(`not UTF-8 text at line ${at}\\b.*invalid UTF-8`),
  },
  {
    name: 'a header without required columns',
    content: () => `From_Account,Type,To_Account\n${'a,1,b\n'.repeat(100)}`,
    message: /Invalid header \(line 1\): missing columns GroupName, ToGroupId/,
  },
  {
    name: 'an empty file',
    content: () => '',
    message: /no header row \(the file is empty\)/,
  },
];

describe('bad input corpus', () => {
  let t: TestEmulator;
  let dir: Awaited<ReturnType<typeof tempDir>>;

  beforeAll(async () => {
    dir = await tempDir('bad-input');
    t = await startTestEmulator({ rateLimit: 2000 });
  });
  afterAll(async () => {
    await killAllCli();
    await t?.close();
    await dir?.remove();
  });

  it.each(wholeFile)(
    '$name: exit 1 naming the line, not a single call',
    async ({ name, content, message }) => {
      t.emulator.reset();
      const file = `${name.replaceAll(' ', '-')}.csv`;
      await writeFile(join(dir.path, file), content());
      const commands = [
        ['plan', file],
        ['apply', file, '--checkpoint', `${file}.ndjson`, '--failures', `${file}.failures.csv`],
      ];
      for (const args of commands) {
        const io = memoryIo(t.env, dir.path);
        const code = await runCli(args, io);
        expect(code, `${args[0]}: ${io.err()}`).toBe(1);
        expect(io.err()).toMatch(message);
        expect(io.err().length, 'a clear error is short, not a dump of the input').toBeLessThan(2000);
      }
      expect(t.totalAccepted()).toBe(0);
      // No checkpoint was started, so the fixed file can be applied with the same command.
      expect(existsSync(join(dir.path, `${file}.ndjson`))).toBe(false);
    },
  );

  it('the real process: garbage input exits 1 with the error on stderr and nothing on stdout', async () => {
    t.emulator.reset();
    await writeFile(join(dir.path, 'garbage-child.csv'), Buffer.from([0x00, 0xff, 0x13, 0x37, 0x0a, 0x00]));
    const exit = await runCliProcess(['apply', 'garbage-child.csv', '--checkpoint', 'garbage-child.ndjson'], {
      env: t.env,
      cwd: dir.path,
    });
    expect(exit.code).toBe(1);
    expect(exit.stderr).toMatch(/^error: Input is not UTF-8 text at line 1/m);
    expect(exit.stdout).toBe('');
    expect(t.totalAccepted()).toBe(0);
  });

  it('mismatched column counts: the rows are rejected alone with their lines (exit 4); no write for them', async () => {
    t.emulator.reset();
    const rows = [
      CANONICAL_HEADER,
      'alice,Family,1,bob,', // 2
      'alice,Family,1,carol', // 3: 4 columns
      'alice,Work,2,,@TGS#1,extra', // 4: 6 columns
      'dave,Family,1,erin', // 5: dave's only row, 4 columns
      'frank,Gym,1,gina,', // 6
      '"mallory, with ""quotes""",Family,1,x,,,', // 7: 7 columns
      'frank,Gym,2,,@TGS#2', // 8
    ];
    await writeFile(join(dir.path, 'columns.csv'), `${rows.join('\n')}\n`);
    const io = memoryIo(t.env, dir.path);
    const code = await runCli(
      [
        'apply',
        'columns.csv',
        '--checkpoint',
        'columns.ndjson',
        '--failures',
        'columns.failures.csv',
        '--json',
      ],
      io,
    );
    expect(code, io.err()).toBe(4);
    expect(JSON.parse(io.out()).rows).toEqual({ total: 7, rejected: 4 });
    const failures = (await readFile(join(dir.path, 'columns.failures.csv'), 'utf8')).trim().split(/\r?\n/);
    expect(failures.slice(1).map((r) => r.split(',').at(-1))).toEqual(['3', '4', '5', '7']);
    for (const r of failures.slice(1)) expect(r).toContain('COLUMN_COUNT');
    // Only the understood rows were written.
    expect(t.state()).toEqual({
      alice: { Family: ['1:bob'] },
      frank: { Gym: ['1:gina', '2:@TGS#2'] },
    });
    expect(t.state()).toEqual(expectedState(join(dir.path, 'columns.csv')));
    const endpoints = t.emulator.stats().endpoints;
    expect(WRITES.reduce((n, e) => n + endpoints[e].accepted, 0)).toBe(2);
  });
});
