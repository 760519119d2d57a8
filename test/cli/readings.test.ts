import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import type { EmulatorOptions } from '../../src/emulator/index.js';
import { duplicateNames, startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { expectedState } from '../helpers/expected-state.js';
import { memoryIo } from '../helpers/io.js';

/**
 * End to end over HTTP, against the emulator playing each reading of the pages that differs from
 * ours: the end state is exact for every user the service accepts, refused users and items are in
 * the failures file with their codes, nothing is lost silently, and the exit code follows the contract.
 */

let dir: string;
let t: TestEmulator | undefined;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cgsync-readings-'));
});
afterAll(async () => {
  await t?.close();
  await rm(dir, { recursive: true, force: true });
});

async function emulator(options: Partial<EmulatorOptions>): Promise<TestEmulator> {
  await t?.close();
  t = await startTestEmulator({ latencyMs: 1, ...options });
  return t;
}

async function cli(args: string[]) {
  const io = memoryIo((t as TestEmulator).env, dir);
  const code = await runCli(args, io);
  return { code, out: io.out(), err: io.err() };
}

let files = 0;
async function csv(rows: readonly string[]): Promise<string> {
  const name = `in-${++files}.csv`;
  await writeFile(join(dir, name), `From_Account,GroupName,Type,To_Account,ToGroupId\n${rows.join('\n')}\n`);
  return name;
}

/** `users` users with a few groups each (an empty one now and then), `per` conversations per group. */
function rowsOf(users: number, per = 7, prefix = 'u'): string[] {
  const rows: string[] = [];
  for (let u = 0; u < users; u++) {
    const user = `${prefix}${u}`;
    for (const group of ['Family', 'Work', '客户']) {
      for (let i = 0; i < per; i++) rows.push(`${user},${group},1,p${(u * 7 + i) % 40},`);
      rows.push(`${user},${group},2,,@TGS#${u % 5}`);
    }
    if (u % 3 === 0) rows.push(`${user},Empty,,,`);
  }
  return rows;
}

type FailureRow = Record<string, string>;
async function failures(name: string): Promise<FailureRow[]> {
  return parse(await readFile(join(dir, name), 'utf8'), { columns: true, bom: true }) as FailureRow[];
}

function without(state: Record<string, Record<string, string[]>>, users: readonly string[]) {
  return Object.fromEntries(Object.entries(state).filter(([u]) => !users.includes(u)));
}

describe('users that were never imported (50001)', () => {
  it('apply (merge and mirror) fails them, writes their rows with the code, converges for the rest: exit 4', async () => {
    const input = await csv(rowsOf(6));
    const known = new Set(['u0', 'u1', 'u3', 'u4', 'u5', 'p0', 'administrator']);
    for (const mode of ['merge', 'mirror']) {
      const e = await emulator({
        knownUsers: new Set([...known, ...Array.from({ length: 40 }, (_, i) => `p${i}`)]),
      });
      const run = await cli([
        'apply',
        input,
        '--mode',
        mode,
        '--checkpoint',
        `nf-${mode}.ndjson`,
        '--failures',
        `nf-${mode}.csv`,
        '--json',
      ]);
      expect(run.code, run.err).toBe(4);
      const summary = JSON.parse(run.out);
      expect(summary.users.failed).toBe(1);
      expect(e.state()).toEqual(without(expectedState(join(dir, input)), ['u2']));
      const rows = await failures(`nf-${mode}.csv`);
      const wanted = rowsOf(6).filter((r) => r.startsWith('u2,')).length;
      expect(rows).toHaveLength(wanted);
      expect(new Set(rows.map((r) => r.From_Account))).toEqual(new Set(['u2']));
      expect(new Set(rows.map((r) => r.error_code))).toEqual(new Set(['50001']));
      expect(rows[0]?.error_message).toContain('has not been imported');
      expect(rows.every((r) => Number(r.line) > 1)).toBe(true);
      // A re-run goes through again (exit 4), without a call for users done.
      const again = await cli(['apply', input, '--mode', mode, '--checkpoint', `nf-${mode}.ndjson`]);
      expect(again.code, again.err).toBe(4);
    }
  });

  it('plan (reading the app) lists them apart with --failures and exits 4; verify lists them apart from drift', async () => {
    const input = await csv(rowsOf(4));
    const e = await emulator({
      knownUsers: new Set([
        'u0',
        'u1',
        'u3',
        'administrator',
        ...Array.from({ length: 40 }, (_, i) => `p${i}`),
      ]),
    });
    const plan = await cli(['plan', input, '--json', '--failures', 'plan-nf.csv', '--report', 'nf.md']);
    expect(plan.code, plan.err).toBe(4);
    const summary = JSON.parse(plan.out);
    expect(summary.users).toBe(3);
    expect(summary.unreadable).toEqual({
      count: 1,
      first: [expect.objectContaining({ user: 'u2', errorCode: 50001 })],
    });
    expect((await failures('plan-nf.csv')).map((r) => r.error_code)).toContain('50001');
    expect(await readFile(join(dir, 'nf.md'), 'utf8')).toContain('## Users whose state could not be read: 1');
    const text = await cli(['plan', input]);
    expect(text.out).toContain('Users whose state could not be read (not planned): 1');

    // verify: drift wins (2); once the others are applied, the unreadable user alone gives 4.
    const drift = await cli(['verify', input]);
    expect(drift.code).toBe(2);
    expect(drift.out).toContain('could not be read (not compared): 1 users');
    await cli(['apply', input, '--checkpoint', 'nf-v.ndjson']);
    const verify = await cli(['verify', input, '--json']);
    expect(verify.code, verify.err).toBe(4);
    expect(JSON.parse(verify.out)).toMatchObject({ usersWithDrift: 0, usersUnreadable: 1 });
    expect(e.state().u2).toBeUndefined();
  });
});

describe('items that fail alone with a transient ResultCode (half of them applied anyway)', () => {
  it.each(['ok', 'error'] as const)(
    'converge exactly with re-adding a member answered %s: exit 0',
    async (existingMember) => {
      const input = await csv(rowsOf(12));
      const e = await emulator({ itemFaultRate: 0.15, existingMember, seed: 5 });
      const run = await cli(['apply', input, '--checkpoint', `item-${existingMember}.ndjson`, '--json']);
      expect(run.code, run.err).toBe(0);
      expect(e.state()).toEqual(expectedState(join(dir, input)));
      expect(JSON.parse(run.out).failedItems).toBe(0);
      const verify = await cli(['verify', input]);
      expect(verify.code).toBe(0);
    },
  );
});

describe('items applied one by one, limits checked after each', () => {
  it('a user at exactly 1000 swaps conversations without passing the limit (removals go first)', async () => {
    const full: string[] = [];
    for (let g = 0; g < 10; g++) for (let i = 0; i < 100; i++) full.push(`big,g${g},1,c${g}-${i},`);
    const e = await emulator({ itemsOneByOne: true });
    expect(
      (await cli(['apply', await csv(full), '--assume-empty', '--checkpoint', 'full.ndjson'])).code,
    ).toBe(0);
    // Swap 5 conversations of g0 for 5 new ones: 1000 before and after.
    const swapped = full.filter((r) => !/^big,g0,1,c0-[0-4],$/.test(r));
    for (let i = 0; i < 5; i++) swapped.push(`big,g0,1,new${i},`);
    const input = await csv(swapped);
    const run = await cli(['apply', input, '--mode', 'mirror', '--checkpoint', 'swap.ndjson', '--json']);
    expect(run.code, run.err).toBe(0);
    expect(e.state()).toEqual(expectedState(join(dir, input)));
    expect(JSON.parse(run.out).operations).toMatchObject({ ok: 1, failed: 0 });
  });
});

describe('conversations that carry only a mark, counting toward 1000', () => {
  it('plan names the user they push over the limit; apply writes nothing for it (51008 rows), the rest exact', async () => {
    const rows = rowsOf(3);
    for (let i = 0; i < 998; i++) rows.push(`heavy,G${i % 10},1,h${i},`);
    const input = await csv(rows);
    const e = await emulator({ markedPerUser: 5 });
    const plan = await cli(['plan', input, '--json']);
    expect(plan.code, plan.err).toBe(0);
    const violations = JSON.parse(plan.out).violations;
    expect(violations.count).toBe(1);
    expect(violations.first[0].message).toContain('user heavy has 1003 conversations');
    expect(violations.first[0].message).toContain('5 more that carry only a mark');
    const run = await cli(['apply', input, '--checkpoint', 'marks.ndjson', '--failures', 'marks.csv']);
    expect(run.code, run.err).toBe(4);
    expect(e.state()).toEqual(without(expectedState(join(dir, input)), ['heavy']));
    const rowsOut = await failures('marks.csv');
    expect(rowsOut).toHaveLength(998);
    expect(new Set(rowsOut.map((r) => r.error_code))).toEqual(new Set(['51008']));
    // The marks themselves were never touched: the emulator still lists them for everyone.
    const page = await fetchPage(e, 'u0');
    expect(page.filter((c) => c.ContactGroupId === undefined)).toHaveLength(5);
  });
});

describe('ContactItem required on create (the older page)', () => {
  it('empty groups are created (ContactItem [] satisfies both readings): exit 0, exact', async () => {
    const input = await csv(['a,Empty,,,', 'a,Full,1,x,', 'b,Nothing,,,']);
    const e = await emulator({ contactItemRequired: true });
    const run = await cli(['apply', input, '--assume-empty', '--checkpoint', 'ci.ndjson']);
    expect(run.code, run.err).toBe(0);
    expect(e.state()).toEqual({ a: { Empty: [], Full: ['1:x'] }, b: { Nothing: [] } });
  });
});

describe('OldGroupName limited to 32 bytes (the update page)', () => {
  const long = `Long-${'n'.repeat(35)}`; // 40 bytes
  const rows = [
    ...Array.from({ length: 150 }, (_, i) => `a,${long},1,p${i},`),
    'a,Short,1,x,',
    'b,Short,1,y,',
  ];

  it('plan flags the group an update will name; apply reports every item it could not add (51011), loses nothing', async () => {
    const input = await csv(rows);
    const e = await emulator({ oldGroupNameMaxBytes: 32 });
    const plan = await cli(['plan', input, '--json']);
    expect(JSON.parse(plan.out).longNames).toEqual({
      groups: 1,
      updatedNow: 1,
      first: [{ user: 'a', group: long, bytes: 40, updateNow: true }],
    });
    expect((await cli(['plan', input])).out).toContain(`a / ${long} (40 bytes): updated by this plan`);
    const run = await cli(['apply', input, '--checkpoint', 'old.ndjson', '--failures', 'old.csv']);
    expect(run.code, run.err).toBe(4);
    const out = await failures('old.csv');
    const state = e.state();
    // Every desired membership is either in the app or in the failures file with 51011.
    const applied = new Set(state.a?.[long] ?? []);
    expect(applied.size).toBe(100);
    expect(out.every((r) => r.error_code === '51011')).toBe(true);
    const reported = new Set(out.map((r) => `1:${r.To_Account}`));
    for (let i = 0; i < 150; i++) expect(applied.has(`1:p${i}`) || reported.has(`1:p${i}`)).toBe(true);
    expect(reported.size).toBe(50);
    expect(state.b).toEqual({ Short: ['1:y'] });
    expect(state.a?.Short).toEqual(['1:x']);
  });

  it('plan --assume-empty flags them as well, on threads or not; --group-name-limit 32 rejects them there too', async () => {
    const input = await csv(rows);
    await emulator({});
    const threads = JSON.parse((await cli(['plan', input, '--assume-empty', '--json'])).out);
    const single = JSON.parse((await cli(['plan', input, '--assume-empty', '--json', '--threads', '0'])).out);
    expect(threads.longNames).toEqual(single.longNames);
    expect(threads.longNames).toMatchObject({ groups: 1, updatedNow: 1 });
    const limited = await cli(['plan', input, '--assume-empty', '--json', '--group-name-limit', '32']);
    expect(JSON.parse(limited.out).rejectedRows.count).toBe(150);
    expect(JSON.parse(limited.out).longNames).toBeUndefined();
  });

  it('--group-name-limit 32 rejects those rows up front, before any write', async () => {
    const input = await csv(rows);
    const e = await emulator({ oldGroupNameMaxBytes: 32 });
    const run = await cli([
      'apply',
      input,
      '--group-name-limit',
      '32',
      '--checkpoint',
      'gnl.ndjson',
      '--failures',
      'gnl.csv',
    ]);
    expect(run.code, run.err).toBe(4);
    expect(e.state()).toEqual({ a: { Short: ['1:x'] }, b: { Short: ['1:y'] } });
    const out = await failures('gnl.csv');
    expect(out).toHaveLength(150);
    expect(out[0]?.error_code).toBe('GROUP_TOO_LONG');
    expect(out[0]?.error_message).toContain('the limit is 32');
  });
});

describe('answers of an unexpected shape', () => {
  it('at a rate: retried a few times or settled by reading, never for a minute: exit 0, exact', async () => {
    const input = await csv(rowsOf(15));
    const e = await emulator({ malformedRate: 0.08, seed: 11 });
    const run = await cli(['apply', input, '--checkpoint', 'mal.ndjson']);
    expect(run.code, run.err).toBe(0);
    expect(e.state()).toEqual(expectedState(join(dir, input)));
    expect(duplicateNames(e.emulator)).toEqual([]);
    expect(Object.values(e.emulator.stats().endpoints).some((s) => s.faults.malformed > 0)).toBe(true);
  });

  it('every answer of one endpoint: the run stops at once with an excerpt, secrets masked, exit 1', async () => {
    const input = await csv(rowsOf(15));
    const e = await emulator({ malformedRate: 1, faultEndpoints: ['create_contact_group'], seed: 2 });
    const started = Date.now();
    const run = await cli(['apply', input, '--checkpoint', 'mal1.ndjson', '--json']);
    expect(run.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(20_000);
    const summary = JSON.parse(run.out);
    expect(summary.error).toContain('unexpected answers in a row from create_contact_group: stopping');
    expect(summary.error).toContain('the body');
    expect(run.err + run.out).not.toContain(e.secretKey);
    expect(run.err + run.out).not.toMatch(/usersig=(?!\[Redacted\])/);
  });
});

describe('the write applied, then 50004 or HTTP 502 answered', () => {
  it.each([
    ['reject', 'ok'],
    ['allow', 'error'],
  ] as const)(
    'converges to the exact end state (duplicate names %s, re-adding %s): exit 0',
    async (dup, existingMember) => {
      const input = await csv(rowsOf(15));
      const e = await emulator({ appliedFaultRate: 0.15, duplicateNames: dup, existingMember, seed: 3 });
      const run = await cli(['apply', input, '--checkpoint', `applied-${dup}.ndjson`, '--json']);
      expect(run.code, run.err).toBe(0);
      expect(e.state()).toEqual(expectedState(join(dir, input)));
      expect(duplicateNames(e.emulator)).toEqual([]);
      expect(e.emulator.stats().endpoints.create_contact_group.faults.applied).toBeGreaterThan(0);
      expect(JSON.parse(run.out).operations.reconciled).toBeGreaterThan(0);
    },
  );
});

async function fetchPage(e: TestEmulator, user: string): Promise<{ ContactGroupId?: number[] }[]> {
  const { TencentClient } = await import('../../src/tencent/client.js');
  const client = new TencentClient({
    sdkAppId: Number(e.env.TENCENT_SDKAPPID),
    secretKey: e.secretKey,
    endpoint: e.emulator.url,
  });
  const page = await client.getGroupsPage(user, 0);
  await client.close();
  return page.conversations.map((c) => (c.groupIds.length === 0 ? {} : { ContactGroupId: [...c.groupIds] }));
}
