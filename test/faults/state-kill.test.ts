import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { expectedState } from '../helpers/expected-state.js';
import { memoryIo } from '../helpers/io.js';
import { killAllCli, spawnCli } from '../helpers/spawn-cli.js';
import { CANONICAL_HEADER, tempDir, waitFor } from './fixtures.js';

/**
 * A `--state` night killed (SIGKILL: no code of its own runs) after some writes cannot save the
 * snapshot. Its `<state>.unsaved` mark names its checkpoint, so the next night of another checkpoint
 * drops the lines of the users it began: a later export back to the old rows repairs them instead of
 * skipping them as unchanged (found in review: A, then B killed part way, then A again left B).
 */
const USERS = 40;
let t: TestEmulator;
let dir: Awaited<ReturnType<typeof tempDir>>;

beforeAll(async () => {
  t = await startTestEmulator({ latencyMs: 2, rateLimit: 5000 });
  dir = await tempDir('state-kill');
  const rows = (extra: boolean) =>
    Array.from({ length: USERS }, (_, i) => [
      `u${i},Family,1,p${i}a,`,
      `u${i},Family,1,p${i}b,`,
      ...(extra ? [`u${i},Family,1,p${i}c,`] : []),
    ]).flat();
  await writeFile(join(dir.path, 'a.csv'), `${[CANONICAL_HEADER, ...rows(false)].join('\n')}\n`);
  await writeFile(join(dir.path, 'b.csv'), `${[CANONICAL_HEADER, ...rows(true)].join('\n')}\n`);
  // Night 1's first ten users only: the thirty others vanished (mirror empties them).
  await writeFile(
    join(dir.path, 'few.csv'),
    `${[CANONICAL_HEADER, ...rows(false).slice(0, 20)].join('\n')}\n`,
  );
});
afterAll(async () => {
  await killAllCli();
  await t?.close();
  await dir?.remove();
});
beforeEach(() => t.emulator.reset());

const night = (input: string, checkpoint: string, ...more: string[]) => [
  'apply',
  input,
  '--mode',
  'mirror',
  '--max-delete',
  '100%',
  '--state',
  `${checkpoint[0]}.state`,
  '--checkpoint',
  checkpoint,
  ...more,
];

async function cli(args: string[]) {
  const io = memoryIo(t.env, dir.path);
  const code = await runCli(args, io);
  return { code, err: io.err() };
}

/**
 * Night 2 as a process, SIGKILLed once 5 writes are accepted: b.csv (every user changed: updates), or
 * few.csv (thirty users vanished: deletes).
 */
async function killedNight(checkpoint: string, input: 'b.csv' | 'few.csv' = 'b.csv'): Promise<void> {
  const endpoint = input === 'b.csv' ? 'update_contact_group' : 'del_contact_group';
  const writes = () => t.emulator.stats().endpoints[endpoint].accepted;
  const before = writes();
  const child = spawnCli(night(input, checkpoint, '--rate', '40'), {
    env: t.env,
    cwd: dir.path,
    timeoutMs: 30_000,
  });
  expect(await waitFor(() => writes() - before >= 5, child.exited, 2), 'night 2 reached its writes').toBe(
    true,
  );
  child.kill('SIGKILL');
  expect((await child.exited).signal).toBe('SIGKILL');
  expect(writes() - before).toBeLessThan(USERS);
}

/** The mark beside the state file of the nights whose checkpoints start with `letter`. */
const mark = (letter: string) => join(dir.path, `${letter}.state.unsaved`);

describe('--state: a night killed after some writes', () => {
  it('leaves a mark; the next night of another checkpoint reads the users it began again and ends exact', async () => {
    const first = await cli(night('a.csv', 'k1.ndjson'));
    expect(first.code, first.err).toBe(0);
    expect(existsSync(mark('k')), 'no mark after a saved run').toBe(false);
    await killedNight('k2.ndjson');
    expect(existsSync(mark('k'))).toBe(true);
    // Another day, the export back at night 1's rows.
    const third = await cli(night('a.csv', 'k3.ndjson'));
    expect(third.code, third.err).toBe(0);
    expect(third.err).toMatch(
      /the run of checkpoint .*k2\.ndjson changed users and stopped before saving it; the \d+ users it began are read again/,
    );
    expect(t.state()).toEqual(expectedState(join(dir.path, 'a.csv')));
    expect(existsSync(mark('k'))).toBe(false);
    // And the snapshot vouches for everyone again: the same export makes no call.
    const before = t.totalAccepted();
    const fourth = await cli(night('a.csv', 'k4.ndjson'));
    expect(fourth.code, fourth.err).toBe(0);
    expect(t.totalAccepted() - before).toBe(0);
  });

  it('resumed with its own checkpoint it ends exact, and a later night back to the old rows too', async () => {
    expect((await cli(night('a.csv', 'r1.ndjson'))).code).toBe(0);
    await killedNight('r2.ndjson');
    const resumed = await cli(night('b.csv', 'r2.ndjson'));
    expect(resumed.code, resumed.err).toBe(0);
    expect(t.state()).toEqual(expectedState(join(dir.path, 'b.csv')));
    expect(existsSync(mark('r'))).toBe(false);
    const back = await cli(night('a.csv', 'r3.ndjson'));
    expect(back.code, back.err).toBe(0);
    expect(t.state()).toEqual(expectedState(join(dir.path, 'a.csv')));
  });

  it('that was emptying vanished users: the next night still empties every one of them', async () => {
    expect((await cli(night('a.csv', 'v1.ndjson'))).code).toBe(0);
    await killedNight('v2.ndjson', 'few.csv');
    const third = await cli(night('few.csv', 'v3.ndjson'));
    expect(third.code, third.err).toBe(0);
    expect(t.state()).toEqual(expectedState(join(dir.path, 'few.csv')));
    expect(existsSync(mark('v'))).toBe(false);
  });

  it('whose checkpoint is gone: refused, naming what to do; --refresh reads everyone and ends exact', async () => {
    expect((await cli(night('a.csv', 'g1.ndjson'))).code).toBe(0);
    await killedNight('g2.ndjson');
    const { rm } = await import('node:fs/promises');
    await rm(join(dir.path, 'g2.ndjson'));
    const before = t.totalAccepted();
    const refused = await cli(night('a.csv', 'g3.ndjson'));
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(
      /g\.state may not match the app: the run of checkpoint .*g2\.ndjson .* cannot be told: .*--refresh/,
    );
    expect(t.totalAccepted() - before).toBe(0);
    const refreshed = await cli(night('a.csv', 'g3.ndjson', '--refresh'));
    expect(refreshed.code, refreshed.err).toBe(0);
    expect(t.state()).toEqual(expectedState(join(dir.path, 'a.csv')));
    expect(existsSync(mark('g'))).toBe(false);
  });
});

describe('a state file or checkpoint of another app', () => {
  it('is refused before any write (exit 1), naming both targets', async () => {
    expect((await cli(night('a.csv', 'o1.ndjson'))).code).toBe(0);
    const other = await startTestEmulator({ rateLimit: 5000 });
    try {
      const io = memoryIo(other.env, dir.path);
      const code = await runCli(night('a.csv', 'o2.ndjson'), io);
      expect(code).toBe(1);
      expect(io.err()).toMatch(
        /o\.state was written for SDKAppID \d+ at 127\.0\.0\.1:\d+, but this run targets SDKAppID \d+ at 127\.0\.0\.1:\d+/,
      );
      // Only the credentials check.
      expect(other.totalAccepted()).toBeLessThanOrEqual(1);
      // Night 1's finished checkpoint, without --state: its users were done in the other app only.
      const resumed = memoryIo(other.env, dir.path);
      expect(await runCli(['apply', 'a.csv', '--mode', 'mirror', '--checkpoint', 'o1.ndjson'], resumed)).toBe(
        1,
      );
      expect(resumed.err()).toMatch(
        /o1\.ndjson was written by a run against SDKAppID \d+ at 127\.0\.0\.1:\d+, but this run targets/,
      );
      expect(other.totalAccepted()).toBeLessThanOrEqual(2);
    } finally {
      await other.close();
    }
  });
});
