import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { AWKWARD_STATE } from '../helpers/awkward-state.js';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { expectedState } from '../helpers/expected-state.js';
import { memoryIo } from '../helpers/io.js';

/**
 * `apply --mode mirror --backup FILE`: what each delete and removal takes away is appended to FILE
 * before its call; `apply FILE --mode merge` puts the app back exactly as it was before the night.
 */

/** Quotes, commas, line breaks, CJK, group IDs, an empty group, a group of 150. */
const SEED = AWKWARD_STATE;

/** The night's input: a subset of the app, so the night only removes (two groups deleted, 151 removals). */
const NIGHT = [
  'From_Account,GroupName,Type,To_Account,ToGroupId',
  'alice,Family,1,bob,',
  'bob,家族,1,alice,',
  ...Array.from({ length: 10 }, (_, i) => `bob,Big,1,peer-${i},`),
  '=SUM(1),-minus,,,',
  '',
].join('\n');

const HEADER = 'From_Account,GroupName,Type,To_Account,ToGroupId';

let dir: string;
let a: TestEmulator;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cgsync-backup-'));
  a = await startTestEmulator({ pageSize: 7 });
  a.emulator.store.load(SEED);
  await writeFile(join(dir, 'night.csv'), NIGHT);
});
afterEach(async () => {
  await a.close();
  await rm(dir, { recursive: true, force: true });
});

async function cli(args: string[]) {
  const io = memoryIo(a.env, dir);
  const code = await runCli(args, io);
  return { code, out: io.out(), err: io.err() };
}

const mirror = (backup: string, checkpoint = 'night.ndjson') =>
  cli([
    'apply',
    'night.csv',
    '--mode',
    'mirror',
    '--max-delete',
    '100%',
    '--checkpoint',
    checkpoint,
    '--backup',
    backup,
  ]);

const restore = (backup: string, checkpoint = 'restore.ndjson') =>
  cli(['apply', backup, '--mode', 'merge', '--checkpoint', checkpoint, '--json']);

describe('apply --backup', () => {
  it('a mirror night backed up, then the backup merged back: the exact previous state', async () => {
    const before = a.state();
    await mkdir(join(dir, 'backups'));
    const night = await mirror('backups/night.csv');
    expect(night.code, night.err).toBe(0);
    expect(a.state()).toEqual(expectedState(join(dir, 'night.csv')));

    const text = await readFile(join(dir, 'backups/night.csv'), 'utf8');
    expect(text.split('\n')[0]).toBe(HEADER);
    expect((await stat(join(dir, 'backups/night.csv'))).mode & 0o777).toBe(0o600);
    // Deletes: the group with what it held (quoted as RFC 4180, no spreadsheet escape); the empty group.
    expect(text).toContain('alice,"Work, ""Q1""\nteam",1,"o\'brien,jr",\n');
    expect(text).toContain('alice,Empty,,,\n');
    expect(text).toContain('alice,Family,2,,@TGS#1B2AUI7RZ\n');
    expect(text).toContain('=SUM(1),-minus,1,+plus,\n');
    expect(text).toContain('bob,Big,1,peer-149,\n');
    expect(text).not.toContain('bob,Big,1,peer-9,\n');
    expect(text.trimEnd().split('\n').length - 1).toBeGreaterThanOrEqual(1 + 140 + 1 + 1 + 1 + 1);

    // The checkpoint records what each delete removed.
    const records = (await readFile(join(dir, 'night.ndjson'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const deletes = records.filter((r) => r.type === 'op' && r.kind === 'delete');
    expect(deletes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ group: 'Empty', outcome: 'ok', removed: [] }),
        expect.objectContaining({ group: 'Work, "Q1"\nteam', outcome: 'ok', removed: ["1:o'brien,jr"] }),
      ]),
    );

    const back = await restore('backups/night.csv');
    expect(back.code, back.err).toBe(0);
    expect(a.state()).toEqual(before);
    expect(JSON.parse(back.out).rows.rejected).toBe(0);
    // The README's check after a roll-back.
    const check = await cli(['verify', 'backups/night.csv', '--mode', 'merge']);
    expect(check.code, check.err).toBe(0);
  });

  it('appends to an earlier backup of a resumed run: a torn last line is cut, duplicate rows restore once', async () => {
    const before = a.state();
    // As a run killed after appending (the deletion's rows fsync'd, its call never sent) leaves it,
    // plus a row cut short by the kill (never fsync'd).
    await writeFile(
      join(dir, 'b.csv'),
      `${HEADER}\nalice,Empty,,,\nalice,"Work, ""Q1""\nteam",1,"o'brien,jr",\nbob,Bi`,
    );
    const night = await mirror('b.csv');
    expect(night.code, night.err).toBe(0);
    const text = await readFile(join(dir, 'b.csv'), 'utf8');
    expect(text.startsWith(`${HEADER}\nalice,Empty,,,\nalice,"Work`)).toBe(true);
    expect(text).not.toContain('bob,Bi\n');
    expect(text).not.toMatch(/bob,Bibob/);
    expect(text.match(/^alice,Empty,,,$/gm)).toHaveLength(2);
    const back = await restore('b.csv');
    expect(back.code, back.err).toBe(0);
    expect(JSON.parse(back.out).rows.rejected).toBe(0);
    expect(a.state()).toEqual(before);
  });

  it('refuses a file that is not a backup, merge mode, and a path another flag names: no call', async () => {
    await writeFile(join(dir, 'other.csv'), 'user,group,type,peer\nx,y,1,z\n');
    const calls = a.totalAccepted();
    const other = await mirror('other.csv');
    expect(other.code).toBe(1);
    expect(other.err).toContain('is not a cgsync backup');
    expect(await readFile(join(dir, 'other.csv'), 'utf8')).toBe('user,group,type,peer\nx,y,1,z\n');

    const merge = await cli(['apply', 'night.csv', '--checkpoint', 'm.ndjson', '--backup', 'm.csv']);
    expect(merge.code).toBe(1);
    expect(merge.err).toContain('--backup is for --mode mirror');

    const input = await mirror('./night.csv', 'c1.ndjson');
    expect(input.code).toBe(1);
    expect(input.err).toContain('the input and --backup name the same file');
    const checkpoint = await mirror('c2.ndjson', 'c2.ndjson');
    expect(checkpoint.code).toBe(1);
    expect(checkpoint.err).toContain('--checkpoint and --backup name the same file');
    expect(a.totalAccepted()).toBe(calls);
  });

  it('a backup that cannot be written: nothing is removed, no call', async () => {
    const calls = a.totalAccepted();
    const r = await mirror('missing-dir/night.csv');
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('cannot write the backup file');
    expect(a.totalAccepted()).toBe(calls);
  });
});
