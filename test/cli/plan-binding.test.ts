import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { VERSION } from '../../src/version.js';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { memoryIo } from '../helpers/io.js';

/**
 * Plans that predict apply and are bound to their target (issue 14): a plan file records the target,
 * the time and the options; apply takes them, refuses a flag that says otherwise and another target;
 * plan decides apply's deletion guard (exit 5 with --detailed-exitcode); reports carry their origin.
 */

let dir: string;
let t: TestEmulator;

/** 10 users with 4 memberships in 2 groups each in the app. */
const SEED = {
  users: Object.fromEntries(
    Array.from({ length: 10 }, (_, i) => [
      `u${i}`,
      [
        {
          groupId: 1,
          name: 'keep',
          members: [
            { type: 1, id: 'a' },
            { type: 1, id: 'b' },
          ],
        },
        {
          groupId: 2,
          name: 'old',
          members: [
            { type: 1, id: 'c' },
            { type: 2, id: '@TGS#d' },
          ],
        },
      ],
    ]),
  ),
};
/** The export of tonight: every user keeps "keep" and loses "old" (half of everything: over 10%). */
const CSV = `user,group,type,peer\n${Array.from({ length: 10 }, (_, i) => `u${i},keep,1,a\nu${i},keep,1,b\n`).join('')}`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cgsync-plan-binding-'));
  t = await startTestEmulator({ latencyMs: 15 });
  await writeFile(join(dir, 'night.csv'), CSV);
});
afterAll(async () => {
  await t.close();
  await rm(dir, { recursive: true, force: true });
});

async function cli(env: Record<string, string>, args: string[]) {
  const io = memoryIo(env, dir);
  const code = await runCli(args, io);
  return { code, out: io.out(), err: io.err() };
}

const host = () => new URL(t.emulator.url).host;

describe('plan records and apply takes', () => {
  it('plan --mode mirror: exit 5 with --detailed-exitcode where apply would refuse; the plan records target, time, options', async () => {
    t.emulator.store.load(SEED);
    const r = await cli(t.env, [
      'plan',
      'night.csv',
      '--mode',
      'mirror',
      '--out',
      'mirror.ndjson',
      '--detailed-exitcode',
      '--json',
    ]);
    expect(r.code, r.err).toBe(5);
    expect(r.err).toContain(
      'deletion guard: apply would refuse this plan (exit 5) before any write: it removes 20 of 40 memberships (50.0%), 4 allowed',
    );
    expect(JSON.parse(r.out).guard).toMatchObject({ ok: false, removed: 20, examined: 40, allowed: 4 });
    // Without --detailed-exitcode the plan is only a warning; with a bigger --max-delete, changes pending.
    expect((await cli(t.env, ['plan', 'night.csv', '--mode', 'mirror'])).code).toBe(0);
    expect(
      (
        await cli(t.env, [
          'plan',
          'night.csv',
          '--mode',
          'mirror',
          '--max-delete',
          '60%',
          '--detailed-exitcode',
        ])
      ).code,
    ).toBe(2);
    const text = await readFile(join(dir, 'mirror.ndjson'), 'utf8');
    const header = JSON.parse(text.split('\n')[0] as string);
    expect(header.made).toEqual({
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      by: `cgsync ${VERSION}`,
      target: { host: host(), sdkAppId: 1400000000 },
    });
    expect(header.options).toEqual({ groupNameLimit: 64, maxDelete: '10%' });
    expect(text).not.toContain(t.secretKey);
  });

  it("apply takes the plan's mode and guard, and refuses as plan said (exit 5), nothing written", async () => {
    const before = JSON.stringify(t.state());
    const r = await cli(t.env, ['apply', 'mirror.ndjson', '--checkpoint', 'm1.ndjson', '--json']);
    expect(r.code, r.err).toBe(5);
    expect(JSON.parse(r.out).status).toBe('refused');
    expect(JSON.stringify(t.state())).toBe(before);
  });

  it('a flag that says otherwise is refused naming both, before any call; one that agrees is fine', async () => {
    const calls = t.totalAccepted();
    const mode = await cli(t.env, ['apply', 'mirror.ndjson', '--mode', 'merge', '--checkpoint', 'm2.ndjson']);
    expect(mode.code).toBe(1);
    expect(mode.err).toContain("--mode merge conflicts with the plan's --mode mirror");
    const guard = await cli(t.env, [
      'apply',
      'mirror.ndjson',
      '--max-delete',
      '60%',
      '--checkpoint',
      'm2.ndjson',
    ]);
    expect(guard.code).toBe(1);
    expect(guard.err).toContain("--max-delete 60% conflicts with the plan's --max-delete 10%");
    const blind = await cli(t.env, ['apply', 'mirror.ndjson', '--assume-empty', '--checkpoint', 'm2.ndjson']);
    expect(blind.code).toBe(1);
    expect(blind.err).toContain('--assume-empty conflicts with the plan');
    expect(t.totalAccepted()).toBe(calls);
    const agree = await cli(t.env, [
      'apply',
      'mirror.ndjson',
      '--mode',
      'mirror',
      '--max-delete',
      '10%',
      '--checkpoint',
      'm3.ndjson',
    ]);
    expect(agree.code).toBe(5);
  });

  it('a plan made with a bigger guard is applied with it: the mirror is done', async () => {
    expect(
      (
        await cli(t.env, [
          'plan',
          'night.csv',
          '--mode',
          'mirror',
          '--max-delete',
          '50%',
          '--out',
          'm50.ndjson',
        ])
      ).code,
    ).toBe(0);
    const r = await cli(t.env, ['apply', 'm50.ndjson', '--checkpoint', 'm50-cp.ndjson', '--json']);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).guard).toMatchObject({ ok: true, allowed: 20 });
    expect(Object.keys(t.state().u0 ?? {})).toEqual(['keep']);
  });

  it('refuses another target: another SDKAppID or another host, before any call', async () => {
    t.emulator.store.load(SEED);
    expect((await cli(t.env, ['plan', 'night.csv', '--out', 'merge.ndjson'])).code).toBe(0);
    const calls = t.totalAccepted();
    const app = await cli({ ...t.env, TENCENT_SDKAPPID: '1400000001' }, [
      'apply',
      'merge.ndjson',
      '--checkpoint',
      'x1.ndjson',
    ]);
    expect(app.code).toBe(1);
    expect(app.err).toContain(
      `was made for SDKAppID 1400000000 at ${host()}, but this run targets SDKAppID 1400000001 at ${host()}`,
    );
    const other = await startTestEmulator();
    try {
      const r = await cli(other.env, ['apply', 'merge.ndjson', '--checkpoint', 'x2.ndjson']);
      expect(r.code).toBe(1);
      expect(r.err).toContain(
        `but this run targets SDKAppID 1400000000 at ${new URL(other.emulator.url).host}`,
      );
      expect(other.totalAccepted()).toBe(0);
    } finally {
      await other.close();
    }
    expect(t.totalAccepted()).toBe(calls);
  });
});

describe('the estimate', () => {
  it("counts the latency measured from the reads, or --latency, and mirror's read phase", async () => {
    t.emulator.store.load(SEED);
    const measured = JSON.parse((await cli(t.env, ['plan', 'night.csv', '--mode', 'mirror', '--json'])).out);
    // The emulator answers after 15 ms: the median read takes at least that.
    expect(measured.latencyMs).toBeGreaterThanOrEqual(15);
    expect(measured.latencyMs).toBeLessThan(1000);
    expect(measured.estimatedReadSeconds).toBeGreaterThan(0);
    expect(measured.estimatedSeconds).toBeGreaterThan(measured.estimatedReadSeconds);
    const given = JSON.parse(
      (
        await cli(t.env, [
          'plan',
          'night.csv',
          '--mode',
          'mirror',
          '--latency',
          '2s',
          '--concurrency',
          '1',
          '--json',
        ])
      ).out,
    );
    expect(given.latencyMs).toBe(2000);
    // 10 reads 40 at a time, then 10 deletes one user at a time: 2 s + 2 s, then 10 × 2 s + 2 s.
    expect(given.estimatedReadSeconds).toBeCloseTo(2.5, 5);
    expect(given.estimatedSeconds).toBeCloseTo(2.5 + 22, 5);
    const blind = JSON.parse((await cli(t.env, ['plan', 'night.csv', '--assume-empty', '--json'])).out);
    expect(blind.latencyMs).toBe(0);
    const text = (await cli(t.env, ['plan', 'night.csv', '--assume-empty'])).out;
    expect(text).toContain('latency not counted (give --latency)');
  });
});

describe('reports', () => {
  it('carry the input, its digest, the target, the time and the tool; every rejected row goes to --failures', async () => {
    const rows = Array.from({ length: 25 }, (_, i) => `bad${i},,1,x`);
    await writeFile(join(dir, 'bad.csv'), `user,group,type,peer\n${rows.join('\n')}\nok,g,1,p\n`);
    const sha = createHash('sha256')
      .update(await readFile(join(dir, 'bad.csv')))
      .digest('hex');
    const r = await cli({ ...t.env, SOURCE_DATE_EPOCH: '1700000000' }, [
      'plan',
      'bad.csv',
      '--assume-empty',
      '--report',
      'r.md',
      '--report',
      'r.html',
      '--failures',
      'rejected.csv',
    ]);
    expect(r.code, r.err).toBe(0);
    const md = await readFile(join(dir, 'r.md'), 'utf8');
    for (const fact of [
      '| input | bad.csv |',
      `| sha256 | ${sha} |`,
      `| target | SDKAppID 1400000000 at ${host()} |`,
      '| made | 2023-11-14T22:13:20.000Z |',
      `| by | cgsync ${VERSION} |`,
    ]) {
      expect(md).toContain(fact);
    }
    const html = await readFile(join(dir, 'r.html'), 'utf8');
    expect(html).toContain(`<th>sha256</th><td>${sha}</td>`);
    expect(md).toContain('First 20 of 25:');
    expect(html).toContain('First 20 of 25 shown.');
    expect(r.out).toContain('Rejected rows: 25 (first 20 of 25 shown)');
    const failures = (await readFile(join(dir, 'rejected.csv'), 'utf8')).trimEnd().split('\r\n');
    expect(failures.length).toBe(1 + 25);
    for (const text of [md, html, r.out]) expect(text).not.toMatch(/[−-]0(?![\d.])/);
  });

  it('largest changes first, and never "−0"', async () => {
    t.emulator.store.load(SEED);
    await writeFile(
      join(dir, 'sizes.csv'),
      `user,group,type,peer\nu1,keep,1,a\nu1,keep,1,b\nu1,old,1,c\nu1,old,2,@TGS#d\nu1,new,1,z\n${Array.from({ length: 5 }, (_, i) => `u2,big,1,p${i}`).join('\n')}\n`,
    );
    const r = await cli(t.env, ['plan', 'sizes.csv', '--mode', 'mirror', '--report', 's.md', '--json']);
    const summary = JSON.parse(r.out);
    expect(summary.largestChanges.map((c: { user: string }) => c.user)).toEqual(['u2', 'u1']);
    const md = await readFile(join(dir, 's.md'), 'utf8');
    expect(md).toContain('| u1 | +1 | +1 | 0 | 0 |');
    expect(md).not.toMatch(/[−-]0(?![\d.])/);
  });
});
