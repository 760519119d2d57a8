import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { inShard } from '../../src/planner/shard.js';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { memoryIo } from '../helpers/io.js';

/**
 * Progress off a terminal, end to end: mirror's read phase, plan and verify show users read / total;
 * apply from a CSV shows a total (users for merge, which streams; operations for mirror) and calls per
 * second per endpoint; the reported duration includes the read phase.
 */

const USERS = 120;
let dir: string;
let t: TestEmulator;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cgsync-progress-'));
  // 30 ms per call.
  t = await startTestEmulator({ latencyMs: 30 });
  const rows = ['From_Account,GroupName,Type,To_Account,ToGroupId'];
  for (let i = 0; i < USERS; i++) rows.push(`u${String(i).padStart(3, '0')},g,1,peer${i},`);
  await writeFile(join(dir, 'in.csv'), `${rows.join('\n')}\n`);
  // Every user twice, far apart: the rows are not grouped by user (the scan cannot count them).
  const scattered = ['From_Account,GroupName,Type,To_Account,ToGroupId'];
  for (const group of ['a', 'b']) {
    for (let i = 0; i < USERS; i++) scattered.push(`s${String(i).padStart(3, '0')},${group},1,peer${i},`);
  }
  await writeFile(join(dir, 'scattered.csv'), `${scattered.join('\n')}\n`);
});
afterAll(async () => {
  await t.close();
  await rm(dir, { recursive: true, force: true });
});

type Line = {
  msg?: string;
  time?: number;
  read?: Record<string, unknown>;
  progress?: Record<string, unknown>;
};

async function cli(args: string[]) {
  const io = memoryIo(t.env, dir);
  const code = await runCli(args, io);
  const lines = io
    .err()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);
  return { code, out: io.out(), err: io.err(), lines };
}

describe('progress off a terminal', () => {
  it('plan and verify: users read / total and the rate while they read the app', async () => {
    const plan = await cli(['plan', 'in.csv', '--rate', '100', '--progress-interval', '100ms', '--json']);
    expect(plan.code, plan.err).toBe(0);
    const reads = plan.lines.filter((l) => l.msg === 'reading the app');
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.at(-1)?.read).toMatchObject({ total: USERS });
    expect(reads.at(-1)?.read?.usersPerSecond).toBeGreaterThan(0);
  });

  it('merge from a CSV: progress against the input users, calls per second per endpoint', async () => {
    t.emulator.reset();
    const r = await cli([
      'apply',
      'in.csv',
      '--checkpoint',
      'merge.ndjson',
      '--concurrency',
      '4',
      '--progress-interval',
      '100ms',
      '--json',
    ]);
    expect(r.code, r.out).toBe(0);
    const progress = r.lines.filter((l) => l.msg === 'apply progress').map((l) => l.progress ?? {});
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.at(-1)).toMatchObject({ unit: 'users', total: USERS });
    const rates = progress.at(-1)?.callsPerSecond as Record<string, number>;
    expect(Object.keys(rates).sort()).toEqual(['create_contact_group', 'get_contact_group']);
    const summary = r.lines.find((l) => l.msg === 'apply finished') as { summary: Record<string, unknown> };
    expect(Object.keys(summary.summary.callsPerSecond as object).sort()).toEqual([
      'create_contact_group',
      'get_contact_group',
    ]);
  });

  it("mirror: the read phase shows users read / total; the run's duration includes it", async () => {
    const verify = await cli(['verify', 'in.csv', '--rate', '100', '--progress-interval', '100ms']);
    expect(verify.code, verify.err).toBe(0);
    expect(verify.lines.some((l) => l.msg === 'reading the app' && l.read?.total === USERS)).toBe(true);

    const r = await cli([
      'apply',
      'in.csv',
      '--mode',
      'mirror',
      '--checkpoint',
      'mirror.ndjson',
      // 120 reads at 100 a second: the read phase lasts over a second, whatever the machine.
      '--rate',
      '100',
      '--progress-interval',
      '100ms',
      '--json',
    ]);
    expect(r.code, r.err).toBe(0);
    const reads = r.lines.filter((l) => l.msg === 'reading the app');
    expect(reads.length).toBeGreaterThan(1);
    expect(reads.at(-1)?.read).toMatchObject({ total: USERS });
    const first = reads[0]?.time as number;
    const last = reads.at(-1)?.time as number;
    // Nothing to write: the whole run is its read phase, and its duration says so.
    expect(JSON.parse(r.out).durationMs).toBeGreaterThanOrEqual(last - first);
  });

  /** Users `<prefix>000` to `<prefix>119` of shard `index/count`. */
  const shardUsers = (prefix: string, index: number, count: number) =>
    Array.from({ length: USERS }, (_, i) => `${prefix}${String(i).padStart(3, '0')}`).filter((u) =>
      inShard(u, { index, count }),
    ).length;

  const progressOf = (r: { lines: Line[] }) =>
    r.lines.filter((l) => l.msg === 'apply progress').map((l) => l.progress ?? {});

  /** Every line has the total, percentages never go back or past 100, ETAs are never negative. */
  function expectHonest(progress: Record<string, unknown>[], total: number) {
    expect(progress.length).toBeGreaterThan(0);
    let last = 0;
    for (const p of progress) {
      expect(p).toMatchObject({ unit: 'users', total });
      const percent = p.percent as number;
      expect(percent).toBeGreaterThanOrEqual(last);
      expect(percent).toBeLessThanOrEqual(100);
      last = percent;
      if (p.etaSeconds !== undefined) expect(p.etaSeconds as number).toBeGreaterThanOrEqual(0);
    }
    // The last line, at the end of the writes, says where they ended.
    expect(progress.at(-1)).toMatchObject({ done: total, percent: 100 });
  }

  it('merge from a CSV whose users are scattered: a total, percentage and ETA, up to 100%', async () => {
    t.emulator.reset();
    const r = await cli([
      'apply',
      'scattered.csv',
      '--checkpoint',
      'scattered.ndjson',
      '--concurrency',
      '4',
      '--progress-interval',
      '100ms',
      '--json',
    ]);
    expect(r.code, r.err).toBe(0);
    const progress = progressOf(r);
    expect(progress.length).toBeGreaterThan(2);
    expectHonest(progress, USERS);
    expect(progress.some((p) => typeof p.etaSeconds === 'number')).toBe(true);
  });

  it("--shard: the total counts only the shard's users (grouped and scattered files)", async () => {
    for (const [file, prefix] of [
      ['in.csv', 'u'],
      ['scattered.csv', 's'],
    ] as const) {
      t.emulator.reset();
      const r = await cli([
        'apply',
        file,
        '--shard',
        '1/3',
        '--checkpoint',
        `shard-${file}.ndjson`,
        '--concurrency',
        '4',
        '--progress-interval',
        '100ms',
        '--json',
      ]);
      expect(r.code, r.err).toBe(0);
      const expected = shardUsers(prefix, 1, 3);
      expect(expected).toBeGreaterThan(0);
      expect(expected).toBeLessThan(USERS);
      expectHonest(progressOf(r), expected);
      expect(JSON.parse(r.out).users.done).toBe(expected);
    }
  });

  it("plan and verify of a scattered CSV with --shard: users read / the shard's users", async () => {
    const mine = shardUsers('s', 1, 2);
    for (const command of ['plan', 'verify']) {
      const r = await cli([
        command,
        'scattered.csv',
        '--shard',
        '1/2',
        '--rate',
        '100',
        '--progress-interval',
        '100ms',
        '--json',
      ]);
      expect([0, 2], r.err.slice(-400)).toContain(r.code);
      const reads = r.lines.filter((l) => l.msg === 'reading the app');
      expect(reads.length, command).toBeGreaterThan(0);
      for (const l of reads) expect(l.read).toMatchObject({ total: mine });
    }
  });

  it("mirror of a scattered CSV with --shard: the read phase counts against the shard's users, the writes against the plan's operations", async () => {
    t.emulator.reset();
    const mine = shardUsers('s', 0, 2);
    const r = await cli([
      'apply',
      'scattered.csv',
      '--mode',
      'mirror',
      '--shard',
      '0/2',
      '--checkpoint',
      'mirror-shard.ndjson',
      '--rate',
      '100',
      '--progress-interval',
      '100ms',
      '--json',
    ]);
    expect(r.code, r.err).toBe(0);
    const reads = r.lines.filter((l) => l.msg === 'reading the app');
    expect(reads.length).toBeGreaterThan(0);
    for (const l of reads) expect(l.read).toMatchObject({ total: mine });
    const writes = progressOf(r);
    expect(writes.length).toBeGreaterThan(0);
    // Two groups a user: two creates each.
    for (const p of writes) expect(p).toMatchObject({ unit: 'ops', total: mine * 2 });
    expect(writes.at(-1)).toMatchObject({ done: mine * 2, percent: 100 });
  });

  it('a resumed run counts the users done before from its first line, and ends at 100%', async () => {
    t.emulator.reset();
    const args = ['apply', 'scattered.csv', '--checkpoint', 'resumed.ndjson', '--progress-interval', '100ms'];
    // 2 calls a user at 20 a second per endpoint: about 6 s for the whole file, stopped after 1.5 s.
    const first = await cli([
      ...args,
      '--json',
      '--rate',
      '20',
      '--concurrency',
      '2',
      '--max-duration',
      '1500ms',
    ]);
    expect(first.code, first.err).toBe(3);
    const doneFirst = JSON.parse(first.out).users.done as number;
    expect(doneFirst).toBeGreaterThan(0);
    expect(doneFirst).toBeLessThan(USERS);
    const again = await cli([...args, '--json', '--concurrency', '4']);
    expect(again.code, again.err).toBe(0);
    expect(JSON.parse(again.out).users.alreadyDone).toBe(doneFirst);
    const progress = progressOf(again);
    expectHonest(progress, USERS);
    // Done before: counted from the first line on, not as they are met.
    expect(progress[0]?.usersAlreadyDone).toBe(doneFirst);
    expect(progress[0]?.done as number).toBeGreaterThanOrEqual(doneFirst);
  });
});
