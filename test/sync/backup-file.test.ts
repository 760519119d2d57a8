import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRecord } from '../../src/executor/log/checkpoint-records.js';
import { BackupFile, backupRows } from '../../src/sync/backup-file.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cgsync-backup-file-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const HEADER = 'From_Account,GroupName,Type,To_Account,ToGroupId\n';

describe('backupRows', () => {
  it('a delete: its group with what it held, or the empty-group row; an update: its removals only', () => {
    expect(
      backupRows({
        id: 'a',
        kind: 'delete',
        user: 'u',
        group: 'g,1',
        held: [
          { type: 1, id: 'bob' },
          { type: 2, id: '@TGS#x' },
        ],
      }),
    ).toEqual(['u,"g,1",1,bob,', 'u,"g,1",2,,@TGS#x']);
    expect(backupRows({ id: 'b', kind: 'delete', user: 'u', group: 'g' })).toEqual(['u,g,,,']);
    expect(
      backupRows({
        id: 'c',
        kind: 'update',
        user: 'u',
        group: 'g',
        add: [{ type: 1, id: 'new' }],
        remove: [{ type: 1, id: '=old' }],
      }),
    ).toEqual(['u,g,1,=old,']);
    expect(backupRows({ id: 'd', kind: 'create', user: 'u', group: 'g', add: [] })).toEqual([]);
  });
});

describe('BackupFile', () => {
  it('concurrent appends all land, each op whole, after one header; created 0600', async () => {
    const path = join(dir, 'many.csv');
    const file = await BackupFile.open(path);
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        file.append({
          id: String(i),
          kind: 'update',
          user: `u${i}`,
          group: 'g',
          add: [],
          remove: [
            { type: 1, id: `a${i}` },
            { type: 1, id: `b${i}` },
          ],
        }),
      ),
    );
    await file.close();
    expect(file.rows).toBe(400);
    const lines = (await readFile(path, 'utf8')).split('\n');
    expect(lines[0]).toBe(HEADER.trim());
    expect(lines).toHaveLength(402);
    for (let i = 0; i < 200; i++) {
      const at = lines.indexOf(`u${i},g,1,a${i},`);
      expect(lines[at + 1]).toBe(`u${i},g,1,b${i},`);
    }
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('appends to an existing backup; a torn last line is cut; a file of another kind is refused', async () => {
    const path = join(dir, 'old.csv');
    await writeFile(path, `${HEADER}u,g,,,\nu,h,1,bo`);
    await BackupFile.check(path);
    const file = await BackupFile.open(path);
    await file.append({ id: 'x', kind: 'delete', user: 'v', group: 'k' });
    await file.close();
    expect(await readFile(path, 'utf8')).toBe(`${HEADER}u,g,,,\nv,k,,,\n`);

    const other = join(dir, 'other.csv');
    await writeFile(other, 'user,group\n');
    await expect(BackupFile.check(other)).rejects.toThrow(/is not a cgsync backup/);
    await expect(BackupFile.open(other)).rejects.toThrow(/is not a cgsync backup/);
    expect(await readFile(other, 'utf8')).toBe('user,group\n');
    await expect(BackupFile.check(join(dir, 'nope', 'x.csv'))).rejects.toThrow(
      /cannot write the backup file/,
    );
  });
});

describe('checkpoint op records', () => {
  it('keep what a delete removed; records without it (older checkpoints) still load', () => {
    const base = { type: 'op', id: 'i', user: 'u', kind: 'delete', group: 'g', outcome: 'ok' };
    expect(parseRecord(base)).toEqual(base);
    expect(parseRecord({ ...base, removed: ['1:bob'] })).toEqual({ ...base, removed: ['1:bob'] });
    expect(parseRecord({ ...base, removed: [1] })).toBeUndefined();
    expect(parseRecord({ ...base, removed: '1:bob' })).toBeUndefined();
  });
});
