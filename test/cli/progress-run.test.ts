import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
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
});
