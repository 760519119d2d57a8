import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { duplicateNames, startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { type AppState, expectedState } from '../helpers/expected-state.js';
import { memoryIo } from '../helpers/io.js';
import { killAllCli, runCliProcess, spawnCli } from '../helpers/spawn-cli.js';
import { tempDir, waitFor, writeFaultCsv } from './fixtures.js';

/**
 * The checkpoint cannot be written: at once (`/dev/full`) or mid-run (a 64 KiB tmpfs that fills up).
 * The run stops promptly with exit 1 and a clear error; the checkpoint left behind is valid, and a
 * resume from a copy on a writable disk finishes with nothing lost.
 */
const USERS = 300;

describe('checkpoint disk full or unwritable', () => {
  let t: TestEmulator;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let input: string;
  let desired: AppState;
  let expectedCalls: number;

  beforeAll(async () => {
    dir = await tempDir('checkpoint-io');
    input = join(dir.path, 'input.csv');
    await writeFaultCsv(input, { users: USERS, rowsPerUser: 4, seed: 21 });
    desired = expectedState(input);
    expectedCalls = USERS + Object.values(desired).reduce((n, g) => n + Object.keys(g).length, 0);
    t = await startTestEmulator({ rateLimit: 1000, latencyMs: 2 });
  });
  afterAll(async () => {
    await killAllCli();
    await t?.close();
    await dir?.remove();
  });

  it('/dev/full as the checkpoint: exit 1 naming the checkpoint and ENOSPC, no call, lock released', async () => {
    t.emulator.reset();
    const exit = await runCliProcess(['apply', input, '--checkpoint', '/dev/full'], {
      env: t.env,
      cwd: dir.path,
    });
    expect(exit.code).toBe(1);
    expect(exit.stderr).toMatch(/cannot write checkpoint \/dev\/full.*ENOSPC/);
    expect(exit.stderr).not.toContain(t.secretKey);
    expect(t.totalAccepted()).toBe(0);
    expect(existsSync('/dev/full.lock'), 'the lock file next to the checkpoint was left behind').toBe(false);
  });

  // Guards openCheckpoint (src/executor/log/checkpoint.ts): when the header write failed, the opened handle
  // was left for garbage collection ("Closing file descriptor N on garbage collection"): harmless for
  // a CLI that exits, a descriptor leak for a library user who retries.
  it('/dev/full in-process: the failed checkpoint leaves no open descriptor behind', async () => {
    const io = memoryIo(t.env, dir.path);
    expect(await runCli(['apply', input, '--checkpoint', '/dev/full'], io)).toBe(1);
    const open = readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === '/dev/full';
      } catch {
        return false;
      }
    });
    expect(open).toEqual([]);
  });

  it('a checkpoint disk that fills mid-run: exit 1 promptly, valid checkpoint, resume elsewhere finishes', async (ctx) => {
    const mnt = join(dir.path, 'tiny');
    await mkdir(mnt);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt], { stdio: 'pipe' });
    } catch (err) {
      ctx.skip(`mount -t tmpfs is not permitted here (${(err as Error).message.split('\n')[0]})`);
      return;
    }
    try {
      t.emulator.reset();
      const checkpoint = join(mnt, 'cp.ndjson');
      const args = (cp: string) => ['apply', input, '--checkpoint', cp, '--rate', '1000', '--json'];
      const child = spawnCli(args(checkpoint), { env: t.env, cwd: dir.path });
      // Track when the checkpoint last grew, and how many calls the service had accepted then.
      let size = 0;
      let acceptedWhenFull = 0;
      await waitFor(
        () => {
          const now = existsSync(checkpoint) ? statSync(checkpoint).size : 0;
          if (now !== size) {
            size = now;
            acceptedWhenFull = t.totalAccepted();
          }
          return false;
        },
        child.exited,
        2,
      );
      const exit = await child.exited;
      expect(exit.code, exit.stderr).toBe(1);
      expect(exit.stderr).toMatch(/cannot write checkpoint .*cp\.ndjson.*(ENOSPC|no space)/i);
      expect(JSON.parse(exit.stdout).status).toBe('fatal');
      // It filled mid-run, and the run stopped promptly: at most the calls already in flight
      // (60 users + 40 reads by default) went out after the last checkpoint write.
      expect(acceptedWhenFull).toBeGreaterThan(0);
      expect(acceptedWhenFull).toBeLessThan(expectedCalls);
      expect(t.totalAccepted() - acceptedWhenFull).toBeLessThanOrEqual(100);
      expect(t.state()).not.toEqual(desired);

      // The partial checkpoint, copied to a writable disk, is a valid checkpoint of the same run.
      const copy = join(dir.path, 'resumed.ndjson');
      await copyFile(checkpoint, copy);
      const resumed = await runCliProcess(args(copy), { env: t.env, cwd: dir.path });
      expect(resumed.code, resumed.stderr).toBe(0);
      const summary = JSON.parse(resumed.stdout);
      expect(summary.users.alreadyDone).toBeGreaterThan(0);
      expect(summary.users.alreadyDone + summary.users.done).toBe(USERS);
      expect(t.state()).toEqual(desired);
      expect(duplicateNames(t.emulator)).toEqual([]);
      const text = await readFile(copy, 'utf8');
      expect(text.endsWith('\n')).toBe(true);
    } finally {
      await killAllCli();
      execFileSync('umount', ['-l', mnt], { stdio: 'pipe' });
    }
  });
});
