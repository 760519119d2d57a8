import { setMaxListeners } from 'node:events';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { SyncError } from '../../src/errors.js';
import { AWKWARD_STATE } from '../helpers/awkward-state.js';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { expectedState } from '../helpers/expected-state.js';
import { memoryIo } from '../helpers/io.js';

/**
 * `cgsync export`: the app's groups of some users as an input CSV. Applying it in mirror mode to the
 * same app makes no write (counted by the emulator), and applying it in merge mode to an empty app
 * gives the same state (a round trip); users that cannot be read are reported, exit 4, the rest written.
 */

const SEED = AWKWARD_STATE;

let dir: string;
let a: TestEmulator;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cgsync-export-'));
  // Pages of 7 (several per user), 3 marked-only conversations per user (left out), dave not imported.
  a = await startTestEmulator({
    pageSize: 7,
    markedPerUser: 3,
    knownUsers: new Set(['alice', 'bob', 'carol', '=SUM(1)']),
  });
  a.emulator.store.load(SEED);
  await writeFile(
    join(dir, 'users.txt'),
    '# the users to back up\nalice\nbob\n\ncarol\ndave\n=SUM(1)\nalice\n',
  );
});
afterAll(async () => {
  await a.close();
  await rm(dir, { recursive: true, force: true });
});

async function cli(
  env: Record<string, string>,
  args: string[],
  extra: { stdin?: Readable; signal?: AbortSignal } = {},
) {
  const io = {
    ...memoryIo(env, dir, extra.signal),
    ...(extra.stdin === undefined ? {} : { stdin: extra.stdin }),
  };
  const code = await runCli(args, io);
  return { code, out: io.out(), err: io.err() };
}

const writes = (t: TestEmulator) => {
  const e = t.emulator.stats().endpoints;
  return e.create_contact_group.accepted + e.update_contact_group.accepted + e.del_contact_group.accepted;
};

describe('cgsync export', () => {
  it('writes the groups of the listed users; an unreadable user is reported, exit 4, the rest written', async () => {
    const before = writes(a);
    const r = await cli(a.env, ['export', '--users', 'users.txt', '--out', 'backup.csv', '--json']);
    expect(r.code, r.err).toBe(4);
    expect(r.err).toContain('target: SDKAppID 1400000000 at 127.0.0.1:');
    expect(r.err).toMatch(/could not be read \(not exported\): 1\n {2}"dave": 50001/);
    const summary = JSON.parse(r.out);
    expect(summary).toMatchObject({ exitCode: 4, users: 5, exported: 4, groups: 6, memberships: 155 });
    expect(writes(a)).toBe(before);
    const text = await readFile(join(dir, 'backup.csv'), 'utf8');
    expect(text.split('\n')[0]).toBe('From_Account,GroupName,Type,To_Account,ToGroupId');
    // Sorted by user; an empty group is the empty-group row; quoting as RFC 4180; no spreadsheet escape.
    expect(text).toContain('alice,Empty,,,\n');
    expect(text).toContain('alice,"Work, ""Q1""\nteam",1,"o\'brien,jr",\n');
    expect(text).toContain('alice,Family,2,,@TGS#1B2AUI7RZ\n');
    expect(text).toContain('=SUM(1),-minus,1,+plus,\n');
    expect(text).not.toContain('dave');
    expect(text).not.toMatch(/marked/i);
    expect((await stat(join(dir, 'backup.csv'))).mode & 0o777).toBe(0o600);
    // The same app, the same users: the same bytes.
    expect((await cli(a.env, ['export', '--users', 'users.txt', '--out', 'again.csv'])).code).toBe(4);
    expect(await readFile(join(dir, 'again.csv'), 'utf8')).toBe(text);
  });

  it('mirroring an export back to the app makes no write', async () => {
    const before = writes(a);
    const r = await cli(a.env, [
      'apply',
      'backup.csv',
      '--mode',
      'mirror',
      '--checkpoint',
      'mirror.ndjson',
      '--json',
    ]);
    expect(r.code, r.err).toBe(0);
    expect(writes(a)).toBe(before);
    expect(JSON.parse(r.out).operations.ok).toBe(0);
  });

  it('round trip: the export applied in merge mode to an empty app gives the same state', async () => {
    const b = await startTestEmulator({ pageSize: 7 });
    try {
      const r = await cli(b.env, ['apply', 'backup.csv', '--checkpoint', 'restore.ndjson']);
      expect(r.code, r.err).toBe(0);
      expect(b.state()).toEqual(a.state());
      expect(b.state()).toEqual(expectedState(join(dir, 'backup.csv')));
    } finally {
      await b.close();
    }
  });

  it('--input takes the users of a CSV; - reads the list from standard input', async () => {
    await writeFile(join(dir, 'some.csv'), 'user,group,type,peer\nbob,x,1,y\nbob,z,,\ncarol,q,1,r\n');
    const fromCsv = await cli(a.env, ['export', '--input', 'some.csv', '--out', 'some-out.csv']);
    expect(fromCsv.code, fromCsv.err).toBe(0);
    const text = await readFile(join(dir, 'some-out.csv'), 'utf8');
    expect(text).toContain('bob,家族,1,alice,\n');
    expect(text).not.toMatch(/^alice,/m);
    const piped = await cli(a.env, ['export', '--users', '-', '--out', 'piped.csv'], {
      stdin: Readable.from(['bob\n', 'carol\n']),
    });
    expect(piped.code, piped.err).toBe(0);
    expect(await readFile(join(dir, 'piped.csv'), 'utf8')).toBe(text);
  });

  it('refuses --out naming an input, and neither or both sources, before any call', async () => {
    const calls = a.totalAccepted();
    const same = await cli(a.env, ['export', '--input', 'some.csv', '--out', './some.csv']);
    expect(same.code).toBe(1);
    expect(same.err).toContain('--input and --out name the same file');
    const neither = await cli(a.env, ['export', '--out', 'x.csv']);
    expect(neither.code).toBe(1);
    expect(neither.err).toContain('give one of --input <csv> or --users <file>');
    expect(a.totalAccepted()).toBe(calls);
  });

  it('a signal while reading: exit 3, no file written, a previous one kept', async () => {
    const slow = await startTestEmulator({ latencyMs: 40 });
    try {
      slow.emulator.store.load({
        users: Object.fromEntries(
          Array.from({ length: 400 }, (_, i) => [`u${i}`, [{ groupId: 1, name: 'g', members: [] }]]),
        ),
      });
      await writeFile(join(dir, 'many.txt'), Array.from({ length: 400 }, (_, i) => `u${i}`).join('\n'));
      await writeFile(join(dir, 'kept.csv'), 'previous\n');
      const controller = new AbortController();
      setMaxListeners(0, controller.signal); // as the entry point does: every waiting read listens
      setTimeout(() => controller.abort(new SyncError('INTERRUPTED', 'received SIGTERM')), 300);
      const r = await cli(slow.env, ['export', '--users', 'many.txt', '--out', 'kept.csv', '--json'], {
        signal: controller.signal,
      });
      expect(r.code, r.err).toBe(3);
      expect(JSON.parse(r.out).status).toBe('interrupted');
      expect(r.err).toContain('no file was written');
      expect(await readFile(join(dir, 'kept.csv'), 'utf8')).toBe('previous\n');
    } finally {
      await slow.close();
    }
  });
});
