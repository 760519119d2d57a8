import { writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseDuration } from '../../src/cli/duration.js';
import { runCli } from '../../src/cli/run.js';
import { abortAfter, MAX_TIMER_MS } from '../../src/executor/clock.js';
import { lockPathFor } from '../../src/executor/log/lock.js';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { memoryIo } from '../helpers/io.js';
import { killAllCli, runCliProcess } from '../helpers/spawn-cli.js';
import { CANONICAL_HEADER, tempDir, writeFaultCsv } from './fixtures.js';

/**
 * Issue 12, items 7 to 9: what a run says when it fails, and the bounds of --rate and --max-duration.
 * - Off a terminal, a fatal error sat only inside a pino record (`summary.fatal`): it now also ends
 *   with one plain `error: <cause>` line on stderr. With --json, failures before the run (CSV error,
 *   lock held, checkpoint of another run) print the JSON summary too (status `fatal`).
 * - `--rate 1e9` took the machine's memory: the rate is bounded (and the limiters' memory no longer
 *   follows it, test/executor/limiters.test.ts).
 * - `--max-duration` of 597 h stopped at once (timer overflow), 1,194 h gave a raw "delay out of
 *   range", `0` was accepted.
 */
describe('fatal errors and early failures', () => {
  let t: TestEmulator;
  let dir: Awaited<ReturnType<typeof tempDir>>;

  beforeAll(async () => {
    dir = await tempDir('outcomes');
    await writeFaultCsv(join(dir.path, 'export.csv'), { users: 10, rowsPerUser: 2, seed: 3 });
    await writeFaultCsv(join(dir.path, 'other.csv'), { users: 10, rowsPerUser: 2, seed: 4 });
    await writeFile(join(dir.path, 'broken.csv'), `${CANONICAL_HEADER}\nu,"Fam\n`);
    t = await startTestEmulator();
  });
  afterAll(async () => {
    await killAllCli();
    await t?.close();
    await dir?.remove();
  });

  const lastLine = (text: string) => text.trim().split('\n').at(-1) ?? '';

  it('a process off a terminal whose run stops on a fatal error ends stderr with one error: line', async () => {
    t.emulator.reset();
    const exit = await runCliProcess(['apply', 'export.csv', '--checkpoint', 'fatal.ndjson', '--json'], {
      env: { ...t.env, TENCENT_SECRET_KEY: 'not-the-key' },
      cwd: dir.path,
    });
    expect(exit.code).toBe(1);
    expect(lastLine(exit.stderr)).toMatch(/^error: .*70009|^error: .*(signature|UserSig)/i);
    expect(exit.stderr.match(/^error: /gm)).toHaveLength(1);
    expect(JSON.parse(exit.stdout)).toMatchObject({
      exitCode: 1,
      status: 'fatal',
      error: expect.any(String),
    });
    expect(exit.stderr).not.toContain('not-the-key');
  });

  const early: readonly { name: string; prepare?: () => Promise<void>; args: string[]; cause: RegExp }[] = [
    {
      name: 'a CSV error',
      args: ['apply', 'broken.csv', '--checkpoint', 'broken.ndjson'],
      cause: /Invalid CSV at line 2/,
    },
    {
      name: 'the lock held by a running process',
      prepare: () =>
        writeFile(
          lockPathFor(join(dir.path, 'held.ndjson')),
          `${JSON.stringify({ pid: process.pid, hostname: hostname(), startedAt: '2026-01-01T00:00:00.000Z' })}\n`,
        ),
      args: ['apply', 'export.csv', '--checkpoint', 'held.ndjson'],
      cause: new RegExp(`is in use \\(pid ${process.pid} on `),
    },
    {
      name: 'a checkpoint of another run',
      prepare: async () => {
        const io = memoryIo(t.env, dir.path);
        expect(await runCli(['apply', 'other.csv', '--checkpoint', 'theirs.ndjson'], io), io.err()).toBe(0);
      },
      args: ['apply', 'export.csv', '--checkpoint', 'theirs.ndjson'],
      cause: /belongs to a different run/,
    },
    {
      name: 'a CSV error, plan',
      args: ['plan', 'broken.csv', '--assume-empty'],
      cause: /Invalid CSV at line 2/,
    },
  ];

  it.each(early)(
    '$name, with --json: the JSON summary on stdout, one error: line last on stderr',
    async (c) => {
      await c.prepare?.();
      const io = memoryIo(t.env, dir.path);
      expect(await runCli([...c.args, '--json'], io)).toBe(1);
      expect(JSON.parse(io.out())).toEqual({
        exitCode: 1,
        status: 'fatal',
        error: expect.stringMatching(c.cause),
      });
      expect(lastLine(io.err())).toMatch(new RegExp(`^error: .*${c.cause.source}`));
      expect(io.err().match(/^error: /gm)).toHaveLength(1);
    },
  );
});

describe('--rate is bounded', () => {
  it.each([
    ['apply', 'x.csv', '--checkpoint', 'x.ndjson'],
    ['plan', 'x.csv', '--assume-empty'],
    ['verify', 'x.csv'],
  ])(
    '%s --rate 1e9 / 0 / 10001: refused before anything starts, saying what was expected and got',
    async (...args) => {
      for (const rate of ['1e9', '0', '10001', '-5', 'fast']) {
        const io = memoryIo();
        expect(await runCli([...args, '--rate', rate], io)).toBe(1);
        expect(io.err()).toContain(
          `Expected --rate to be a number of calls per second above 0 and at most 10000, got "${rate}"`,
        );
      }
    },
  );

  it('a run at the bound (--rate 10000) works', async () => {
    const t = await startTestEmulator({ rateLimit: 10_000 });
    const d = await tempDir('rate-bound');
    try {
      await writeFaultCsv(join(d.path, 'in.csv'), { users: 50, rowsPerUser: 3 });
      const io = memoryIo(t.env, d.path);
      expect(
        await runCli(['apply', 'in.csv', '--checkpoint', 'c.ndjson', '--rate', '10000'], io),
        io.err(),
      ).toBe(0);
    } finally {
      await d.remove();
      await t.close();
    }
  });
});

describe('--max-duration', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('is above 0 and at most 365 days; 597 h and 1,194 h are accepted', () => {
    const parse = parseDuration('--max-duration');
    for (const bad of ['0', '0s', '0.0001', '0h0m', '8761h', '366d', '1e9', '', '5x', '-1h', '1w']) {
      expect(() => parse(bad), bad).toThrow(
        `Expected --max-duration to be a duration above 0 and at most 365 days (8760h), such as 500ms, 90s, 30m, 5h, 1h30m or 1d, got "${bad}"`,
      );
    }
    expect(parse('1d')).toBe(86_400_000);
    expect(parse('365d')).toBe(8760 * 3_600_000);
    expect(parse('1d12h')).toBe(36 * 3_600_000);
    expect(parse('1.5s')).toBe(1500);
    expect(parse('597h')).toBe(597 * 3_600_000);
    expect(parse('1194h')).toBe(1194 * 3_600_000);
    expect(parse('8760h')).toBe(8760 * 3_600_000);
    expect(parse('1h30m')).toBe(5_400_000);
    expect(parse('500ms')).toBe(500);
    expect(parse('90')).toBe(90_000);
    expect(597 * 3_600_000).toBeGreaterThan(MAX_TIMER_MS);
  });

  it.each([597, 1194, 8760])(
    'a %i h limit fires after %i h, not before (timers beyond 2^31-1 ms chained)',
    (hours) => {
      vi.useFakeTimers();
      const ms = hours * 3_600_000;
      const limit = abortAfter(ms, () => new Error('time is up'));
      vi.advanceTimersByTime(1);
      expect(limit.signal.aborted).toBe(false);
      vi.advanceTimersByTime(ms - 1001);
      expect(limit.signal.aborted).toBe(false);
      vi.advanceTimersByTime(1000);
      expect(limit.signal.aborted).toBe(true);
      expect((limit.signal.reason as Error).message).toBe('time is up');
    },
  );

  it('cancel stops it', () => {
    vi.useFakeTimers();
    const limit = abortAfter(10 * MAX_TIMER_MS, () => new Error('x'));
    limit.cancel();
    vi.advanceTimersByTime(11 * MAX_TIMER_MS);
    expect(limit.signal.aborted).toBe(false);
  });

  it.each(['597h', '1194h'])(
    'apply --max-duration %s runs to the end (exit 0), not stopped at once',
    async (d) => {
      const t = await startTestEmulator();
      const dir = await tempDir('max-duration');
      try {
        await writeFaultCsv(join(dir.path, 'in.csv'), { users: 20, rowsPerUser: 3 });
        const exit = await runCliProcess(
          ['apply', 'in.csv', '--checkpoint', 'c.ndjson', '--max-duration', d, '--json'],
          {
            env: t.env,
            cwd: dir.path,
          },
        );
        expect(exit.code, exit.stderr).toBe(0);
        expect(JSON.parse(exit.stdout).users.done).toBe(20);
        expect(exit.stderr).not.toMatch(/TimeoutOverflowWarning|out of range/);
      } finally {
        await dir.remove();
        await t.close();
      }
    },
  );

  it('a short limit stops the run with exit 3, resumable', async () => {
    const t = await startTestEmulator({ latencyMs: 50 });
    const dir = await tempDir('max-duration-short');
    try {
      await writeFaultCsv(join(dir.path, 'in.csv'), { users: 200, rowsPerUser: 3 });
      const io = memoryIo(t.env, dir.path);
      const args = ['apply', 'in.csv', '--checkpoint', 'c.ndjson', '--json'];
      expect(await runCli([...args, '--max-duration', '1s'], io), io.err()).toBe(3);
      expect(JSON.parse(io.out()).status).toBe('interrupted');
      expect(io.err()).toMatch(/run the same command again to resume/);
      const again = memoryIo(t.env, dir.path);
      expect(await runCli(args, again), again.err()).toBe(0);
    } finally {
      await dir.remove();
      await t.close();
    }
  });
});
