import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLock, lockPathFor } from '../../src/executor/log/lock.js';
import { tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  await cleanup();
});

describe('acquireLock', () => {
  it('creates <checkpoint>.lock (0600) with pid, host and start time, and refuses a second holder', async () => {
    const checkpoint = join(dir, 'run.ckpt');
    const lock = await acquireLock(checkpoint, {
      pid: 4242,
      hostname: 'box',
      now: () => new Date('2025-01-02T03:04:05Z'),
    });
    expect(lock.path).toBe(lockPathFor(checkpoint));
    expect(JSON.parse(await readFile(lock.path, 'utf8'))).toEqual({
      pid: 4242,
      hostname: 'box',
      startedAt: '2025-01-02T03:04:05.000Z',
    });
    expect((await stat(lock.path)).mode & 0o777).toBe(0o600);
    await expect(acquireLock(checkpoint, { hostname: 'box', isRunning: () => true })).rejects.toMatchObject({
      code: 'LOCKED',
      message: expect.stringMatching(
        /is in use \(pid 4242 on box since 2025-01-02T03:04:05.000Z\).*delete .*run\.ckpt\.lock/,
      ),
    });
    await lock.release();
    const next = await acquireLock(checkpoint);
    await next.release();
  });

  it('takes over a stale lock whose process no longer runs on this host', async () => {
    const checkpoint = join(dir, 'run.ckpt');
    await acquireLock(checkpoint, { pid: 999_999, hostname: 'box' });
    const lock = await acquireLock(checkpoint, { pid: 7, hostname: 'box', isRunning: () => false });
    expect(JSON.parse(await readFile(lock.path, 'utf8'))).toMatchObject({ pid: 7 });
    await lock.release();
  });

  it('never takes over a lock held on another host', async () => {
    const checkpoint = join(dir, 'run.ckpt');
    await acquireLock(checkpoint, { pid: 1, hostname: 'elsewhere' });
    await expect(acquireLock(checkpoint, { hostname: 'box', isRunning: () => false })).rejects.toMatchObject({
      code: 'LOCKED',
    });
  });

  it('refuses an unreadable lock file rather than guessing', async () => {
    const checkpoint = join(dir, 'run.ckpt');
    await writeFile(lockPathFor(checkpoint), 'garbage');
    await expect(acquireLock(checkpoint)).rejects.toMatchObject({
      code: 'LOCKED',
      message: expect.stringMatching(/an unreadable lock/),
    });
  });

  it('sees the current process as running (real probe)', async () => {
    const checkpoint = join(dir, 'run.ckpt');
    const held = await acquireLock(checkpoint);
    await expect(acquireLock(checkpoint)).rejects.toMatchObject({ code: 'LOCKED' });
    await held.release();
  });

  it('leaves a lock alone on release when another process has taken it over', async () => {
    const checkpoint = join(dir, 'run.ckpt');
    const mine = await acquireLock(checkpoint, { pid: 1, hostname: 'box' });
    await writeFile(mine.path, '{"pid":2,"hostname":"box","startedAt":"x"}\n');
    await mine.release();
    expect(await readFile(mine.path, 'utf8')).toContain('"pid":2');
  });
});
