import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockPathFor } from '../../src/executor/log/lock.js';
import { tempDir } from './fixtures.js';

/**
 * Issue 12, item 3: two runs racing for a stale lock must not both run. 16 processes, released at
 * the same instant (a shared start time), try to take one lock left by a process that is gone: exactly
 * one wins, every other one is refused with the lock-held message naming the winner. Each child runs
 * the built lock module (dist/, built by test/global-setup.ts) and holds a won lock for a while, so a
 * late loser cannot find it released.
 */
const PROCESSES = 16;
const ROUNDS = 3;

const CHILD = `
const { existsSync } = await import('node:fs');
const [, lockModule, checkpoint, go, release] = process.argv;
const { acquireLock } = await import(lockModule);
const until = async (file) => { while (!existsSync(file)) await new Promise((r) => setTimeout(r, 1)); };
process.stderr.write('ready\\n');
await until(go);
try {
  const lock = await acquireLock(checkpoint);
  process.stdout.write('won ' + process.pid + '\\n');
  await until(release);
  await lock.release();
  process.exit(0);
} catch (err) {
  process.stdout.write((err.code ?? '') + ' ' + err.message + '\\n');
  process.exit(1);
}
`;

const LOCK_MODULE = new URL('../../dist/executor/log/lock.js', import.meta.url).href;

interface ChildExit {
  readonly code: number | null;
  readonly out: string;
  readonly pid: number;
}

interface Child {
  /** Resolves when the child has loaded the lock module and waits for the go file. */
  readonly ready: Promise<void>;
  /** Resolves once the child has tried (won or lost). */
  readonly tried: Promise<void>;
  readonly exited: Promise<ChildExit>;
}

/** A child that takes the lock once `go` exists and, if it won, holds it until `release` exists. */
function startChild(checkpoint: string, go: string, release: string): Child {
  const child = spawn(
    process.execPath,
    ['--input-type=module', '-e', CHILD, '--', LOCK_MODULE, checkpoint, go, release],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  let onReady = () => {};
  let onTried = () => {};
  const ready = new Promise<void>((r) => {
    onReady = r;
  });
  const tried = new Promise<void>((r) => {
    onTried = r;
  });
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString('utf8');
    onTried();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString('utf8');
    if (err.includes('ready')) onReady();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
  const exited = new Promise<ChildExit>((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      onReady();
      onTried();
      resolve({ code, out: out + err.replace('ready\n', ''), pid: child.pid ?? -1 });
    });
  });
  return { ready, tried, exited };
}

/** Starts `n` children, lets them all go at once, releases the winner once every child has tried. */
async function race(n: number, checkpoint: string, dir: string, tag: string): Promise<ChildExit[]> {
  const go = join(dir, `${tag}.go`);
  const release = join(dir, `${tag}.release`);
  const children = Array.from({ length: n }, () => startChild(checkpoint, go, release));
  await Promise.all(children.map((c) => c.ready));
  await writeFile(go, '');
  await Promise.all(children.map((c) => c.tried));
  await writeFile(release, '');
  const exits = await Promise.all(children.map((c) => c.exited));
  await rm(go);
  await rm(release);
  return exits;
}

/** A pid no process has now (the lock's holder is gone). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  const pid = child.pid ?? 0;
  await new Promise((resolve) => child.on('close', resolve));
  return pid;
}

describe('a stale lock raced by 16 processes at once', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    dir = await tempDir('lock-race');
  });
  afterAll(async () => {
    await dir?.remove();
  });

  it.each(Array.from({ length: ROUNDS }, (_, i) => i + 1))(
    'round %i: exactly one wins, the others exit 1 naming the winner; nothing is left behind',
    async (round) => {
      const checkpoint = join(dir.path, `race-${round}.ndjson`);
      const lock = lockPathFor(checkpoint);
      const stale = { pid: await deadPid(), hostname: hostname(), startedAt: '2020-01-01T00:00:00.000Z' };
      await writeFile(lock, `${JSON.stringify(stale)}\n`, { mode: 0o600 });

      // Every child is up and waiting for the same moment before any of them tries.
      const exits = await race(PROCESSES, checkpoint, dir.path, `round-${round}`);

      const winners = exits.filter((e) => e.code === 0);
      expect(winners.length, exits.map((e) => e.out).join('')).toBe(1);
      const winner = winners[0] as ChildExit;
      expect(winner.out).toBe(`won ${winner.pid}\n`);
      for (const loser of exits.filter((e) => e !== winner)) {
        expect(loser.code, loser.out).toBe(1);
        expect(loser.out).toMatch(
          new RegExp(
            `^LOCKED checkpoint .* is in use \\(pid ${winner.pid} on .*\\); wait for that run to end`,
          ),
        );
      }
      // Released by the winner; no temporary or takeover file remains.
      expect(existsSync(lock)).toBe(false);
      expect((await readdir(dir.path)).filter((f) => f.includes(`race-${round}`))).toEqual([]);
    },
    30_000,
  );

  it('a process that exits without releasing (process.exit, e.g. a second Ctrl-C) still removes its lock', async () => {
    const checkpoint = join(dir.path, 'exit.ndjson');
    const script = `const { acquireLock } = await import(process.argv[1]); await acquireLock(process.argv[2]); process.exit(3);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, LOCK_MODULE, checkpoint], {
      stdio: 'ignore',
    });
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(3);
    expect(existsSync(lockPathFor(checkpoint))).toBe(false);
  });

  it('the stale lock is left alone when its holder runs on another host', async () => {
    const checkpoint = join(dir.path, 'elsewhere.ndjson');
    const lock = lockPathFor(checkpoint);
    const text = `${JSON.stringify({ pid: await deadPid(), hostname: `not-${hostname()}`, startedAt: 'x' })}\n`;
    await writeFile(lock, text);
    const exits = await race(2, checkpoint, dir.path, 'elsewhere');
    expect(exits.map((e) => e.code)).toEqual([1, 1]);
    expect(await readFile(lock, 'utf8')).toBe(text);
  });
});
