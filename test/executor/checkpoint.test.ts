import { appendFile, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  Checkpoint,
  type CheckpointFile,
  loadCheckpoint,
  openCheckpoint,
} from '../../src/executor/log/checkpoint.js';
import { computeRunKey, type RunIdentity } from '../../src/executor/log/checkpoint-records.js';
import { tempDir } from './helpers.js';

const identity: RunIdentity = {
  inputDigest: 'a'.repeat(64),
  mode: 'merge',
  assumeEmpty: false,
  options: { maxDelete: '10%', shard: null },
};
const open = (path: string, id: RunIdentity = identity) =>
  openCheckpoint(path, { identity: id, toolVersion: '0.1.0', flushIntervalMs: 5 });

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  await cleanup();
});

describe('computeRunKey', () => {
  it('depends on everything that defines the run, not on option order', () => {
    const key = computeRunKey(identity);
    expect(computeRunKey({ ...identity, options: { shard: null, maxDelete: '10%' } })).toBe(key);
    expect(computeRunKey({ ...identity, mode: 'mirror' })).not.toBe(key);
    expect(computeRunKey({ ...identity, assumeEmpty: true })).not.toBe(key);
    expect(computeRunKey({ ...identity, inputDigest: 'b'.repeat(64) })).not.toBe(key);
    expect(computeRunKey({ ...identity, options: { maxDelete: '5%', shard: null } })).not.toBe(key);
  });
});

describe('checkpoint file', () => {
  it('round-trips: done users, begun users with the operations known applied', async () => {
    const path = join(dir, 'run.ckpt');
    const cp = await open(path);
    await cp.begin('alice');
    cp.recordOp({ id: 'a1', user: 'alice', kind: 'create', group: 'g', outcome: 'ok' });
    cp.recordUser({ user: 'alice', outcome: 'done' });
    await cp.begin('bob');
    cp.recordOp({ id: 'b1', user: 'bob', kind: 'create', group: 'g', outcome: 'ok' });
    cp.recordOp({ id: 'b2', user: 'bob', kind: 'update', group: 'g', outcome: 'failed', errorCode: 51008 });
    await cp.begin('carol');
    cp.recordUser({ user: 'carol', outcome: 'skipped', reason: 'over 20 groups' });
    await cp.close();

    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
    expect(JSON.parse(lines[0] as string)).toEqual({
      type: 'header',
      format: 'cgsync-checkpoint',
      version: 1,
      runKey: computeRunKey(identity),
      ...identity,
      toolVersion: '0.1.0',
    });
    expect(lines).toHaveLength(9);

    const again = await open(path);
    expect(again.progressOf('alice')).toEqual({ status: 'done' });
    expect(again.progressOf('bob')).toEqual({ status: 'begun', okOps: new Set(['b1']) });
    expect(again.progressOf('carol')).toBeUndefined();
    expect(again.progressOf('dave')).toBeUndefined();
    await again.close();
  });

  it('creates the file with mode 0600 and keeps no secrets in it', async () => {
    const path = join(dir, 'run.ckpt');
    const cp = await open(path);
    await cp.close();
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('tolerates a torn last line and cuts it off before appending', async () => {
    const path = join(dir, 'run.ckpt');
    const cp = await open(path);
    await cp.begin('alice');
    await cp.close();
    await appendFile(path, '{"type":"op","id":"a1","user":"ali');
    const again = await open(path);
    expect(again.progressOf('alice')).toEqual({ status: 'begun', okOps: new Set() });
    again.recordOp({ id: 'a1', user: 'alice', kind: 'create', group: 'g', outcome: 'ok' });
    await again.close();
    const third = await loadCheckpoint(path);
    expect(third.begun.get('alice')).toEqual(new Set(['a1']));
    expect(third.validBytes).toBe(third.totalBytes);
  });

  it('ignores a last line that does not parse even with its newline', async () => {
    const path = join(dir, 'run.ckpt');
    const cp = await open(path);
    await cp.begin('alice');
    await cp.close();
    await appendFile(path, '{"type":"op","id":\n');
    const again = await open(path);
    expect(again.progressOf('alice')).toEqual({ status: 'begun', okOps: new Set() });
    await again.close();
  });

  it('refuses a broken line in the middle, naming it', async () => {
    const path = join(dir, 'run.ckpt');
    const cp = await open(path);
    await cp.begin('alice');
    await cp.close();
    await appendFile(path, 'garbage\n{"type":"begin","user":"bob"}\n');
    await expect(open(path)).rejects.toMatchObject({
      code: 'CHECKPOINT',
      message: expect.stringMatching(/is damaged: line 3 is not a valid record/),
      context: { line: 3 },
    });
  });

  it('refuses a checkpoint of a different run with a clear message', async () => {
    const path = join(dir, 'run.ckpt');
    await (await open(path)).close();
    await expect(open(path, { ...identity, mode: 'mirror' })).rejects.toMatchObject({
      code: 'CHECKPOINT',
      message: expect.stringMatching(
        /^checkpoint .*run\.ckpt belongs to a different run \(input digest aaaaaaaaaaaa…, mode merge\); use a new --checkpoint file or delete this one$/,
      ),
    });
  });

  it('records the target; refuses another one, resumes without one or with the same', async () => {
    const path = join(dir, 'target.ckpt');
    const at = (host: string, sdkAppId = 1400000000) => ({ sdkAppId, host });
    const withTarget = (target?: { sdkAppId: number; host: string }) =>
      openCheckpoint(path, {
        identity,
        toolVersion: '0.1.0',
        flushIntervalMs: 5,
        ...(target === undefined ? {} : { target }),
      });
    const first = await withTarget(at('staging.example:443'));
    await first.begin('alice');
    first.recordUser({ user: 'alice', outcome: 'done' });
    await first.close();
    for (const other of [at('prod.example:443'), at('staging.example:443', 1400000001)]) {
      await expect(withTarget(other)).rejects.toMatchObject({
        code: 'CHECKPOINT',
        message: expect.stringMatching(
          /target\.ckpt was written by a run against SDKAppID 1400000000 at staging\.example:443, but this run targets SDKAppID 140000000[01] at .*: its users done there were not done here; use a new --checkpoint file$/,
        ),
      });
    }
    for (const same of [at('staging.example:443'), undefined]) {
      const again = await withTarget(same);
      expect(again.progressOf('alice')?.status).toBe('done');
      await again.close();
    }
    // Written before targets were recorded: any target resumes it.
    const old = join(dir, 'old.ckpt');
    await (await open(old)).close();
    await (await openCheckpoint(old, { identity, toolVersion: '0.1.0', target: at('x:1') })).close();
  });

  it('refuses a file that is not a checkpoint instead of overwriting it', async () => {
    const path = join(dir, 'input.csv');
    await writeFile(path, 'From_Account,GroupName,Type,To_Account,ToGroupId\nalice,g,1,bob,\n');
    await expect(open(path)).rejects.toMatchObject({
      code: 'CHECKPOINT',
      message: expect.stringMatching(/not a cgsync checkpoint/),
    });
    await writeFile(path, 'no newline here');
    await expect(open(path)).rejects.toMatchObject({ code: 'CHECKPOINT' });
    expect(await readFile(path, 'utf8')).toBe('no newline here');
  });

  it('refuses a checkpoint of another format version', async () => {
    const path = join(dir, 'run.ckpt');
    await writeFile(path, `${JSON.stringify({ type: 'header', format: 'cgsync-checkpoint', version: 2 })}\n`);
    await expect(open(path)).rejects.toMatchObject({ message: expect.stringMatching(/format version 2/) });
  });

  it('starts afresh over an empty file or a torn header', async () => {
    const path = join(dir, 'run.ckpt');
    await writeFile(path, '{"type":"header","format":"cgsync-chec');
    const cp = await open(path);
    await cp.close();
    expect((await loadCheckpoint(path)).header?.runKey).toBe(computeRunKey(identity));
  });

  it('stops with an IO error when the disk is full', async () => {
    await expect(
      (async () => {
        const cp = await open('/dev/full');
        try {
          await cp.begin('alice');
        } finally {
          await cp.close();
        }
      })(),
    ).rejects.toMatchObject({
      code: 'IO',
      message: expect.stringMatching(/cannot write checkpoint \/dev\/full.*ENOSPC/),
    });
  });

  it('stops with an IO error when the file cannot be created', async () => {
    await expect(open(join(dir, 'missing-dir', 'run.ckpt'))).rejects.toMatchObject({
      code: 'IO',
      message: expect.stringMatching(/cannot open checkpoint .*ENOENT/),
    });
  });
});

describe('loadCheckpoint', () => {
  const headerLine = () =>
    `${JSON.stringify({
      type: 'header',
      format: 'cgsync-checkpoint',
      version: 1,
      runKey: computeRunKey(identity),
      ...identity,
      toolVersion: '0.1.0',
    })}\n`;
  const lines = (...records: object[]) => records.map((r) => `${JSON.stringify(r)}\n`).join('');
  const op = (user: string, id: string, outcome: 'ok' | 'failed') => ({
    type: 'op',
    id,
    user,
    kind: 'update',
    group: 'g',
    outcome,
  });

  it('replays the records: ops known applied per begun user, done users, skipped and failed users', async () => {
    const path = join(dir, 'run.ckpt');
    const body = lines(
      { type: 'begin', user: 'alice' },
      op('alice', 'a1', 'ok'),
      op('alice', 'a2', 'ok'),
      op('alice', 'a2', 'failed'), // a later failure of the same operation: no longer known applied
      op('bob', 'b1', 'ok'), // an op before any begin still counts
      { type: 'begin', user: 'bob' }, // a second begin keeps what is known
      { type: 'begin', user: 'carol' },
      { type: 'user', user: 'carol', outcome: 'done' },
      { type: 'begin', user: 'carol' }, // begun again after done: no longer done
      op('carol', 'c1', 'ok'),
      { type: 'begin', user: 'dave' },
      op('dave', 'd1', 'ok'),
      { type: 'user', user: 'dave', outcome: 'skipped' },
      { type: 'begin', user: 'erin' },
      op('erin', 'e1', 'ok'),
      { type: 'user', user: 'erin', outcome: 'failed', reason: '1 operation(s) failed' },
      { type: 'user', user: 'fred', outcome: 'done' },
    );
    await writeFile(path, headerLine() + body);
    const loaded = await loadCheckpoint(path);
    expect(loaded.header?.runKey).toBe(computeRunKey(identity));
    expect(loaded.done).toEqual(new Set(['fred']));
    expect(loaded.begun).toEqual(
      new Map([
        ['alice', new Set(['a1'])],
        ['bob', new Set(['b1'])],
        ['carol', new Set(['c1'])],
        ['erin', new Set(['e1'])],
      ]),
    );
    const size = Buffer.byteLength(headerLine() + body);
    expect([loaded.validBytes, loaded.totalBytes]).toEqual([size, size]);
  });

  it('reads lines that cross the chunks of the read stream, multi-byte names included', async () => {
    const path = join(dir, 'run.ckpt');
    const users = Array.from({ length: 3000 }, (_, i) => `用户-${i}-${'x'.repeat(i % 50)}`);
    const body = users.map((user, i) => lines({ type: 'begin', user }, op(user, `o${i}`, 'ok'))).join('');
    await writeFile(path, headerLine() + body);
    expect(Buffer.byteLength(body)).toBeGreaterThan(4 * 64 * 1024);
    const loaded = await loadCheckpoint(path);
    expect(loaded.begun.size).toBe(3000);
    users.forEach((user, i) => {
      expect(loaded.begun.get(user)).toEqual(new Set([`o${i}`]));
    });
    expect(loaded.validBytes).toBe(loaded.totalBytes);
  });

  it('counts valid bytes up to the last good line: a torn tail, or a bad last line', async () => {
    const path = join(dir, 'run.ckpt');
    const good = headerLine() + lines({ type: 'begin', user: 'alice' });
    await writeFile(path, `${good}{"type":"op"`);
    let loaded = await loadCheckpoint(path);
    expect([loaded.validBytes, loaded.totalBytes]).toEqual([
      Buffer.byteLength(good),
      Buffer.byteLength(good) + 12,
    ]);
    await writeFile(path, `${good}{"type":"nope","user":"a"}\n`);
    loaded = await loadCheckpoint(path);
    expect(loaded.validBytes).toBe(Buffer.byteLength(good));
    expect(loaded.begun).toEqual(new Map([['alice', new Set()]]));
    await writeFile(path, headerLine());
    loaded = await loadCheckpoint(path);
    expect([loaded.validBytes, loaded.totalBytes]).toEqual([headerLine().length, headerLine().length]);
  });

  it('refuses a bad line followed by a torn one: only the very last line may be cut short', async () => {
    const path = join(dir, 'run.ckpt');
    await writeFile(path, `${headerLine()}garbage\n{"type":"beg`);
    await expect(loadCheckpoint(path)).rejects.toMatchObject({
      code: 'CHECKPOINT',
      message: `checkpoint ${path} is damaged: line 2 is not a valid record`,
      context: { path, line: 2 },
    });
  });

  it('refuses a first line that is not a header, with or without its newline', async () => {
    const path = join(dir, 'run.ckpt');
    const message = `checkpoint ${path} is not a cgsync checkpoint (line 1 is not its header)`;
    await writeFile(path, '{"type":"begin","user":"alice"}\n');
    await expect(loadCheckpoint(path)).rejects.toMatchObject({
      code: 'CHECKPOINT',
      message,
      context: { path, line: 1 },
    });
    await writeFile(path, '{"type":"begin"');
    await expect(loadCheckpoint(path)).rejects.toMatchObject({
      code: 'CHECKPOINT',
      message,
      context: { path, line: 1 },
    });
    await writeFile(path, `${JSON.stringify({ type: 'header', format: 'cgsync-checkpoint', version: 3 })}\n`);
    await expect(loadCheckpoint(path)).rejects.toMatchObject({
      message: `checkpoint ${path} has format version 3; this cgsync reads version 1`,
      context: { path, line: 1 },
    });
  });

  it('takes an empty file, or only a torn header, as no checkpoint yet', async () => {
    const path = join(dir, 'run.ckpt');
    await writeFile(path, '');
    expect(await loadCheckpoint(path)).toEqual({
      header: undefined,
      done: new Set(),
      begun: new Map(),
      validBytes: 0,
      totalBytes: 0,
    });
    await writeFile(path, '{"type":"header","format":"cgsync-checkpoint","vers');
    expect(await loadCheckpoint(path)).toMatchObject({ header: undefined, validBytes: 0, totalBytes: 51 });
  });

  it('says IO, with the system code, when the file cannot be read', async () => {
    await expect(loadCheckpoint(dir)).rejects.toMatchObject({
      code: 'IO',
      message: `cannot read checkpoint ${dir}: EISDIR`,
      context: { path: dir },
      // The system error itself, for a caller that wants more than its code.
      cause: { code: 'EISDIR' },
    });
  });
});

describe('group commit', () => {
  /** A file whose appends wait until released, counting them. */
  function slowFile() {
    const appends: string[] = [];
    let release: () => void = () => {};
    const file: CheckpointFile = {
      append: (data) =>
        new Promise<void>((resolve) => {
          appends.push(data);
          release = resolve;
        }),
      close: async () => {},
    };
    return { file, appends, release: () => release() };
  }
  const empty = {
    header: undefined,
    done: new Set<string>(),
    begun: new Map(),
    validBytes: 0,
    totalBytes: 0,
  };

  it('writes the begin records of many users in one synced write, and resolves them only after it', async () => {
    const slow = slowFile();
    const cp = new Checkpoint('mem', slow.file, empty, 5);
    let resolved = 0;
    const begins = Array.from({ length: 50 }, (_, i) => cp.begin(`user${i}`).then(() => resolved++));
    await new Promise((r) => setTimeout(r, 30));
    expect(slow.appends).toHaveLength(1);
    expect((slow.appends[0] as string).split('\n')).toHaveLength(51);
    expect(resolved).toBe(0);
    slow.release();
    await Promise.all(begins);
    expect(resolved).toBe(50);
  });

  it('batches records made while a write is in progress into the next write', async () => {
    const slow = slowFile();
    const cp = new Checkpoint('mem', slow.file, empty, 1);
    const first = cp.begin('a');
    await new Promise((r) => setTimeout(r, 10));
    const second = cp.begin('b');
    cp.recordOp({ id: 'x', user: 'a', kind: 'delete', group: 'g', outcome: 'ok' });
    await new Promise((r) => setTimeout(r, 10));
    expect(slow.appends).toHaveLength(1);
    slow.release();
    await first;
    await new Promise((r) => setTimeout(r, 10));
    expect(slow.appends).toHaveLength(2);
    expect(slow.appends[1]).toContain('"user":"b"');
    expect(slow.appends[1]).toContain('"id":"x"');
    slow.release();
    await second;
  });
});
