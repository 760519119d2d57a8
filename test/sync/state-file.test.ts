import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSyncError } from '../../src/errors.js';
import { compareUserOrder, userOrderKey } from '../../src/reader/index.js';
import {
  openStateFile,
  StateFileWriter,
  type StateIdentity,
  type StateRecord,
} from '../../src/sync/state-file.js';
import { tempDir } from '../faults/fixtures.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir('state-file');
});
afterAll(async () => {
  await dir?.remove();
});

const identity: StateIdentity = { mode: 'mirror', shard: null };
const digest = (i: number): string => i.toString(16).padStart(64, '0');

function records(users: readonly string[]): StateRecord[] {
  return [...users].sort(compareUserOrder).map((user, i) => ({
    user,
    key: userOrderKey(user),
    digest: digest(i + 1),
    memberships: i * 3,
    groups: i % 4,
  }));
}

async function write(path: string, list: readonly StateRecord[]): Promise<void> {
  const out = await StateFileWriter.create(path, identity);
  for (const r of list) await out.write(r);
  await out.commit();
}

async function readAll(path: string, expect = identity): Promise<StateRecord[]> {
  const source = await openStateFile(path, expect);
  const all: StateRecord[] = [];
  for await (const r of source.records()) all.push(r);
  return all;
}

async function refusal(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    expect(isSyncError(err, 'CHECKPOINT')).toBe(true);
    return err as Error;
  }
  throw new Error('expected a CHECKPOINT error');
}

describe('the --state file, version 2', () => {
  it('that cannot be read (a directory at its path) is an IO error with the system reason', async () => {
    const path = join(dir.path, 'a-directory');
    await mkdir(path);
    const err = await openStateFile(path, identity).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isSyncError(err, 'IO')).toBe(true);
    expect((err as Error).message).toBe(`state file ${path} cannot be read: EISDIR`);
  });

  it('round-trips, users with tabs, newlines and backslashes included, in canonical order', async () => {
    const path = join(dir.path, 'round.state');
    const list = records(['alice', 'bob', 'tab\there', 'new\nline', 'back\\slash', 'émile', '李']);
    await write(path, list);
    expect(await readAll(path)).toEqual(list);
    const text = await readFile(path, 'utf8');
    const lines = text.trimEnd().split('\n');
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ format: 'cgsync-state', version: 2, mode: 'mirror' });
    expect(lines).toHaveLength(list.length + 2);
    expect(JSON.parse(lines.at(-1) ?? '')).toEqual({ users: list.length });
  });

  it('is written 0600 under a temporary name: a write cut short leaves the previous file as it was', async () => {
    const path = join(dir.path, 'crash.state');
    await write(path, records(['a', 'b']));
    const before = await readFile(path, 'utf8');
    // The process dies mid-write: records written, never committed.
    const cut = await StateFileWriter.create(path, identity);
    for (const r of records(['a', 'b', 'c', 'd'])) await cut.write(r);
    expect(await readFile(path, 'utf8')).toBe(before);
    expect((await readdir(dir.path)).filter((f) => f.startsWith('.crash.state.'))).toHaveLength(1);
    await cut.abort();
    // A write that fails (a record out of order) removes its temporary file and keeps the old one.
    const bad = await StateFileWriter.create(path, identity);
    const [x, y] = records(['x', 'y']) as [StateRecord, StateRecord];
    await bad.write(y);
    await expect(bad.write(x)).rejects.toThrow(/out of order/);
    await bad.abort();
    expect(await readFile(path, 'utf8')).toBe(before);
    expect((await readdir(dir.path)).filter((f) => f.startsWith('.crash.state.'))).toEqual([]);
    await write(path, records(['c']));
    const { stat } = await import('node:fs/promises');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await readAll(path)).map((r) => r.user)).toEqual(['c']);
  });

  it('refuses a damaged line, naming the file and the line', async () => {
    const path = join(dir.path, 'damaged.state');
    await write(path, records(['a', 'b', 'c']));
    const lines = (await readFile(path, 'utf8')).split('\n');
    const cases: [string, string[], RegExp][] = [
      [
        'a missing field',
        lines.map((l, i) => (i === 2 ? l.split('\t').slice(0, 3).join('\t') : l)),
        /line 3: expected 4 fields/,
      ],
      [
        'a bad count',
        lines.map((l, i) => (i === 3 ? l.replace(/\t\d+\t(\d+)$/, '\tx\t$1') : l)),
        /line 4: memberships is not a count/,
      ],
      [
        'lines swapped',
        [lines[0]!, lines[2]!, lines[1]!, ...lines.slice(3)],
        /line 3: user "\w" is out of order/,
      ],
      ['cut short', lines.slice(0, 3), /line 4: the file ends without its end line/],
      // The digest: 8 to 128 lower-case hex digits; a count: 1 to 9 decimal digits.
      ...(
        [
          [
            'an upper-case digest',
            (f: string[]) => [f[0], `${f[1]!.slice(0, -1)}A`, f[2], f[3]],
            /digest is not hex/,
          ],
          ['a 7-digit digest', (f: string[]) => [f[0], 'abcdef0', f[2], f[3]], /digest is not hex/],
          ['a 129-digit digest', (f: string[]) => [f[0], 'a'.repeat(129), f[2], f[3]], /digest is not hex/],
          [
            'a digest with a g',
            (f: string[]) => [f[0], `${'0'.repeat(63)}g`, f[2], f[3]],
            /digest is not hex/,
          ],
          ['an empty count', (f: string[]) => [f[0], f[1], '', f[3]], /memberships is not a count/],
          ['a 10-digit count', (f: string[]) => [f[0], f[1], f[2], '1234567890'], /groups is not a count/],
          ['a negative count', (f: string[]) => [f[0], f[1], '-1', f[3]], /memberships is not a count/],
          ['a count with a dot', (f: string[]) => [f[0], f[1], f[2], '1.5'], /groups is not a count/],
          ['a count with a space', (f: string[]) => [f[0], f[1], ' 1', f[3]], /memberships is not a count/],
        ] as const
      ).map(
        ([what, edit, message]) =>
          [
            what,
            lines.map((l, i) => (i === 2 ? edit(l.split('\t')).join('\t') : l)),
            new RegExp(`line 3: .*${message.source}`),
          ] as [string, string[], RegExp],
      ),
      ['a wrong end count', [...lines.slice(0, 4), '{"users":7}', ''], /line 5: the end line says/],
    ];
    for (const [what, text, message] of cases) {
      await writeFile(path, text.join('\n'));
      const err = await refusal(readAll(path));
      expect(err.message, what).toMatch(message);
      expect(err.message, what).toContain(path);
    }
  });

  it('gives the records before a damaged line, then its error (a batch read at once is not lost)', async () => {
    const path = join(dir.path, 'late-damage.state');
    await write(path, records(['a', 'b', 'c', 'd']));
    const lines = (await readFile(path, 'utf8')).split('\n');
    await writeFile(path, lines.map((l, i) => (i === 3 ? 'not a record' : l)).join('\n'));
    const source = await openStateFile(path, identity);
    const seen: string[] = [];
    const err = await refusal(
      (async () => {
        for await (const r of source.records()) seen.push(r.user);
      })(),
    );
    expect(err.message).toMatch(/line 4: not a record/);
    expect(seen).toEqual(
      records(['a', 'b', 'c', 'd'])
        .map((r) => r.user)
        .slice(0, 2),
    );
    // Past several batches of records (64 each): every record before line 150, in order, then the error.
    const many = records(Array.from({ length: 300 }, (_, i) => `u${i}`));
    await write(path, many);
    const text = (await readFile(path, 'utf8')).split('\n');
    await writeFile(path, text.map((l, i) => (i === 149 ? 'not a record' : l)).join('\n'));
    const all: string[] = [];
    const late = await refusal(
      (async () => {
        for await (const r of (await openStateFile(path, identity)).records()) all.push(r.user);
      })(),
    );
    expect(late.message).toMatch(/line 150: not a record/);
    expect(all).toEqual(many.slice(0, 148).map((r) => r.user));
    // Undamaged, all 300 come out.
    await write(path, many);
    expect(await readAll(path)).toEqual(many);
  });

  it('reads the widest digests and counts it accepts: 8 and 128 hex digits, 0 and 999999999', async () => {
    const path = join(dir.path, 'widths.state');
    const list = records(['a', 'b']).map((r, i) => ({
      ...r,
      digest: i === 0 ? '0123abcd' : 'f'.repeat(128),
      memberships: i === 0 ? 0 : 999_999_999,
      groups: i === 0 ? 999_999_999 : 0,
    }));
    await write(path, list);
    expect(await readAll(path)).toEqual(list);
  });

  it('refuses another shard, and reads nothing of another mode', async () => {
    const path = join(dir.path, 'shard.state');
    await write(path, records(['a']));
    expect((await refusal(readAll(path, { mode: 'mirror', shard: '0/2' }))).message).toMatch(/shard none/);
    expect(await readAll(path, { mode: 'merge', shard: null })).toEqual([]);
    expect(await readAll(join(dir.path, 'missing.state'))).toEqual([]);
  });
});

describe('a version 1 state file (one JSON object)', () => {
  it('is read and converted: the users in canonical order, their counts unknown', async () => {
    const path = join(dir.path, 'v1.json');
    const users = { zed: digest(1), alice: digest(2), bob: digest(3) };
    await writeFile(
      path,
      `${JSON.stringify({ format: 'cgsync-state', version: 1, mode: 'mirror', shard: null, users })}\n`,
    );
    const source = await openStateFile(path, identity);
    expect(source.version).toBe(1);
    const all = await readAll(path);
    expect(all.map((r) => r.user)).toEqual(['zed', 'alice', 'bob'].sort(compareUserOrder));
    expect(all.find((r) => r.user === 'zed')).toMatchObject({ digest: digest(1), memberships: undefined });
  });

  it('that is broken is refused with how to start afresh', async () => {
    const path = join(dir.path, 'v1-broken.json');
    await writeFile(path, '{"format":"cgsync-state","version":1,"users":{');
    expect((await refusal(readAll(path))).message).toMatch(/line 1|delete it to start afresh/);
  });
});
