import { createHash } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
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

  it.each([
    ['null', 'null'],
    ['a pid that is not an integer', '{"pid":1.5,"hostname":"box","startedAt":"t"}'],
    ['a pid as text', '{"pid":"7","hostname":"box","startedAt":"t"}'],
    ['a hostname that is not text', '{"pid":7,"hostname":5,"startedAt":"t"}'],
    ['no start time', '{"pid":7,"hostname":"box"}'],
  ])('takes a lock file holding %s for an unreadable lock, never for a stale one', async (_, text) => {
    const checkpoint = join(dir, 'run.ckpt');
    await writeFile(lockPathFor(checkpoint), text);
    await expect(acquireLock(checkpoint, { hostname: 'box', isRunning: () => false })).rejects.toMatchObject({
      code: 'LOCKED',
      message: `checkpoint ${checkpoint} is in use (an unreadable lock); wait for that run to end, or delete ${lockPathFor(checkpoint)} if it no longer runs`,
      context: { path: lockPathFor(checkpoint) },
    });
    expect(await readFile(lockPathFor(checkpoint), 'utf8')).toBe(text);
  });

  it('leaves nothing but the lock behind: no temporary file, no takeover token', async () => {
    const checkpoint = join(dir, 'run.ckpt');
    const first = await acquireLock(checkpoint, { pid: 1, hostname: 'box' });
    expect(await readdir(dir)).toEqual(['run.ckpt.lock']);
    const second = await acquireLock(checkpoint, { pid: 2, hostname: 'box', isRunning: () => false });
    expect(await readdir(dir)).toEqual(['run.ckpt.lock']);
    await expect(acquireLock(checkpoint, { hostname: 'box', isRunning: () => true })).rejects.toMatchObject({
      code: 'LOCKED',
    });
    expect(await readdir(dir)).toEqual(['run.ckpt.lock']);
    await second.release();
    await first.release(); // not ours any more: a no-op, and no error once the file is gone
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses, after a few looks, a stale lock that another process is taking over', async () => {
    const checkpoint = join(dir, 'run.ckpt');
    await acquireLock(checkpoint, { pid: 999_999, hostname: 'box' });
    const stale = await readFile(lockPathFor(checkpoint), 'utf8');
    const token = `${lockPathFor(checkpoint)}.takeover-${createHash('sha256').update(stale).digest('hex').slice(0, 16)}`;
    await writeFile(token, 'someone else');
    const started = Date.now();
    await expect(acquireLock(checkpoint, { hostname: 'box', isRunning: () => false })).rejects.toMatchObject({
      code: 'LOCKED',
      message: `checkpoint ${checkpoint} is in use: its stale lock is being taken over by another process (or a takeover was cut short: if no run uses it, delete ${lockPathFor(checkpoint)} and ${lockPathFor(checkpoint)}.takeover-*)`,
      context: { path: lockPathFor(checkpoint) },
    });
    // Six looks, 10 + 20 + 30 + 40 + 50 ms apart.
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(await readFile(lockPathFor(checkpoint), 'utf8')).toBe(stale);
    expect(await readFile(token, 'utf8')).toBe('someone else');
  });

  it('says IO, naming the lock file, when it cannot be created', async () => {
    const checkpoint = join(dir, 'missing', 'run.ckpt');
    await expect(acquireLock(checkpoint)).rejects.toMatchObject({
      code: 'IO',
      message: `cannot create lock file ${lockPathFor(checkpoint)}: ENOENT`,
      context: { path: lockPathFor(checkpoint) },
    });
  });

  it('removes its lock when the process exits without releasing it, and only its own', async () => {
    const checkpoint = join(dir, 'run.ckpt');
    const before = new Set(process.listeners('exit'));
    const lock = await acquireLock(checkpoint, { pid: 1, hostname: 'box' });
    const hooks = process.listeners('exit').filter((l) => !before.has(l));
    expect(hooks).toHaveLength(1);
    const onExit = hooks[0] as () => void;
    await writeFile(lock.path, '{"pid":2,"hostname":"box","startedAt":"x"}\n');
    onExit(); // taken over meanwhile: left alone
    expect(await readFile(lock.path, 'utf8')).toContain('"pid":2');
    await writeFile(lock.path, `${JSON.stringify({ pid: 1, hostname: 'box', startedAt: 'x' })}\n`);
    await lock.release(); // not the exact bytes it wrote: left alone too, and the hook goes
    expect(process.listeners('exit')).not.toContain(onExit);
    const again = await acquireLock(join(dir, 'other.ckpt'), { pid: 3, hostname: 'box' });
    const hook = process.listeners('exit').find((l) => !before.has(l)) as () => void;
    hook();
    expect(await readdir(dir)).toEqual(['run.ckpt.lock']);
    hook(); // gone already: no error
    await again.release();
  });
});
