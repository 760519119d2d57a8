import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateMixedCsv } from '../../bench/gen-mixed.js';
import { runCli } from '../../src/cli/run.js';
import { tempDir, waitFor } from '../faults/fixtures.js';
import { duplicateNames, startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { expectedState } from '../helpers/expected-state.js';
import { memoryIo } from '../helpers/io.js';
import { killAllCli, runCliProcess, spawnCli } from '../helpers/spawn-cli.js';

/**
 * `apply --stream` (issue 13): users are applied while the CSV is still read when its rows are grouped
 * by user. The end state must be the file's (test/helpers/expected-state.ts, computed apart from
 * cgsync) whether the file is grouped or turns out not to be, and after a kill -9 mid-stream and a
 * resume; a fault late in the file stops the run after writes (the documented price of the flag).
 */
const HEADER = 'From_Account,GroupName,Type,To_Account,ToGroupId';

/** `users` users of `rows` rows each in two groups (over 100 in one: a create and an update). */
function groupedRows(users: number, rows: number, prefix = 'u'): string[] {
  const out: string[] = [];
  for (let u = 0; u < users; u++) {
    for (let r = 0; r < rows; r++) out.push(`${prefix}${u},${r % 3 === 0 ? 'Work' : 'Family'},1,p${u}x${r},`);
  }
  return out;
}

let dir: Awaited<ReturnType<typeof tempDir>>;
let t: TestEmulator;

beforeAll(async () => {
  dir = await tempDir('stream');
  // Duplicate names allowed (as the service may): a second create of a group would show as a duplicate.
  t = await startTestEmulator({ latencyMs: 2, rateLimit: 1000, duplicateNames: 'allow' });
});
afterAll(async () => {
  await killAllCli();
  await t?.close();
  await dir?.remove();
});
beforeEach(() => {
  t.emulator.reset();
});

async function cli(args: string[]) {
  const io = memoryIo(t.env, dir.path);
  const code = await runCli(args, io);
  return { code, out: io.out(), err: io.err() };
}

describe('apply --stream', () => {
  it('a grouped export (the mixed bench shape) ends exactly as the CSV says, with the planner’s calls', async () => {
    const input = join(dir.path, 'mixed.csv');
    await generateMixedCsv({ path: input, users: 60, seed: 3 });
    const plan = await cli(['plan', input, '--assume-empty', '--json']);
    const calls = JSON.parse(plan.out).calls as Record<string, number>;
    const run = await cli([
      'apply',
      input,
      '--assume-empty',
      '--stream',
      '--checkpoint',
      'mixed.ndjson',
      '--rate',
      '1000',
      '--json',
    ]);
    expect(run.code, run.err).toBe(0);
    expect(JSON.parse(run.out).rows.total).toBeGreaterThan(500);
    expect(t.state()).toEqual(expectedState(input));
    const stats = t.emulator.stats().endpoints;
    expect(stats.create_contact_group.accepted).toBe(calls.create_contact_group);
    expect(stats.update_contact_group.accepted).toBe(calls.update_contact_group);
  });

  it.each([['--assume-empty'], []])(
    'a file that turns out not grouped (a user reopened late) still ends exactly as the CSV says (%s)',
    async (...flags) => {
      // 4000 rows of grouped users (several 64 KiB stretches: users are applied early), then more rows
      // of the first user: its group Work passes 100 conversations (an update after its create).
      const rows = [...groupedRows(40, 100), ...groupedRows(1, 150, 'u').map((r) => r.replace(/x/, 'y'))];
      const input = join(dir.path, `reopened${flags.length}.csv`);
      await writeFile(input, `${HEADER}\n${rows.join('\n')}\n`);
      const run = await cli([
        'apply',
        input,
        ...flags,
        '--stream',
        '--checkpoint',
        `reopened${flags.length}.ndjson`,
        '--rate',
        '1000',
        '--json',
      ]);
      expect(run.code, run.err).toBe(0);
      expect(t.state()).toEqual(expectedState(input));
      expect(duplicateNames(t.emulator)).toEqual([]);
      // Resuming the finished run converges on the same state (it re-reads, writes nothing).
      const again = await cli([
        'apply',
        input,
        ...flags,
        '--stream',
        '--checkpoint',
        `reopened${flags.length}.ndjson`,
      ]);
      expect(again.code, again.err).toBe(0);
      expect(t.state()).toEqual(expectedState(input));
    },
  );

  it.each([['--assume-empty'], []])(
    'a file that turns out not grouped: each failed row is in the failures file exactly once (%s)',
    async (...flags) => {
      // u0 has 21 groups (over the limit of 20: every row of it fails) and u1 as well; both are given
      // out from the first stretches, then u0 is reopened at the end: every user comes again.
      const over = (user: string) => Array.from({ length: 21 }, (_, g) => `${user},G${g},1,${user}peer${g},`);
      const rows = [...over('u0'), ...over('u1'), ...groupedRows(40, 100, 'v'), 'u0,Late,1,late,'];
      const input = join(dir.path, `failures-once${flags.length}.csv`);
      await writeFile(input, `${HEADER}\n${rows.join('\n')}\n`);
      const failures = `failed-rows${flags.length}.csv`;
      const run = await cli([
        'apply',
        input,
        ...flags,
        '--stream',
        '--checkpoint',
        `failures-once${flags.length}.ndjson`,
        '--failures',
        failures,
        '--rate',
        '1000',
        '--json',
      ]);
      expect(run.code, run.err).toBe(4);
      const lines = (await readFile(join(dir.path, failures), 'utf8')).trim().split(/\r?\n/).slice(1);
      const rowsOf = (user: string) => lines.filter((l) => l.startsWith(`${user},`));
      // u0: its 21 rows and the late one; u1: its 21 rows. Each once.
      expect(rowsOf('u0')).toHaveLength(22);
      expect(rowsOf('u1')).toHaveLength(21);
      expect(new Set(lines).size).toBe(lines.length);
      expect(lines).toHaveLength(43);
      expect(JSON.parse(run.out).failuresWritten).toBe(43);
    },
  );

  it.each([
    ['grouped', false],
    ['not grouped', true],
  ])(
    'progress of a %s file: a total (estimated while the file is read), to the end, never past it',
    {
      timeout: 60_000,
    },
    async (_name, reopen) => {
      // About 150 KB of grouped rows (several stretches; the reader stays at most four ahead).
      const rows = groupedRows(500, 10, 'p');
      if (reopen) rows.push('p0,Late,1,late,');
      const input = join(dir.path, `progress-${String(reopen)}.csv`);
      await writeFile(input, `${HEADER}\n${rows.join('\n')}\n`);
      const io = memoryIo(t.env, dir.path);
      const code = await runCli(
        [
          'apply',
          input,
          '--assume-empty',
          '--stream',
          '--checkpoint',
          `progress-${String(reopen)}.ndjson`,
          '--rate',
          '1000',
          '--progress-interval',
          '50ms',
          '--json',
        ],
        io,
      );
      expect(code, io.err()).toBe(0);
      const progress = io
        .err()
        .split('\n')
        .filter((l) => l.startsWith('{') && l.includes('apply progress'))
        .map((l) => (JSON.parse(l) as { progress: Record<string, unknown> }).progress);
      expect(progress.length).toBeGreaterThan(2);
      for (const p of progress) {
        if (p.total === undefined) continue;
        expect(p.unit).toBe('users');
        expect(p.percent as number).toBeLessThanOrEqual(100);
        expect(p.done as number).toBeLessThanOrEqual(p.total as number);
        if (p.etaSeconds !== undefined) expect(p.etaSeconds as number).toBeGreaterThanOrEqual(0);
      }
      const last = progress.at(-1) as Record<string, unknown>;
      expect(last.estimated).toBeUndefined();
      expect(last.percent).toBe(100);
      // Grouped: each user once. Not grouped: the users given out before the reopened row, then all
      // of them again from the partitions.
      if (reopen) expect(last.total as number).toBeGreaterThan(500);
      else expect(last.total).toBe(500);
      expect(last.done).toBe(last.total);
    },
  );

  it('a broken row late in the file: without --stream no call at all; with it, exit 1 naming the line after the users before it were written', {
    timeout: 90_000,
  }, async () => {
    // About 450 KB of grouped rows: the reader stays at most four 64 KiB stretches ahead of the
    // executor, so it reaches the broken row only after users were written.
    const rows = groupedRows(2000, 10);
    const input = join(dir.path, 'late-fault.csv');
    const good = join(dir.path, 'late-good.csv');
    await writeFile(good, `${HEADER}\n${rows.join('\n')}\n`);
    await writeFile(input, `${HEADER}\n${rows.join('\n')}\nbad,"Family,1,x,\n`);
    const plain = await cli(['apply', input, '--assume-empty', '--checkpoint', 'late-plain.ndjson']);
    expect(plain.code).toBe(1);
    expect(t.totalAccepted()).toBe(0);
    const streamed = await cli([
      'apply',
      input,
      '--assume-empty',
      '--stream',
      '--checkpoint',
      'late-stream.ndjson',
      '--rate',
      '1000',
    ]);
    expect(streamed.code).toBe(1);
    expect(streamed.err).toMatch(/line 20002/);
    expect(t.totalAccepted()).toBeGreaterThan(100);
    // What was written are rows of the file, before the broken one.
    const want = expectedState(good);
    for (const [user, groups] of Object.entries(t.state())) {
      for (const [group, keys] of Object.entries(groups)) {
        for (const key of keys) expect(want[user]?.[group]).toContain(key);
      }
    }
  });

  it.each([
    [['--mode', 'mirror'], /merge mode only/],
    [['--strict'], /--strict/],
    [['--max-invalid', '3'], /--max-invalid/],
    [['--state', 'state.json'], /--state/],
  ])('is refused with %s, before any call', async (flags, message) => {
    const input = join(dir.path, 'small.csv');
    await writeFile(input, `${HEADER}\nalice,Family,1,bob,\n`);
    const run = await cli(['apply', input, '--stream', '--checkpoint', 'refused.ndjson', ...flags]);
    expect(run.code).toBe(1);
    expect(run.err).toMatch(message);
    expect(t.totalAccepted()).toBe(0);
  });
});

describe('apply --stream, killed with -9 mid-stream and resumed', () => {
  it.each([
    ['grouped', false],
    ['not grouped', true],
  ])(
    '%s: converges to exactly the CSV, without duplicate groups',
    {
      timeout: 60_000,
    },
    async (_name, reopen) => {
      const rows = groupedRows(300, 40);
      if (reopen) rows.push(...groupedRows(3, 120, 'u').map((r) => r.replace(/x/, 'z')));
      const input = join(dir.path, `kill-${String(reopen)}.csv`);
      await writeFile(input, `${HEADER}\n${rows.join('\n')}\n`);
      const args = [
        'apply',
        input,
        '--assume-empty',
        '--stream',
        '--checkpoint',
        `kill-${String(reopen)}.ndjson`,
        '--rate',
        '300',
        '--json',
      ];
      const options = { env: t.env, cwd: dir.path, timeoutMs: 50_000 };
      const child = spawnCli(args, options);
      const reached = await waitFor(() => t.totalAccepted() >= 150, child.exited, 2);
      expect(reached, 'the run ended before the kill').toBe(true);
      child.kill('SIGKILL');
      expect((await child.exited).signal).toBe('SIGKILL');
      expect(t.state()).not.toEqual(expectedState(input));
      const resumed = await runCliProcess(args, options);
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(t.state()).toEqual(expectedState(input));
      expect(duplicateNames(t.emulator)).toEqual([]);
    },
  );
});
