import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { expectedState } from '../helpers/expected-state.js';
import { memoryIo } from '../helpers/io.js';
import { tempDir, writeFaultCsv } from './fixtures.js';

/**
 * Issue 12, items 5 and 10: resuming a finished run read every user again (342 reads for 60 users in
 * mirror mode). Users the checkpoint has as done are now left out before they are read, so a finished
 * run resumed makes no call at all, counted by the emulator, not by cgsync's own summary. And it says
 * so: no call was made, and `cgsync verify` is what checks the app (a finished checkpoint would hide
 * data the service lost since).
 */
const USERS = 60;

describe('resuming a finished run', () => {
  let t: TestEmulator;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let input: string;

  beforeAll(async () => {
    dir = await tempDir('resume-finished');
    input = join(dir.path, 'export.csv');
    await writeFaultCsv(input, { users: USERS, rowsPerUser: 5, seed: 31 });
    t = await startTestEmulator({ pageSize: 3, rateLimit: 2000 });
  });
  afterAll(async () => {
    await t?.close();
    await dir?.remove();
  });

  /** Every call the emulator saw, accepted or not. */
  const calls = () =>
    Object.values(t.emulator.stats().endpoints).reduce(
      (n, e) => n + e.accepted + e.rateLimited + e.faults.transient + e.faults.http502 + e.faults.lost,
      0,
    );

  async function cli(...args: string[]) {
    const io = memoryIo(t.env, dir.path);
    const code = await runCli(args, io);
    return { code, out: io.out(), err: io.err() };
  }

  it.each([
    ['merge, CSV', ['--mode', 'merge']],
    ['mirror, CSV (its read phase)', ['--mode', 'mirror']],
    ['mirror, CSV with --state', ['--mode', 'mirror', '--state', 'state.json']],
    ['merge, --assume-empty', ['--assume-empty']],
    ['merge, a plan file', ['plan']],
  ] as const)(
    '%s: the same command again makes no call and says that verify checks the app',
    async (name, flags) => {
      t.emulator.reset();
      const checkpoint = `${name.replaceAll(/\W+/g, '-')}.ndjson`;
      let args: string[];
      if (flags[0] === 'plan') {
        const plan = `${checkpoint}.plan`;
        expect((await cli('plan', input, '--out', plan)).code).toBe(0);
        args = ['apply', plan, '--checkpoint', checkpoint, '--json'];
      } else {
        args = ['apply', input, ...flags, '--checkpoint', checkpoint, '--json'];
      }
      const first = await cli(...args);
      expect(first.code, first.err).toBe(0);
      expect(t.state()).toEqual(expectedState(input));

      const before = calls();
      const again = await cli(...args);
      expect(again.code, again.err).toBe(0);
      expect(calls() - before, 'calls made by resuming a finished run').toBe(0);
      const summary = JSON.parse(again.out);
      if ((flags as readonly string[]).includes('--state')) {
        // The snapshot was saved by the finished run: every user is unchanged since, left out first.
        expect(summary.users).toMatchObject({ done: 0, failed: 0, unchanged: USERS });
        expect(again.err).toContain(`unchanged since the last snapshot: ${USERS} users (no calls)`);
        return;
      }
      expect(summary.users).toMatchObject({ done: 0, failed: 0, alreadyDone: USERS });
      expect(again.err).toContain(
        `nothing to do: the checkpoint ${checkpoint} says all ${USERS} users were done by an earlier run, so no call was made and the app was not checked; \`cgsync verify`,
      );
    },
  );

  it('an interrupted mirror run with --state, resumed: users done before are not read again; the snapshot has everyone', async () => {
    const slow = await startTestEmulator({ latencyMs: 20, rateLimit: 2000 });
    try {
      const controller = new AbortController();
      const args = [
        'apply',
        input,
        '--mode',
        'mirror',
        '--state',
        'slow-state.json',
        '--checkpoint',
        'slow.ndjson',
        '--json',
      ];
      const io = memoryIo(slow.env, dir.path, controller.signal);
      const run = runCli(args, io);
      const writes = () => slow.emulator.stats().endpoints.create_contact_group.accepted;
      while (writes() < 100) await new Promise((r) => setTimeout(r, 5));
      controller.abort();
      expect(await run, io.err()).toBe(3);
      const reads = slow.emulator.stats().endpoints.get_contact_group.accepted;
      const again = memoryIo(slow.env, dir.path);
      expect(await runCli(args, again), again.err()).toBe(0);
      const summary = JSON.parse(again.out());
      // The interrupted run saved the snapshot with the users it ended done: they are unchanged since
      // (a user done and not yet in it, e.g. after a kill -9, would count as done before).
      const settled = summary.users.unchanged + summary.users.alreadyDone;
      expect(settled).toBeGreaterThan(0);
      expect(settled + summary.users.done).toBe(USERS);
      // Read again: only users not done, once in the read phase and, if begun, once more to reconcile;
      // plus the one credentials check before the first call.
      const reread = slow.emulator.stats().endpoints.get_contact_group.accepted - reads - 1;
      const notDone = USERS - settled;
      expect(reread).toBeGreaterThanOrEqual(notDone);
      expect(reread).toBeLessThanOrEqual(2 * notDone);
      expect(slow.state()).toEqual(expectedState(input));
      const { readFile } = await import('node:fs/promises');
      // Version 2: a header line, one line per user, an end line with the count.
      const lines = (await readFile(join(dir.path, 'slow-state.json'), 'utf8')).trimEnd().split('\n');
      expect(lines).toHaveLength(USERS + 2);
      expect(JSON.parse(lines.at(-1) ?? '')).toEqual({ users: USERS });
    } finally {
      await slow.close();
    }
  });

  it('after the service lost the data: resuming still makes no call and says so, verify finds the drift', async () => {
    t.emulator.reset();
    const done = await cli('apply', input, '--checkpoint', 'partial.ndjson');
    expect(done.code).toBe(0);
    t.emulator.reset(); // the service lost everything: the checkpoint hides it, verify shows it
    const before = calls();
    const again = await cli('apply', input, '--checkpoint', 'partial.ndjson');
    expect(again.err).toContain('no call was made and the app was not checked');
    expect(calls()).toBe(before);
    const verify = await cli('verify', input);
    expect(verify.code).toBe(2);
    // A run that does work does not say it.
    const fresh = await cli('apply', input, '--checkpoint', 'fresh.ndjson');
    expect(fresh.code).toBe(0);
    expect(fresh.err).not.toContain('nothing to do');
  });
});
