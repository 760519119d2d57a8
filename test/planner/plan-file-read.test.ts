import { copyFile, mkdtemp, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSyncError } from '../../src/errors.js';
import { createPlanHeader, readPlanFile, writePlanFile } from '../../src/planner/plan-file.js';
import { planUser } from '../../src/planner/plan-user.js';
import { SummaryBuilder } from '../../src/planner/summary.js';
import type { UserPlan } from '../../src/planner/types.js';
import { c2c, desiredUser } from './fixtures.js';

// Reading a plan file at its edges: files cut before their tail, a validation stopped by its signal,
// a file changed or replaced after it was opened, and the users read without a validation first.

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cgsync-plan-read-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let files = 0;
/** A merge plan of `n` users (u0000, u0001, …) written to a new file: its path. */
async function writePlan(n: number): Promise<string> {
  const options = { mode: 'merge', assumeEmpty: true } as const;
  const plans = Array.from({ length: n }, (_, i) =>
    planUser(desiredUser(`u${String(i).padStart(4, '0')}`, { g: [c2c('a')] }), undefined, options),
  );
  const summary = new SummaryBuilder(options);
  for (const p of plans) summary.addUser(p);
  const path = join(dir, `plan-${files++}.plan`);
  await writePlanFile(path, createPlanHeader({ ...options, options: {} }), plans, summary.result());
  return path;
}

async function failure(
  promise: Promise<unknown>,
): Promise<{ code: string; message: string; context: unknown }> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isSyncError(err), String(err)).toBe(true);
  return err as { code: string; message: string; context: unknown };
}

async function collect(users: AsyncIterable<UserPlan>): Promise<string[]> {
  const out: string[] = [];
  for await (const u of users) out.push(u.user);
  return out;
}

describe('readPlanFile: files cut short', () => {
  it('a header without its line end, a header alone, a header and one more line', async () => {
    const path = await writePlan(1);
    const lines = (await readFile(path, 'utf8')).split('\n');
    const cases: [string, string, object][] = [
      [lines[0] as string, 'line 1: the header line is not complete (truncated?)', { line: 1 }],
      [
        `${lines[0]}\n`,
        'last line: no summary and digest lines: the plan file is incomplete (truncated?)',
        {},
      ],
      [
        `${lines[0]}\n${lines.at(-2)}\n`,
        'last line: no summary and digest lines: the plan file is incomplete (truncated?)',
        {},
      ],
    ];
    for (const [text, problem, where] of cases) {
      const cut = join(dir, `cut-${files++}.plan`);
      await writeFile(cut, text);
      const err = await failure(readPlanFile(cut));
      expect(err.code).toBe('CHECKPOINT');
      expect(err.message).toBe(`plan file ${cut} ${problem}`);
      // Only a numbered line is in the context.
      expect(err.context).toEqual({ path: cut, ...where });
    }
  });
});

describe('PlanFile.validate', () => {
  it('stops at its signal, checked every 1024 lines', async () => {
    const big = await readPlanFile(await writePlan(1030));
    const stop = new Error('stop');
    await expect(big.validate(AbortSignal.abort(stop))).rejects.toBe(stop);
    await big.validate(new AbortController().signal);
    // Below 1024 lines, the signal is never looked at: the file is read to its end.
    const small = await readPlanFile(await writePlan(3));
    await small.validate(AbortSignal.abort(stop));
  });

  it('refuses a file removed, touched or replaced since it was opened', async () => {
    const removed = await writePlan(2);
    const file = await readPlanFile(removed);
    await rm(removed);
    const gone = await failure(file.validate());
    expect(gone.code).toBe('IO');
    expect(gone.message).toMatch(new RegExp(`^cannot read plan file ${escapeRegExp(removed)}: ENOENT`));
    expect(gone.context).toEqual({ path: removed });

    // The same bytes, another modification time.
    const touched = await writePlan(2);
    const before = await readPlanFile(touched);
    await utimes(touched, new Date(1_000_000), new Date(1_000_000));
    const changed = await failure(before.validate());
    expect(changed.code).toBe('CHECKPOINT');
    expect(changed.message).toBe(`plan file ${touched} changed while it was being used`);
    expect(changed.context).toEqual({ path: touched });

    // Another file of the same bytes and time put in its place.
    const replaced = await writePlan(2);
    const at = new Date(1_700_000_000_000);
    await utimes(replaced, at, at);
    const opened = await readPlanFile(replaced);
    await copyFile(replaced, `${replaced}.copy`);
    await utimes(`${replaced}.copy`, at, at);
    await rename(`${replaced}.copy`, replaced);
    expect((await stat(replaced)).mtimeMs).toBe(at.getTime());
    await expect(opened.validate()).rejects.toThrow('changed while it was being used');
  });
});

describe('PlanFile.users read without validating first', () => {
  it('still refuses users out of order, a line after the digest line, and a count the summary does not give', async () => {
    const path = await writePlan(3);
    const good = (await readFile(path, 'utf8')).split('\n').slice(0, -1);
    const read = async (lines: string[]) => {
      const edited = join(dir, `edited-${files++}.plan`);
      await writeFile(edited, `${lines.join('\n')}\n`);
      return collect((await readPlanFile(edited)).users);
    };
    expect(await read(good)).toEqual(['u0000', 'u0001', 'u0002']);
    const swapped = [good[0], good[2], good[1], ...good.slice(3)] as string[];
    expect((await failure(read(swapped))).message).toMatch(
      /line 3: user u0000 comes after u0001: users must be unique, in ascending order$/,
    );
    const after = [...good, good.at(-2) as string, good.at(-1) as string];
    const extra = await failure(read(after));
    expect(extra.message).toMatch(/line 7: a line after the digest line$/);
    expect(extra.context).toMatchObject({ line: 7 });
    const missing = [good[0], ...good.slice(2)] as string[];
    expect((await failure(read(missing))).message).toMatch(
      /line 4: the file holds 2 users but its summary says 3$/,
    );
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
