import { writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { tempDir } from './helpers.js';

/**
 * The lock against what lock.test.ts cannot set up with real files as root: a lock that changes under
 * us at every look, a file system without hard links, a takeover token or a temporary file the disk
 * refuses, and the liveness probe of a process that belongs to another user. `node:fs/promises` is the
 * real one unless a test makes `link` or `writeFile` fail.
 */
const fsFail = vi.hoisted(() => ({
  link: undefined as string | undefined,
  /** [part of the path, code]: writeFile fails for paths containing it. */
  writeFile: undefined as [string, string] | undefined,
}));

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  const refuse = (code: string) => Promise.reject(Object.assign(new Error(`${code}: refused`), { code }));
  return {
    ...actual,
    link: (from: string, to: string) =>
      fsFail.link === undefined ? actual.link(from, to) : refuse(fsFail.link),
    writeFile: (...args: Parameters<typeof actual.writeFile>) => {
      const rule = fsFail.writeFile;
      return rule !== undefined && String(args[0]).includes(rule[0])
        ? refuse(rule[1])
        : actual.writeFile(...args);
    },
  };
});

/** The waits between looks at a lock. */
const waits = vi.hoisted(() => [] as number[]);
vi.mock('node:timers/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:timers/promises')>();
  return {
    ...actual,
    setTimeout: (ms: number, ...rest: unknown[]) => {
      waits.push(ms);
      return actual.setTimeout(ms, ...rest);
    },
  };
});

// lock.ts must see the mocks above: under the mutation config (test/mutation/vitest.config.ts,
// `isolate: false`) another test file may have loaded it already with the real modules.
vi.resetModules();
const { acquireLock, lockPathFor } = await import('../../src/executor/log/lock.js');

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  fsFail.link = undefined;
  fsFail.writeFile = undefined;
  waits.length = 0;
});
afterEach(async () => {
  vi.restoreAllMocks();
  await cleanup();
});

const staleLock = (pid: number) =>
  `${JSON.stringify({ pid, hostname: 'box', startedAt: '2025-01-02T03:04:05.000Z' })}\n`;

describe('acquireLock under races and refusals', () => {
  it('refuses, after six looks, a stale lock that changes under it at every look, naming the last holder', async () => {
    const checkpoint = join(dir, 'run.ckpt');
    const path = lockPathFor(checkpoint);
    await writeFile(path, staleLock(1000));
    const looked: number[] = [];
    const outcome = acquireLock(checkpoint, {
      hostname: 'box',
      // Each look finds the holder gone; meanwhile another process replaces the stale lock by its own,
      // which is stale by the next look too.
      isRunning: (pid) => {
        looked.push(pid);
        writeFileSync(path, staleLock(pid + 1));
        return false;
      },
    });
    await expect(outcome).rejects.toMatchObject({
      code: 'LOCKED',
      message: `checkpoint ${checkpoint} is in use (pid 1005 on box since 2025-01-02T03:04:05.000Z); wait for that run to end, or delete ${path} if it no longer runs`,
    });
    expect(looked).toEqual([1000, 1001, 1002, 1003, 1004, 1005]);
    // Backing off between the looks (the first look at once).
    expect(waits).toEqual([10, 20, 30, 40, 50]);
    expect(await readFile(path, 'utf8')).toBe(staleLock(1006));
  });

  it('says IO when the file system has no hard links, instead of calling the lock unreadable', async () => {
    fsFail.link = 'EPERM';
    const checkpoint = join(dir, 'run.ckpt');
    await expect(acquireLock(checkpoint)).rejects.toMatchObject({
      code: 'IO',
      message: `cannot create lock file ${lockPathFor(checkpoint)}: EPERM`,
    });
  });

  it('says IO, with the system code, when the lock cannot be written at all', async () => {
    fsFail.writeFile = ['.tmp', 'EDQUOT'];
    const checkpoint = join(dir, 'run.ckpt');
    await expect(acquireLock(checkpoint)).rejects.toMatchObject({
      code: 'IO',
      message: `cannot create lock file ${lockPathFor(checkpoint)}: EDQUOT`,
    });
  });

  it('says IO, naming the takeover token, when the disk refuses it (not "being taken over")', async () => {
    const checkpoint = join(dir, 'run.ckpt');
    await writeFile(lockPathFor(checkpoint), staleLock(1000));
    fsFail.writeFile = ['.takeover-', 'ENOSPC'];
    await expect(acquireLock(checkpoint, { hostname: 'box', isRunning: () => false })).rejects.toMatchObject({
      code: 'IO',
      message: expect.stringMatching(
        /^cannot create lock file .*run\.ckpt\.lock\.takeover-[0-9a-f]{16}: ENOSPC$/,
      ),
    });
  });

  it("sees a process of another user as running (the probe's EPERM), and a gone one as not", async () => {
    const checkpoint = join(dir, 'run.ckpt');
    await writeFile(lockPathFor(checkpoint), staleLock(4242));
    const probe = vi.spyOn(process, 'kill').mockImplementation(() => {
      throw Object.assign(new Error('kill EPERM'), { code: 'EPERM' });
    });
    await expect(acquireLock(checkpoint, { hostname: 'box' })).rejects.toMatchObject({ code: 'LOCKED' });
    expect(probe).toHaveBeenCalledWith(4242, 0);
    probe.mockImplementation(() => {
      throw Object.assign(new Error('kill ESRCH'), { code: 'ESRCH' });
    });
    const lock = await acquireLock(checkpoint, { hostname: 'box', pid: 7 });
    expect(JSON.parse(await readFile(lock.path, 'utf8'))).toMatchObject({ pid: 7 });
    await lock.release();
  });
});
