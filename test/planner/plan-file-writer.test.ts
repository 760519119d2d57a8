import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { isSyncError } from '../../src/errors.js';
import { sha256Hex } from '../../src/planner/canonical.js';
import { LineFileWriter } from '../../src/planner/line-file.js';
import {
  ContentDigest,
  createPlanHeader,
  PlanFileWriter,
  readPlanFile,
  writePlanFile,
} from '../../src/planner/plan-file.js';
import { serializeHeader, serializeUserPlan } from '../../src/planner/plan-file-format.js';
import { planUser } from '../../src/planner/plan-user.js';
import { RunBuilder } from '../../src/planner/sort-runs.js';
import { SummaryBuilder } from '../../src/planner/summary.js';
import { c2c, desiredUser } from './fixtures.js';

// The plan file writer's other ways in (runs of users planned elsewhere) and its misuse, and the
// header line with what it may hold.

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cgsync-plan-writer-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const options = { mode: 'merge', assumeEmpty: true } as const;
const plan = (user: string) => planUser(desiredUser(user, { g: [c2c(`${user}-peer`)] }), undefined, options);
const summaryOf = (users: number) => {
  const b = new SummaryBuilder(options);
  for (let i = 0; i < users; i++) b.addUser(plan(`u${i}`));
  return b.result();
};

describe('PlanFileWriter', () => {
  it('writes users added as runs (planned elsewhere) as it writes them added one by one', async () => {
    const header = createPlanHeader({ ...options, options: {} });
    const plans = ['u2', 'u0', 'u1'].map(plan);
    const direct = join(dir, 'direct.plan');
    await writePlanFile(direct, header, plans, summaryOf(3));
    const runs = join(dir, 'runs.plan');
    const writer = new PlanFileWriter(runs, header, { tmpDir: dir });
    // Two parts, as two plan threads would hand them over: records sorted in a run, the sum of digests.
    for (const part of [plans.slice(0, 2), plans.slice(2)]) {
      const run = new RunBuilder();
      const content = new ContentDigest();
      for (const p of part) {
        run.add(p.user, serializeUserPlan(p));
        content.add(p.desiredDigest);
      }
      await writer.addRun(run.finish(), content.sum());
    }
    await writer.finish(summaryOf(3));
    expect(await readFile(runs, 'utf8')).toBe(await readFile(direct, 'utf8'));
    await (await readPlanFile(runs)).validate();
  });

  it('refuses to be used after finish() or abort(), and finish() twice', async () => {
    const header = createPlanHeader({ ...options, options: {} });
    const finished = new PlanFileWriter(join(dir, 'finished.plan'), header, { tmpDir: dir });
    await finished.add(plan('a'));
    await finished.finish(summaryOf(1));
    await expect(finished.add(plan('b'))).rejects.toThrow('PlanFileWriter: add() after finish() or abort()');
    await expect(finished.addRun(new RunBuilder().finish(), '0')).rejects.toThrow(
      'PlanFileWriter: add() after finish() or abort()',
    );
    await expect(finished.finish(summaryOf(1))).rejects.toThrow('PlanFileWriter: finish() called twice');
    const aborted = new PlanFileWriter(join(dir, 'aborted.plan'), header, { tmpDir: dir });
    await aborted.abort();
    await expect(aborted.add(plan('a'))).rejects.toThrow('add() after finish() or abort()');
    expect((await readdir(dir)).filter((f) => f.startsWith('aborted'))).toEqual([]);
  });

  it('refuses a run out of order or holding a user twice, and leaves no file', async () => {
    const header = createPlanHeader({ ...options, options: {} });
    const line = (user: string) => serializeUserPlan(plan(user));
    const raw = (...users: string[]) =>
      new Uint8Array(Buffer.from(users.map((u) => `${JSON.stringify(u)}\t${line(u)}\n`).join('')));
    const outOfOrder = new PlanFileWriter(join(dir, 'order.plan'), header, { tmpDir: dir });
    await outOfOrder.addRun(raw('b', 'a'), '0');
    await expect(outOfOrder.finish(summaryOf(2))).rejects.toThrow(
      'PlanFileWriter: a sorted run is out of order at user a',
    );
    const twice = new PlanFileWriter(join(dir, 'twice.plan'), header, { tmpDir: dir });
    await twice.addRun(raw('a', 'a'), '0');
    const err = await twice.finish(summaryOf(2)).catch((e: unknown) => e);
    expect(isSyncError(err, 'INVALID_INPUT')).toBe(true);
    expect((err as Error).message).toBe('user a was planned twice; each user must come once');
    expect((err as { context: unknown }).context).toEqual({ user: 'a' });
    expect((await readdir(dir)).filter((f) => f.startsWith('order') || f.startsWith('twice'))).toEqual([]);
  });

  it('a file that cannot be written is an IO error naming it', async () => {
    const path = join(dir, 'no-such-dir', 'x.plan');
    const err = await writePlanFile(
      path,
      createPlanHeader({ ...options, options: {} }),
      [],
      summaryOf(0),
    ).catch((e: unknown) => e);
    expect(isSyncError(err, 'IO')).toBe(true);
    expect((err as Error).message).toMatch(
      new RegExp(`^cannot write plan file ${escapeRegExp(path)}: ENOENT`),
    );
    expect((err as { context: unknown }).context).toEqual({ path });
    // The cause is the failed open itself, not a clean-up of the temporary file that was never made.
    expect((err as Error).cause).toMatchObject({ code: 'ENOENT', syscall: 'open' });
  });

  it('an error with a string code from the plans is an IO error around it; any other passes as it is', async () => {
    const header = createPlanHeader({ ...options, options: {} });
    const failing = (err: Error) =>
      (async function* () {
        yield plan('u0');
        throw err;
      })();
    const io = Object.assign(new Error('disk gone'), { code: 'EIO' });
    const wrapped = await writePlanFile(join(dir, 'eio.plan'), header, failing(io), summaryOf(1)).catch(
      (e: unknown) => e,
    );
    expect(isSyncError(wrapped, 'IO')).toBe(true);
    expect((wrapped as Error).cause).toBe(io);
    for (const other of [Object.assign(new Error('odd'), { code: 7 }), new Error('plain')]) {
      const thrown = await writePlanFile(join(dir, 'odd.plan'), header, failing(other), summaryOf(1)).catch(
        (e: unknown) => e,
      );
      expect(thrown).toBe(other);
    }
  });

  it('closes the finished file with an fsync before renaming it into place', async () => {
    const close = vi.spyOn(LineFileWriter.prototype, 'close');
    try {
      await writePlanFile(
        join(dir, 'synced.plan'),
        createPlanHeader({ ...options, options: {} }),
        [plan('u0')],
        summaryOf(1),
      );
      expect(close.mock.calls).toEqual([[{ sync: true }]]);
    } finally {
      close.mockRestore();
    }
  });
});

describe('the header line', () => {
  it('holds when and by what the plan was made, and the target only when there is one', () => {
    const base = { ...createPlanHeader({ mode: 'mirror', assumeEmpty: false, options: { z: 1, a: [2] } }) };
    const digest = 'f'.repeat(64);
    expect(serializeHeader({ ...base, inputDigest: digest })).toBe(
      `{"format":"cgsync-plan","version":2,"mode":"mirror","assumeEmpty":false,"inputDigest":"${digest}","options":{"a":[2],"z":1}}`,
    );
    expect(serializeHeader({ ...base, inputDigest: digest, made: { at: 'T', by: 'cgsync 1' } })).toBe(
      `{"format":"cgsync-plan","version":2,"mode":"mirror","assumeEmpty":false,"inputDigest":"${digest}","options":{"a":[2],"z":1},"made":{"at":"T","by":"cgsync 1"}}`,
    );
    expect(
      serializeHeader({
        ...base,
        inputDigest: digest,
        made: { at: 'T', by: 'cgsync 1', target: { sdkAppId: 1400000001, host: 'h' } },
      }),
    ).toBe(
      `{"format":"cgsync-plan","version":2,"mode":"mirror","assumeEmpty":false,"inputDigest":"${digest}","options":{"a":[2],"z":1},"made":{"at":"T","by":"cgsync 1","target":{"host":"h","sdkAppId":1400000001}}}`,
    );
  });

  it('its content digest is the same for the same users in any order, and added as parts', () => {
    const [a, b, c] = ['a', 'b', 'c'].map((u) => plan(u).desiredDigest) as [string, string, string];
    const one = new ContentDigest();
    for (const d of [a, b, c]) one.add(d);
    const other = new ContentDigest();
    for (const d of [c, a, b]) other.add(d);
    const part = new ContentDigest();
    part.add(b);
    const parts = new ContentDigest();
    parts.add(a);
    parts.addSum(part.sum());
    parts.add(c);
    expect(other.digest()).toBe(one.digest());
    expect(parts.digest()).toBe(one.digest());
    expect(one.digest()).toMatch(/^[0-9a-f]{64}$/);
    // Of no user: the sha256 of 64 zeros; the sum wraps at 2^256.
    expect(new ContentDigest().sum()).toBe('0');
    const wrap = new ContentDigest();
    wrap.add('f'.repeat(64));
    wrap.add(`${'0'.repeat(63)}1`);
    expect(wrap.sum()).toBe('0');
    expect(wrap.digest()).toBe(new ContentDigest().digest());
  });
});

describe('the content digest and the user line, exactly', () => {
  it("sums the users' digests mod 2^256, and hashes the sum as 64 hex digits", () => {
    const one = new ContentDigest();
    one.add(`${'0'.repeat(63)}1`);
    expect(one.sum()).toBe('1');
    expect(one.digest()).toBe(sha256Hex(`${'0'.repeat(63)}1`));
    const carried = new ContentDigest();
    carried.add('f'.repeat(64));
    carried.add('f'.repeat(64));
    expect(carried.sum()).toBe(`${'f'.repeat(63)}e`);
    const parts = new ContentDigest();
    parts.add(`${'0'.repeat(63)}2`);
    parts.addSum('3');
    expect(parts.sum()).toBe('5');
  });

  it('leaves an empty list of duplicate groups out of a user line, and writes a list that is not empty', () => {
    expect(JSON.parse(serializeUserPlan({ ...plan('a'), duplicateGroups: [] }))).not.toHaveProperty(
      'duplicateGroups',
    );
    const dup = { ...plan('a'), duplicateGroups: [{ name: 'd', groupIds: [1, 2] }] };
    expect(JSON.parse(serializeUserPlan(dup)).duplicateGroups).toEqual([{ name: 'd', groupIds: [1, 2] }]);
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
