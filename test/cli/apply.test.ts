import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { duplicateNames, startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { expectedState } from '../helpers/expected-state.js';
import { memoryIo } from '../helpers/io.js';

const SAMPLES = join(process.cwd(), 'samples');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cgsync-apply-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function cli(env: Record<string, string>, args: string[], signal?: AbortSignal) {
  const io = memoryIo(env, dir, signal);
  const code = await runCli(args, io);
  return { code, out: io.out(), err: io.err() };
}

describe.each(['reject', 'allow'] as const)('apply with faults, duplicate names %s', (duplicateNamesMode) => {
  let t: TestEmulator;
  beforeAll(async () => {
    t = await startTestEmulator({
      faultRate: 0.05,
      lostRate: 0.02,
      http502Rate: 0.01,
      seed: 7,
      duplicateNames: duplicateNamesMode,
      latencyMs: 2,
    });
  });
  afterAll(() => t.close());

  it('converges to exactly the CSV, without duplicate groups, and verify agrees', async () => {
    const input = join(SAMPLES, 'demo.csv');
    const run = await cli(t.env, [
      'apply',
      input,
      '--checkpoint',
      `cp-${duplicateNamesMode}.ndjson`,
      '--json',
    ]);
    expect(run.err).not.toContain(t.secretKey);
    expect(run.code, run.err).toBe(0);
    const summary = JSON.parse(run.out);
    expect(summary.status).toBe('ok');
    expect(t.state()).toEqual(expectedState(input));
    expect(duplicateNames(t.emulator)).toEqual([]);
    const faults = t.emulator.stats().endpoints.create_contact_group.faults;
    expect(faults.lost + faults.transient + faults.http502).toBeGreaterThan(0);
    const verify = await cli(t.env, ['verify', input]);
    expect(verify.code).toBe(0);
    expect(verify.out).toContain('all 300 users match');
  });
});

describe('apply, plan and verify against a clean emulator', () => {
  let t: TestEmulator;
  beforeAll(async () => {
    t = await startTestEmulator({ pageSize: 3 });
  });
  afterAll(() => t.close());

  it('blind migration uses exactly the planner’s fewest calls, and no read', async () => {
    t.emulator.reset();
    const input = join(SAMPLES, 'basic.csv');
    const plan = await cli(t.env, ['plan', input, '--assume-empty', '--json']);
    expect(plan.code).toBe(0);
    const calls = JSON.parse(plan.out).calls as Record<string, number>;
    const applied = await cli(t.env, ['apply', input, '--assume-empty', '--checkpoint', 'blind.ndjson']);
    expect(applied.code, applied.err).toBe(0);
    const stats = t.emulator.stats().endpoints;
    expect(stats.create_contact_group.accepted).toBe(calls.create_contact_group);
    expect(stats.update_contact_group.accepted).toBe(calls.update_contact_group);
    // No read of any user: the one get_contact_group is the credentials check before the first write.
    expect(stats.get_contact_group.accepted).toBe(1);
    expect(t.state()).toEqual(expectedState(input));
  });

  it('plan --detailed-exitcode: 2 with changes pending, 0 when the app matches; reports written', async () => {
    t.emulator.reset();
    const input = join(SAMPLES, 'basic.csv');
    const before = await cli(t.env, [
      'plan',
      input,
      '--detailed-exitcode',
      '--report',
      'r.html',
      '--report',
      'r.md',
    ]);
    expect(before.code).toBe(2);
    expect(await readFile(join(dir, 'r.html'), 'utf8')).toContain('<svg');
    expect(await readFile(join(dir, 'r.md'), 'utf8')).toContain('|');
    expect((await cli(t.env, ['apply', input, '--checkpoint', 'dx.ndjson'])).code).toBe(0);
    const after = await cli(t.env, ['plan', input, '--detailed-exitcode']);
    expect(after.code).toBe(0);
  });

  it('applies a saved plan file exactly, and refuses it with other options', async () => {
    t.emulator.reset();
    const input = join(SAMPLES, 'basic.csv');
    expect((await cli(t.env, ['plan', input, '--out', 'saved.ndjson'])).code).toBe(0);
    const wrong = await cli(t.env, [
      'apply',
      'saved.ndjson',
      '--mode',
      'mirror',
      '--checkpoint',
      'pf0.ndjson',
    ]);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toContain('--mode merge');
    const applied = await cli(t.env, ['apply', 'saved.ndjson', '--checkpoint', 'pf.ndjson']);
    expect(applied.code, applied.err).toBe(0);
    expect(t.state()).toEqual(expectedState(input));
  });

  it('refuses a checkpoint that belongs to another input', async () => {
    t.emulator.reset();
    expect(
      (await cli(t.env, ['apply', join(SAMPLES, 'basic.csv'), '--checkpoint', 'other.ndjson'])).code,
    ).toBe(0);
    const other = await cli(t.env, ['apply', join(SAMPLES, 'demo.csv'), '--checkpoint', 'other.ndjson']);
    expect(other.code).toBe(1);
    expect(other.err).toContain('belongs to a different run');
  });

  it('bad rows: exit 4, failures file with line numbers that is itself a valid input', async () => {
    t.emulator.reset();
    const run = await cli(t.env, [
      'apply',
      join(SAMPLES, 'bad-rows.csv'),
      '--checkpoint',
      'bad.ndjson',
      '--failures',
      'failures.csv',
      '--json',
    ]);
    expect(run.code).toBe(4);
    const failures = await readFile(join(dir, 'failures.csv'), 'utf8');
    const lines = failures.trim().split('\n');
    expect(lines[0]).toMatch(/error_code,error_message,line\r?$/);
    expect(lines.length).toBeGreaterThan(3);
    expect(failures).toMatch(/,\d+\r?$/m);
    // Fed back, every row is rejected again for the same reason, except the two COLUMN_COUNT rows: the
    // failures file aligns them to the header (documented in the README), so they become readable.
    const replan = await cli(t.env, ['plan', 'failures.csv', '--assume-empty', '--json']);
    expect(replan.code).toBe(0);
    const columnCount = lines.filter((l) => l.includes(',COLUMN_COUNT,')).length;
    expect(columnCount).toBe(2);
    expect(JSON.parse(replan.out).rejectedRows.count).toBe(JSON.parse(run.out).rows.rejected - columnCount);
  });
});

describe('nightly sync: mirror, guard, state', () => {
  let t: TestEmulator;
  beforeAll(async () => {
    t = await startTestEmulator();
  });
  afterAll(() => t.close());

  const csv = (rows: string[]) =>
    ['From_Account,GroupName,Type,To_Account,ToGroupId', ...rows, ''].join('\n');
  const night1 = [
    ...Array.from({ length: 20 }, (_, i) => `u${i},Family,1,p${i}a,`),
    ...Array.from({ length: 20 }, (_, i) => `u${i},Family,1,p${i}b,`),
    ...Array.from({ length: 20 }, (_, i) => `u${i},Work,2,,@TGS#${i}`),
  ];

  it('mirror converges to a changed export with the fewest calls; an unchanged export makes no call', async () => {
    await writeFile(join(dir, 'n1.csv'), csv(night1));
    const first = await cli(t.env, [
      'apply',
      'n1.csv',
      '--mode',
      'mirror',
      '--state',
      'state.json',
      '--checkpoint',
      'n1.ndjson',
    ]);
    expect(first.code, first.err).toBe(0);
    expect(t.state()).toEqual(expectedState(join(dir, 'n1.csv')));

    // Night 2: u0 loses Work and p0b, u1 gains a conversation; everyone else unchanged.
    const night2 = night1.filter((r) => r !== 'u0,Work,2,,@TGS#0' && r !== 'u0,Family,1,p0b,');
    night2.push('u1,Family,1,p1c,');
    await writeFile(join(dir, 'n2.csv'), csv(night2));
    const before = t.totalAccepted();
    const plan = await cli(t.env, ['plan', 'n2.csv', '--mode', 'mirror', '--json']);
    const second = await cli(t.env, [
      'apply',
      'n2.csv',
      '--mode',
      'mirror',
      '--state',
      'state.json',
      '--checkpoint',
      'n2.ndjson',
      '--json',
    ]);
    expect(second.code, second.err).toBe(0);
    expect(t.state()).toEqual(expectedState(join(dir, 'n2.csv')));
    const stats = t.emulator.stats().endpoints;
    // Writes: u0 one update (remove p0b) + one delete (Work); u1 one update. Reads: only u0 and u1.
    expect(JSON.parse(plan.out).calls.update_contact_group).toBe(2);
    expect(stats.del_contact_group.accepted).toBe(1);
    expect(JSON.parse(second.out).users.unchanged).toBe(18);
    // plan read everyone once; plan and apply each made one credentials check first.
    const writesAndReads = t.totalAccepted() - before - (JSON.parse(plan.out).users as number) - 2;
    expect(writesAndReads).toBe(2 + 1 + 2);

    const third = t.totalAccepted();
    const again = await cli(t.env, [
      'apply',
      'n2.csv',
      '--mode',
      'mirror',
      '--state',
      'state.json',
      '--checkpoint',
      'n3.ndjson',
      '--json',
    ]);
    expect(again.code).toBe(0);
    // The same bytes as night 2, which settled every user: answered from state.json.input.
    expect(again.err).toContain('no row was read');
    // Not a single call, not even the credentials check (it runs before the first real call).
    expect(t.totalAccepted()).toBe(third);
    expect(JSON.parse(again.out).users.unchanged).toBe(20);
  });

  it('the guard refuses a destructive export before any write, exit 5 with the numbers', async () => {
    const before = JSON.stringify(t.state());
    await writeFile(join(dir, 'n4.csv'), csv(night1.filter((r) => !r.includes('Work'))));
    const refused = await cli(t.env, [
      'apply',
      'n4.csv',
      '--mode',
      'mirror',
      '--checkpoint',
      'n4.ndjson',
      '--json',
    ]);
    expect(refused.code).toBe(5);
    expect(JSON.parse(refused.out).exitCode).toBe(5);
    expect(refused.err).toMatch(/deletion guard refused the run: it would remove \d+ of \d+ memberships/);
    expect(JSON.parse(refused.out).status).toBe('refused');
    expect(JSON.stringify(t.state())).toBe(before);
    const writes = t.emulator.stats().endpoints;
    const allowed = await cli(t.env, [
      'apply',
      'n4.csv',
      '--mode',
      'mirror',
      '--max-delete',
      '50%',
      '--checkpoint',
      'n5.ndjson',
    ]);
    expect(allowed.code).toBe(0);
    expect(t.emulator.stats().endpoints.del_contact_group.accepted).toBeGreaterThan(
      writes.del_contact_group.accepted,
    );
  });

  it('--state: a user gone from the export is emptied in mirror mode; --refresh re-reads everyone', async () => {
    t.emulator.reset();
    await writeFile(join(dir, 'v1.csv'), csv(night1));
    const first = await cli(t.env, [
      'apply',
      'v1.csv',
      '--mode',
      'mirror',
      '--state',
      'v.json',
      '--checkpoint',
      'v1.ndjson',
    ]);
    expect(first.code, first.err).toBe(0);
    expect(Object.keys(t.state())).toContain('u3');
    // u3 vanished from the export: with the snapshot, mirror empties it (2 groups, 3 memberships: within 10%).
    await writeFile(join(dir, 'v2.csv'), csv(night1.filter((r) => !r.startsWith('u3,'))));
    const second = await cli(t.env, [
      'apply',
      'v2.csv',
      '--mode',
      'mirror',
      '--state',
      'v.json',
      '--checkpoint',
      'v2.ndjson',
      '--json',
    ]);
    expect(second.code, second.err).toBe(0);
    expect(t.state().u3).toBeUndefined();
    expect(t.state()).toEqual(expectedState(join(dir, 'v2.csv')));
    expect(JSON.parse(second.out).guard.removed).toBe(3);
    // --refresh: nothing changed, yet every user is read again (drift detection), and nothing written.
    const reads = t.emulator.stats().endpoints.get_contact_group.accepted;
    const writes = t.emulator.stats().endpoints.update_contact_group.accepted;
    const refresh = await cli(t.env, [
      'apply',
      'v2.csv',
      '--mode',
      'mirror',
      '--state',
      'v.json',
      '--refresh',
      '--checkpoint',
      'v3.ndjson',
    ]);
    expect(refresh.code, refresh.err).toBe(0);
    expect(t.emulator.stats().endpoints.get_contact_group.accepted - reads).toBe(19 + 1);
    expect(t.emulator.stats().endpoints.update_contact_group.accepted).toBe(writes);
  });

  it('verify exits 2 on drift and names it', async () => {
    const drift = await cli(t.env, ['verify', 'n1.csv', '--mode', 'mirror']);
    expect(drift.code).toBe(2);
    expect(drift.out).toMatch(/missing group "Work"/);
  });
});

describe('interrupt and resume', () => {
  it('exits 3 on abort with how to resume; the same command then finishes the job', async () => {
    const t = await startTestEmulator({ latencyMs: 20 });
    try {
      const input = join(SAMPLES, 'demo.csv');
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 1500);
      const first = await cli(t.env, ['apply', input, '--checkpoint', 'resume.ndjson'], controller.signal);
      expect(first.code).toBe(3);
      expect(first.err).toContain('run the same command again to resume');
      expect(t.state()).not.toEqual(expectedState(input));
      const second = await cli(t.env, ['apply', input, '--checkpoint', 'resume.ndjson', '--json']);
      expect(second.code, second.err).toBe(0);
      expect(JSON.parse(second.out).users.alreadyDone).toBeGreaterThan(0);
      expect(t.state()).toEqual(expectedState(input));
      const checkpoint = await readFile(join(dir, 'resume.ndjson'), 'utf8');
      expect(checkpoint).not.toContain(t.secretKey);
    } finally {
      await t.close();
    }
  });
});
