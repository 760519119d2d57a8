import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { duplicateNames, startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { type AppState, expectedState } from '../helpers/expected-state.js';
import { memoryIo } from '../helpers/io.js';
import { tempDir, writeFaultCsv } from './fixtures.js';

/**
 * Issue 12, item 2: a saved plan applied twice created every group twice on a service that allows
 * duplicate names. Terraform's stale-plan rule: a plan records, per user, a digest of the app state it
 * was made from (an empty app with --assume-empty); `apply plan.ndjson` reads each user again before
 * its first write and refuses it (STALE_PLAN, nothing written) when the app changed since, or with
 * --replan-stale reduces its operations to what is still missing.
 */
const USERS = 40;
const WRITES = ['create_contact_group', 'update_contact_group', 'del_contact_group'] as const;

describe('stale plans', () => {
  let t: TestEmulator;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let input: string;
  let desired: AppState;

  beforeAll(async () => {
    dir = await tempDir('stale');
    input = join(dir.path, 'export.csv');
    await writeFaultCsv(input, { users: USERS, rowsPerUser: 4, seed: 12 });
    desired = expectedState(input);
    t = await startTestEmulator({ duplicateNames: 'allow', rateLimit: 2000 });
  });
  afterAll(async () => {
    await t?.close();
    await dir?.remove();
  });

  async function cli(...args: string[]) {
    const io = memoryIo(t.env, dir.path);
    const code = await runCli(args, io);
    return { code, out: io.out(), err: io.err() };
  }
  const writes = () => WRITES.reduce((n, e) => n + t.emulator.stats().endpoints[e].accepted, 0);
  const reads = () => t.emulator.stats().endpoints.get_contact_group.accepted;

  it.each([
    ['made by reading the app', []],
    ['made with --assume-empty', ['--assume-empty']],
  ] as const)(
    'a plan %s, applied a second time with another checkpoint: every user refused, no write, no duplicate',
    async (_, flags) => {
      t.emulator.reset();
      const plan = `p${flags.length}.ndjson`;
      expect((await cli('plan', input, ...flags, '--out', plan)).code).toBe(0);
      const first = await cli('apply', plan, ...flags, '--checkpoint', `a${flags.length}.ndjson`, '--json');
      expect(first.code, first.err).toBe(0);
      expect(t.state()).toEqual(desired);
      expect(JSON.parse(first.out).users).toMatchObject({ done: USERS, stale: 0 });

      const before = writes();
      const readsBefore = reads();
      const second = await cli(
        'apply',
        plan,
        ...flags,
        '--checkpoint',
        `b${flags.length}.ndjson`,
        '--failures',
        `stale${flags.length}.csv`,
        '--json',
      );
      expect(second.code, second.err).toBe(4);
      const summary = JSON.parse(second.out);
      expect(summary.status).toBe('partial');
      expect(summary.users).toMatchObject({ stale: USERS, done: 0 });
      expect(second.err).toMatch(/stale: 40 users changed in the app since the plan was made/);
      expect(writes()).toBe(before);
      // One read per user, to check it, and the credentials check before the first call.
      expect(reads() - readsBefore).toBe(USERS + 1);
      expect(duplicateNames(t.emulator)).toEqual([]);
      expect(t.state()).toEqual(desired);
      const failures = await readFile(join(dir.path, `stale${flags.length}.csv`), 'utf8');
      expect(failures).toMatch(
        /,STALE_PLAN,"the app changed since the plan was made; nothing was written for user u000000: make a new plan, or apply with --replan-stale"/,
      );
      // The failures file is a CSV input: applied in merge mode it re-plans those users against the app.
      const retry = await cli('apply', `stale${flags.length}.csv`, '--checkpoint', `r${flags.length}.ndjson`);
      expect(retry.code, retry.err).toBe(0);
      expect(writes()).toBe(before);
    },
  );

  it('only the users changed since the plan are refused; the rest is applied', async () => {
    t.emulator.reset();
    expect((await cli('plan', input, '--out', 'partial.ndjson')).code).toBe(0);
    // Someone else writes to two users after the plan was made.
    const other = join(dir.path, 'other.csv');
    await writeFaultCsv(other, { users: 2, rowsPerUser: 2, seed: 99 });
    expect((await cli('apply', 'other.csv', '--checkpoint', 'other.ndjson')).code).toBe(0);
    const applied = await cli('apply', 'partial.ndjson', '--checkpoint', 'partial-a.ndjson', '--json');
    expect(applied.code, applied.err).toBe(4);
    expect(JSON.parse(applied.out).users).toMatchObject({ stale: 2, done: USERS - 2 });
    expect(t.state().u000000).toEqual(expectedState(other).u000000);
    expect(t.state().u000005).toEqual(desired.u000005);
  });

  it('--replan-stale: changed users get only what is still missing; the end state is the plan’s, no duplicate', async () => {
    t.emulator.reset();
    expect((await cli('plan', input, '--out', 'replan.ndjson')).code).toBe(0);
    // Half of the first user's work is done behind the plan's back, with the same groups.
    const half = join(dir.path, 'half.csv');
    const rows = (await readFile(input, 'utf8')).split('\n').filter((r) => r.startsWith('u000001,'));
    await writeFaultCsv(half, { users: 0, rowsPerUser: 1 });
    await import('node:fs/promises').then((fs) =>
      fs.appendFile(half, `${rows.slice(0, Math.ceil(rows.length / 2)).join('\n')}\n`),
    );
    expect((await cli('apply', 'half.csv', '--checkpoint', 'half.ndjson')).code).toBe(0);
    const creates = t.emulator.stats().endpoints.create_contact_group.accepted;
    const applied = await cli(
      'apply',
      'replan.ndjson',
      '--replan-stale',
      '--checkpoint',
      'replan-a.ndjson',
      '--json',
    );
    expect(applied.code, applied.err).toBe(0);
    expect(JSON.parse(applied.out).users).toMatchObject({ stale: 0, replanned: 1, done: USERS });
    expect(t.state()).toEqual(desired);
    expect(duplicateNames(t.emulator)).toEqual([]);
    const groupsOfOthers = Object.entries(desired)
      .filter(([u]) => u !== 'u000001')
      .reduce((n, [, g]) => n + Object.keys(g).length, 0);
    const newGroupsOfFirst =
      Object.keys(desired.u000001 ?? {}).length - Object.keys(expectedState(half).u000001 ?? {}).length;
    expect(t.emulator.stats().endpoints.create_contact_group.accepted - creates).toBe(
      groupsOfOthers + newGroupsOfFirst,
    );
  });

  it('--replan-stale is refused for a CSV input', async () => {
    const refused = await cli('apply', input, '--replan-stale', '--checkpoint', 'csv-replan.ndjson');
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/--replan-stale applies to a plan file/);
  });

  it('a run of a plan interrupted and resumed with its checkpoint: users it began are finished, not refused', async () => {
    t.emulator.reset();
    const slow = await startTestEmulator({ latencyMs: 30, rateLimit: 2000 });
    try {
      // The plan is made for the app it is applied to (a plan is bound to its target).
      const planned = memoryIo(slow.env, dir.path);
      expect(await runCli(['plan', input, '--assume-empty', '--out', 'resume.ndjson'], planned)).toBe(0);
      const controller = new AbortController();
      const io = memoryIo(slow.env, dir.path, controller.signal);
      const args = ['apply', 'resume.ndjson', '--assume-empty', '--checkpoint', 'resume-cp.ndjson', '--json'];
      const run = runCli(args, io);
      // Stop once some users are begun but not all.
      while (slow.totalAccepted() < 30) await new Promise((r) => setTimeout(r, 5));
      controller.abort();
      expect(await run, io.err()).toBe(3);
      expect(JSON.parse(io.out()).status).toBe('interrupted');
      const resumed = memoryIo(slow.env, dir.path);
      expect(await runCli(args, resumed), resumed.err()).toBe(0);
      const summary = JSON.parse(resumed.out());
      expect(summary.users.stale).toBe(0);
      expect(summary.users.done + summary.users.alreadyDone).toBe(USERS);
      expect(slow.state()).toEqual(desired);
      expect(duplicateNames(slow.emulator)).toEqual([]);
    } finally {
      await slow.close();
    }
  });
});
