import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { isSyncError } from '../../src/errors.js';
import { assignOperationIds } from '../../src/planner/operation-id.js';
import {
  ContentDigest,
  createPlanHeader,
  isPlanFile,
  PlanFileWriter,
  type PlanHeaderDraft,
  readPlanFile,
  writePlanFile,
} from '../../src/planner/plan-file.js';
import { planUser } from '../../src/planner/plan-user.js';
import { digestRemote, EMPTY_REMOTE_DIGEST } from '../../src/planner/remote-digest.js';
import { SummaryBuilder } from '../../src/planner/summary.js';
import type { UserPlan } from '../../src/planner/types.js';
import { c2c, desiredUser, grp, peers, remoteUser } from './fixtures.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cgsync-planner-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// Made again before each test, not once for the file: code run outside a test (at a module's top, in a
// beforeAll) is "static" to Stryker, which then runs every test against each mutant of it.
let header: PlanHeaderDraft;
beforeEach(() => {
  header = createPlanHeader({
    mode: 'mirror',
    assumeEmpty: false,
    options: { rate: 200, b: [1, 'x'] },
  });
});

function samplePlans(): UserPlan[] {
  const opts = { mode: 'mirror', assumeEmpty: false } as const;
  const users = [
    'zoe',
    'alice',
    'Bob',
    'émile',
    '名前',
    'bob',
    'a\tb "q"',
    'carol',
    'dan',
    'eve',
    'fay',
    'gus',
  ];
  return users.map((u, i) =>
    planUser(
      desiredUser(
        u,
        { friends: peers(`${u}-p`, i * 23), [`g${i}`]: [grp('@TGS#1')] },
        { hasRejectedRows: i === 3 },
      ),
      remoteUser(
        u,
        i % 2 === 0
          ? [
              ['old', [c2c('x')]],
              ['friends', peers(`${u}-q`, 5)],
              ['old', []],
            ]
          : [],
      ),
      opts,
    ),
  );
}

function summarize(plans: readonly UserPlan[]) {
  const b = new SummaryBuilder({ mode: 'mirror', assumeEmpty: false, listLimit: 3 });
  for (const p of plans) b.addUser(p);
  b.addRejection({
    line: 9,
    rule: 'group-too-long',
    message: 'line 9: GroupName is 68 bytes, the limit is 64',
    value: 'x',
  });
  b.addRejection({ line: 4, rule: 'missing-user', message: 'line 4: From_Account is empty' });
  return b.result();
}

const key = (k: string) => ({ type: k.startsWith('2:') ? 2 : 1, id: k.slice(2) }) as const;

async function collect(users: AsyncIterable<UserPlan>): Promise<UserPlan[]> {
  const out: UserPlan[] = [];
  for await (const u of users) out.push(u);
  return out;
}

describe('plan file', () => {
  it('round-trips: header, users in user-ID order, summary', async () => {
    const plans = samplePlans();
    const path = join(dir, 'round.plan');
    await writePlanFile(path, header, plans, () => summarize(plans));
    const file = await readPlanFile(path);
    const content = new ContentDigest();
    for (const p of plans) content.add(p.desiredDigest);
    expect(file.header).toEqual({ ...header, inputDigest: content.digest() });
    expect(file.summary).toEqual(summarize(plans));
    const sorted = [...plans].sort((a, b) => (a.user < b.user ? -1 : 1));
    expect(await collect(file.users)).toEqual(sorted);
    const lines = (await readFile(path, 'utf8')).split('\n');
    expect(lines[0]).toBe(
      `{"format":"cgsync-plan","version":2,"mode":"mirror","assumeEmpty":false,"inputDigest":"${content.digest()}","options":{"b":[1,"x"],"rate":200}}`,
    );
    expect(lines.at(-1)).toBe('');
    // A delete carries what its groups held (for --backup), not part of its id.
    expect(lines.find((l) => l.startsWith('{"user":"zoe"'))).toMatch(
      /"kind":"delete","group":"old","held":\["1:x"\]/,
    );
    expect(lines.at(-3)).toMatch(/^\{"summary":\{"mode":"mirror"/);
    // The last line: the sha256 of every byte before it.
    const text = await readFile(path, 'utf8');
    const before = text.slice(0, text.length - (lines.at(-2) as string).length - 1);
    expect(lines.at(-2)).toBe(`{"digest":"${createHash('sha256').update(before).digest('hex')}"}`);
    await file.validate();
    // Told from a CSV by its first bytes; a file that cannot be read is left to the CSV reader.
    expect(await isPlanFile(path)).toBe(true);
    await writeFile(join(dir, 'input.csv'), 'From_Account,GroupName,Type,To_Account,ToGroupId\n');
    expect(await isPlanFile(join(dir, 'input.csv'))).toBe(false);
    await writeFile(join(dir, 'short.csv'), '{');
    expect(await isPlanFile(join(dir, 'short.csv'))).toBe(false);
    expect(await isPlanFile(join(dir, 'missing.plan'))).toBe(false);
  });

  it('records what the app held per user; a user planned without a read records an empty app', async () => {
    const plans = samplePlans();
    const path = join(dir, 'remote.plan');
    const blind = planUser(desiredUser('zz', { g: [c2c('a')] }), undefined, {
      mode: 'merge',
      assumeEmpty: true,
    });
    expect(blind.remoteDigest).toBeUndefined();
    await writePlanFile(path, header, [...plans, blind], () => summarize([...plans, blind]));
    const back = await collect((await readPlanFile(path)).users);
    expect(back.find((p) => p.user === 'zz')?.remoteDigest).toBe(EMPTY_REMOTE_DIGEST);
    // zoe (the first sample) was planned against three groups; alice against an empty app.
    const zoe = digestRemote(
      remoteUser('zoe', [
        ['old', [c2c('x')]],
        ['friends', peers('zoe-q', 5)],
        ['old', []],
      ]),
    );
    expect(back.find((p) => p.user === 'zoe')?.remoteDigest).toBe(zoe);
    expect(zoe).not.toBe(EMPTY_REMOTE_DIGEST);
    expect(back.find((p) => p.user === 'alice')?.remoteDigest).toBe(EMPTY_REMOTE_DIGEST);
    // The digest ignores group ids and the order the service lists groups and members in.
    expect(
      digestRemote({
        user: 'zoe',
        groups: [
          { groupId: 9, name: 'friends', conversations: [...peers('zoe-q', 5)].reverse() },
          { groupId: 7, name: 'old', conversations: [] },
          { groupId: 8, name: 'old', conversations: [c2c('x')] },
        ],
      }),
    ).toBe(zoe);
  });

  it('is byte-identical whatever order users arrive in, also when the external sort spills', async () => {
    const plans = samplePlans();
    const reference = join(dir, 'reference.plan');
    await writePlanFile(reference, header, plans, summarize(plans));
    const expected = await readFile(reference);
    const spillDir = join(dir, 'spills');
    await rm(spillDir, { recursive: true, force: true });
    await mkdir(spillDir);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.shuffledSubarray(plans, { minLength: plans.length, maxLength: plans.length }),
        fc.integer({ min: 1, max: 5 }),
        async (order, maxBufferedRecords) => {
          const path = join(dir, `shuffled-${run++}.plan`);
          const writer = new PlanFileWriter(path, header, { tmpDir: spillDir, maxBufferedRecords, fanIn: 2 });
          for (const p of order) await writer.add(p);
          expect(writer.spilledRuns).toBeGreaterThan(0);
          await writer.finish(summarize(order));
          expect(await readFile(path)).toEqual(expected);
          expect(await readdir(spillDir)).toEqual([]);
          await rm(path);
        },
      ),
      { numRuns: 15 },
    );
  });

  it('cleans up its temporary files and writes nothing when a user comes twice', async () => {
    const plans = samplePlans();
    const spillDir = join(dir, 'spills-dup');
    await mkdir(spillDir);
    const path = join(dir, 'dup.plan');
    const twice = [...plans, plans[0] as UserPlan];
    const err = await writePlanFile(path, header, twice, summarize(plans), {
      tmpDir: spillDir,
      maxBufferedRecords: 2,
    }).catch((e: unknown) => e);
    expect(isSyncError(err, 'INVALID_INPUT')).toBe(true);
    expect(await readdir(spillDir)).toEqual([]);
    expect((await readdir(dir)).filter((f) => f.includes('dup.plan'))).toEqual([]);
  });

  it('cleans up when the plan source fails midway', async () => {
    const spillDir = join(dir, 'spills-fail');
    await mkdir(spillDir);
    async function* failing() {
      for (const p of samplePlans().slice(0, 5)) yield p;
      throw new Error('reader broke');
    }
    const path = join(dir, 'fail.plan');
    await expect(
      writePlanFile(path, header, failing(), summarize([]), { tmpDir: spillDir, maxBufferedRecords: 1 }),
    ).rejects.toThrow('reader broke');
    expect(await readdir(spillDir)).toEqual([]);
    expect((await readdir(dir)).filter((f) => f.includes('fail.plan'))).toEqual([]);
  });

  it('writes an empty plan (no users) that reads back', async () => {
    const path = join(dir, 'empty.plan');
    await writePlanFile(path, header, [], summarize([]));
    const file = await readPlanFile(path);
    expect(await collect(file.users)).toEqual([]);
    expect(file.summary.users).toBe(0);
  });
});

describe('readPlanFile refuses broken files with the line number', () => {
  let good: string[];
  beforeEach(async () => {
    const plans = samplePlans().slice(0, 4);
    const path = join(dir, 'good.plan');
    await writePlanFile(path, header, plans, summarize(plans));
    good = (await readFile(path, 'utf8')).split('\n').slice(0, -1);
  });

  async function readBroken(lines: string[], raw?: string): Promise<unknown> {
    const path = join(dir, `broken-${Math.random().toString(36).slice(2)}.plan`);
    await writeFile(path, raw ?? `${lines.join('\n')}\n`);
    try {
      const file = await readPlanFile(path);
      await file.validate();
      await collect(file.users);
      return undefined;
    } catch (err) {
      return err;
    }
  }

  const expectError = (err: unknown, pattern: RegExp, line?: number) => {
    expect(isSyncError(err, 'CHECKPOINT'), String(err)).toBe(true);
    expect((err as Error).message).toMatch(pattern);
    if (line !== undefined) expect((err as { context: { line?: number } }).context.line).toBe(line);
  };

  it('accepts the file as written', async () => {
    expect(await readBroken(good)).toBeUndefined();
  });

  it('a truncated file', async () => {
    const text = `${good.join('\n')}\n`;
    expectError(await readBroken([], text.slice(0, text.length - 40)), /last line: the line is not complete/);
    expectError(await readBroken(good.slice(0, 4)), /last line: expected the digest line/);
    expectError(await readBroken(good.slice(0, -1)), /last line: expected the digest line/);
    expectError(await readBroken([], ''), /line 1: the file is empty/);
  });

  it('another format or version', async () => {
    expectError(
      await readBroken([good[0]?.replace('"version":2', '"version":3') ?? '', ...good.slice(1)]),
      /line 1: version: plan version 3 is not supported/,
      1,
    );
    expectError(
      await readBroken([good[0]?.replace('"version":2', '"version":1') ?? '', ...good.slice(1)]),
      /line 1: version: plan version 1 was made by an older cgsync: .*make the plan again/,
      1,
    );
    expectError(
      await readBroken(['{"format":"other"}', ...good.slice(1)]),
      /line 1: format: expected "cgsync-plan"/,
      1,
    );
  });

  it('an edited operation, a bad field, bad JSON', async () => {
    const edited = [...good];
    edited[2] = (edited[2] ?? '').replace(/"add":\["1:/, '"add":["1:X');
    expectError(
      await readBroken(edited),
      /line 3: operations\[0\]\.id: [0-9a-f]{16} does not match the operation's content/,
      3,
    );
    const bad = [...good];
    bad[3] = (bad[3] ?? '').replace('"kind":"create"', '"kind":"rename"');
    expectError(
      await readBroken(bad),
      /line 4: operations\[\d+\]\.kind: expected one of "create", "update", "delete", got "rename"/,
      4,
    );
    const notJson = [...good];
    notJson[2] = '{"user":';
    expectError(await readBroken(notJson), /line 3: not valid JSON/, 3);
  });

  it('users out of order, repeated, counted wrong, or after the summary', async () => {
    const swapped = [good[0], good[2], good[1], ...good.slice(3)] as string[];
    expectError(await readBroken(swapped), /line 3: user .* comes after/, 3);
    const repeated = [good[0], good[1], good[1], ...good.slice(2)] as string[];
    expectError(await readBroken(repeated), /line 3: user .* comes after/, 3);
    const missing = [good[0], ...good.slice(2)] as string[];
    expectError(await readBroken(missing), /line 5: the file holds 3 users but its summary says 4/, 5);
    expectError(
      await readBroken([...good.slice(0, -1), good.at(-2) as string, good.at(-1) as string]),
      /line 8: a line after the digest line/,
      8,
    );
  });

  it('an edit that keeps each line valid (id recomputed) is caught by the digest', async () => {
    const edited = [...good];
    const line = JSON.parse(edited[4] ?? '');
    const op = line.operations.find((o: { kind: string }) => o.kind === 'create');
    op.group = 'renamed';
    op.id = assignOperationIds([
      { kind: 'create', user: line.user, group: 'renamed', add: op.add.map(key) },
    ])[0]?.id;
    edited[4] = JSON.stringify(line);
    expectError(await readBroken(edited), /last line: the digest does not match the file: it was edited/);
  });

  it('a plan whose digest was forged still meets every limit, or is refused at the line', async () => {
    const user = 'mallory';
    const base = planUser(desiredUser(user, { g: [c2c('a')] }), undefined, {
      mode: 'merge',
      assumeEmpty: true,
    });
    const forged = (operations: UserPlan['operations']): UserPlan => ({ ...base, operations });
    const ids = (drafts: Parameters<typeof assignOperationIds>[0]) => assignOperationIds(drafts);
    const cases: [string, UserPlan, RegExp][] = [
      [
        '101 items',
        forged(ids([{ kind: 'create', user, group: 'g', add: peers('p', 101) }])),
        /operations\[0\]: 101 items, the limit is 100 per call/,
      ],
      [
        'an empty update',
        forged(ids([{ kind: 'update', user, group: 'g', add: [], remove: [] }])),
        /operations\[0\]: an update with no item/,
      ],
      [
        'a 65-byte name',
        forged(ids([{ kind: 'create', user, group: `${'é'.repeat(32)}x`, add: [] }])),
        /operations\[0\]\.group: 65 bytes, the limit is 64/,
      ],
      [
        'a delete in a merge plan',
        forged(ids([{ kind: 'delete', user, group: 'g' }])),
        /operations\[0\]\.kind: a delete in a merge plan/,
      ],
      [
        'a removal in a merge plan',
        forged(ids([{ kind: 'update', user, group: 'g', add: [], remove: [c2c('a')] }])),
        /operations\[0\]\.remove: a removal in a merge plan/,
      ],
    ];
    // 21 groups: over the limit of 20, so the planner left the user out (violations, no operation).
    const over = planUser(
      desiredUser(user, Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`g${i}`, [c2c('a')]]))),
      undefined,
      { mode: 'merge', assumeEmpty: true },
    );
    expect(over.violations.length).toBeGreaterThan(0);
    expect(over.operations).toEqual([]);
    cases.push([
      'operations for a user over a limit',
      { ...over, operations: ids([{ kind: 'create', user, group: 'g0', add: [c2c('a')] }]) },
      /operations: a user over a limit \(violations\) must have no operations/,
    ]);
    const merge = createPlanHeader({ mode: 'merge', assumeEmpty: true, options: {} });
    // At the limit: a 64-byte name passes.
    const at64 = join(dir, 'forged-64-bytes.plan');
    const named = forged(ids([{ kind: 'create', user, group: `${'é'.repeat(31)}xx`, add: [] }]));
    await writePlanFile(at64, merge, [named], () => summarize([named]));
    await (await readPlanFile(at64)).validate();
    for (const [name, plan, message] of cases) {
      const path = join(dir, `forged-${name.replaceAll(' ', '-')}.plan`);
      await writePlanFile(path, merge, [plan], () => summarize([plan]));
      const file = await readPlanFile(path);
      const err = await file.validate().then(
        () => undefined,
        (e: unknown) => e,
      );
      expectError(err, message, 2);
    }
  });

  it('a summary or header that does not match its users is refused', async () => {
    const plans = samplePlans().slice(0, 2);
    const path = join(dir, 'input-digest.plan');
    await writePlanFile(path, header, plans, summarize(plans));
    const lines = (await readFile(path, 'utf8')).split('\n').slice(0, -1);
    lines[0] = (lines[0] ?? '').replace(/"inputDigest":"[0-9a-f]+"/, `"inputDigest":"${'0'.repeat(64)}"`);
    const body = `${lines.slice(0, -1).join('\n')}\n`;
    const text = `${body}{"digest":"${createHash('sha256').update(body).digest('hex')}"}\n`;
    expectError(await readBroken([], text), /line 1: inputDigest does not match/);
  });

  it('a file changed between validation and use is refused', async () => {
    const plans = samplePlans().slice(0, 2);
    const path = join(dir, 'changed.plan');
    await writePlanFile(path, header, plans, summarize(plans));
    const file = await readPlanFile(path);
    await file.validate();
    await writeFile(path, `${await readFile(path, 'utf8')}\n`);
    await expect(collect(file.users)).rejects.toThrow(/changed while it was being used/);
  });

  it('a missing file is an IO error', async () => {
    const path = join(dir, 'nope.plan');
    const err = await readPlanFile(path).catch((e: unknown) => e);
    expect(isSyncError(err, 'IO')).toBe(true);
    expect((err as Error).message).toBe(
      `cannot read plan file ${path}: ENOENT: no such file or directory, open '${path}'`,
    );
    expect((err as { context: unknown }).context).toEqual({ path });
    expect((err as Error).cause).toMatchObject({ code: 'ENOENT', syscall: 'open' });
  });
});

describe('reading a plan file releases its file', () => {
  // The open descriptors are counted in /proc (Linux, where CI runs).
  it.skipIf(!existsSync('/proc/self/fd'))(
    'isPlanFile, readPlanFile (of a plan and of a broken file) and a walk over the users left early',
    async () => {
      const plans = samplePlans().slice(0, 3);
      const path = join(dir, 'fds.plan');
      await writePlanFile(path, header, plans, summarize(plans));
      const broken = join(dir, 'fds-broken.plan');
      await writeFile(broken, 'not a plan\n');
      const fds = async () => (await readdir('/proc/self/fd')).length;
      const before = await fds();
      for (let i = 0; i < 10; i++) {
        expect(await isPlanFile(path)).toBe(true);
        expect(await isPlanFile(broken)).toBe(false);
        const file = await readPlanFile(path);
        await file.validate();
        for await (const user of file.users) {
          expect(user.user).toBe(plans.map((p) => p.user).sort()[0]);
          break;
        }
        expect(isSyncError(await readPlanFile(broken).catch((e: unknown) => e), 'CHECKPOINT')).toBe(true);
      }
      // A stream closes its descriptor asynchronously after destroy().
      await vi.waitFor(async () => expect(await fds()).toBeLessThanOrEqual(before), { timeout: 2000 });
    },
  );
});
