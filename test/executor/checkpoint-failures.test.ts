import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CheckpointFile } from '../../src/executor/log/checkpoint.js';
import type { RunIdentity } from '../../src/executor/log/checkpoint-records.js';
import { tempDir } from './helpers.js';

/**
 * What the checkpoint does when the disk says no: fsync refused, a tail that cannot be cut off, a
 * header that cannot be written, a write failure in the middle of a run; and what it writes after close.
 * `node:fs/promises` is the real one, but `datasync` and `truncate` can be made to fail (root can
 * write anywhere, so a read-only file or folder cannot stand in for them).
 */
const disk = vi.hoisted(() => ({
  datasync: undefined as (() => Promise<void>) | undefined,
  syncs: 0,
  truncate: undefined as ((path: string, length: number) => Promise<void>) | undefined,
}));

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...actual,
    open: async (...args: Parameters<typeof actual.open>) => {
      const handle = await actual.open(...args);
      const datasync = handle.datasync.bind(handle);
      handle.datasync = () => {
        disk.syncs++;
        return disk.datasync === undefined ? datasync() : disk.datasync();
      };
      return handle;
    },
    truncate: (path: string, length: number) =>
      disk.truncate === undefined ? actual.truncate(path, length) : disk.truncate(path, length),
  };
});

// checkpoint.ts must see the mock above: under the mutation config (test/mutation/vitest.config.ts,
// `isolate: false`) another test file may have loaded it already with the real node:fs/promises.
vi.resetModules();
const { Checkpoint, openAppendFile, openCheckpoint } = await import('../../src/executor/log/checkpoint.js');

const identity: RunIdentity = {
  inputDigest: 'b'.repeat(64),
  mode: 'mirror',
  assumeEmpty: true,
  options: {},
};
const errno = (code: string) => Object.assign(new Error(`${code}: refused`), { code });

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  disk.datasync = undefined;
  disk.syncs = 0;
  disk.truncate = undefined;
});
afterEach(async () => {
  await cleanup();
});

describe('openAppendFile', () => {
  it('syncs every append to disk, and takes a file that cannot be synced (a character device) as it is', async () => {
    const path = join(dir, 'run.ckpt');
    const file = await openAppendFile(path);
    await file.append('one\n');
    await file.append('two\n');
    expect(disk.syncs).toBe(2);
    for (const code of ['EINVAL', 'ENOTSUP']) {
      disk.datasync = async () => {
        throw errno(code);
      };
      await file.append(`${code}\n`);
    }
    disk.datasync = async () => {
      throw errno('EIO');
    };
    await expect(file.append('lost?\n')).rejects.toMatchObject({ code: 'EIO' });
    await file.close();
    expect(await readFile(path, 'utf8')).toBe('one\ntwo\nEINVAL\nENOTSUP\nlost?\n');
  });
});

describe('openCheckpoint when the disk says no', () => {
  const open = (
    path: string,
    id: RunIdentity = identity,
    openFile?: (p: string) => Promise<CheckpointFile>,
  ) =>
    openCheckpoint(path, {
      identity: id,
      toolVersion: '0.1.0',
      flushIntervalMs: 5,
      ...(openFile === undefined ? {} : { openFile }),
    });

  it('says IO "cannot read" when the path cannot be looked at', async () => {
    await writeFile(join(dir, 'plain'), 'x');
    const path = join(dir, 'plain', 'run.ckpt');
    await expect(open(path)).rejects.toMatchObject({
      code: 'IO',
      message: `cannot read checkpoint ${path}: ENOTDIR`,
      context: { path },
    });
  });

  it("refuses another run's checkpoint, naming its mode and assume-empty, and the file", async () => {
    const path = join(dir, 'run.ckpt');
    const cp = await open(path);
    await cp.close();
    await expect(open(path, { ...identity, inputDigest: 'c'.repeat(64) })).rejects.toMatchObject({
      code: 'CHECKPOINT',
      message: expect.stringContaining('(input digest bbbbbbbbbbbb…, mode mirror, assume-empty); use a new'),
      context: { path },
    });
  });

  it('says IO "cannot repair" when a torn tail cannot be cut off (a read-only disk)', async () => {
    const path = join(dir, 'run.ckpt');
    const cp = await open(path);
    await cp.close();
    await writeFile(path, `${await readFile(path, 'utf8')}{"type":"beg`);
    disk.truncate = async () => {
      throw errno('EROFS');
    };
    await expect(open(path)).rejects.toMatchObject({
      code: 'IO',
      message: `cannot repair checkpoint ${path}: EROFS`,
    });
  });

  it('opens an intact checkpoint without cutting it, so a file that cannot be truncated is fine (append-only)', async () => {
    const path = join(dir, 'run.ckpt');
    const cp = await open(path);
    cp.recordUser({ user: 'alice', outcome: 'done' });
    await cp.close();
    let truncated = 0;
    disk.truncate = async () => {
      truncated++;
      throw errno('EPERM');
    };
    const again = await open(path);
    expect(again.progressOf('alice')).toEqual({ status: 'done' });
    await again.close();
    expect(truncated).toBe(0);
  });

  it('closes the file and fails when the header cannot be written', async () => {
    let closed = 0;
    const full: CheckpointFile = {
      append: async () => {
        throw errno('ENOSPC');
      },
      close: async () => {
        closed++;
      },
    };
    const path = join(dir, 'run.ckpt');
    await expect(open(path, identity, async () => full)).rejects.toMatchObject({
      code: 'IO',
      message: `cannot write checkpoint ${path}; the run stops: ENOSPC`,
    });
    expect(closed).toBe(1);
  });
});

describe('Checkpoint after a write failure, and after close', () => {
  const empty = {
    header: undefined,
    done: new Set<string>(),
    begun: new Map(),
    validBytes: 0,
    totalBytes: 0,
  };
  function recordingFile(fail?: string) {
    const appends: string[] = [];
    let closes = 0;
    const file: CheckpointFile = {
      append: async (data) => {
        appends.push(data);
        if (fail !== undefined) throw errno(fail);
      },
      close: async () => {
        closes++;
      },
    };
    return { file, appends, closes: () => closes };
  }
  /** Whether `promise` settles within `ms` (a call that should fail at once must not hang). */
  const within = <T>(promise: Promise<T>, ms: number) =>
    Promise.race([
      promise.then(
        () => 'resolved',
        (e: Error) => e.message,
      ),
      new Promise<string>((resolve) => setTimeout(() => resolve('still waiting'), ms)),
    ]);

  it('fails every later begin and flush at once with the first failure, writing nothing more', async () => {
    const disk = recordingFile('EIO');
    const cp = new Checkpoint('run.ckpt', disk.file, empty, 1);
    const message = 'cannot write checkpoint run.ckpt; the run stops: EIO';
    await expect(cp.begin('alice')).rejects.toThrow(message);
    expect(cp.failure?.message).toBe(message);
    expect(await within(cp.begin('bob'), 200)).toBe(message);
    expect(await within(cp.flush(), 200)).toBe(message);
    cp.recordOp({ id: 'x', user: 'bob', kind: 'delete', group: 'g', outcome: 'ok' });
    await new Promise((r) => setTimeout(r, 20));
    expect(disk.appends).toHaveLength(1);
    await expect(cp.close()).resolves.toBeUndefined();
    expect(disk.closes()).toBe(1);
  });

  it('writes nothing for an empty flush, nor for records made after close, and closes the file once', async () => {
    const disk = recordingFile();
    const cp = new Checkpoint('run.ckpt', disk.file, empty, 1);
    await cp.flush();
    expect(disk.appends).toEqual([]);
    cp.recordUser({ user: 'alice', outcome: 'done' });
    await cp.close();
    expect(disk.appends).toEqual(['{"type":"user","user":"alice","outcome":"done"}\n']);
    // A late record (an operation still finishing as the run stops) is dropped, not written to a closed file.
    cp.recordUser({ user: 'bob', outcome: 'failed', reason: 'late' });
    await new Promise((r) => setTimeout(r, 20));
    expect(disk.appends).toHaveLength(1);
    expect(disk.closes()).toBe(1);
  });

  it('closes the file even when the last write fails', async () => {
    const disk = recordingFile('ENOSPC');
    const cp = new Checkpoint('run.ckpt', disk.file, empty, 1000);
    cp.recordUser({ user: 'alice', outcome: 'done' });
    await expect(cp.close()).rejects.toThrow('ENOSPC');
    expect(disk.closes()).toBe(1);
  });
});
