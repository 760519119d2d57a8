import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isSyncError } from '../../src/errors.js';
import { DEFAULT_CONCURRENCY } from '../../src/planner/estimate.js';
import {
  createPlanHeader,
  type PlanHeaderDraft,
  readPlanFile,
  writePlanFile,
} from '../../src/planner/plan-file.js';
import { planUser } from '../../src/planner/plan-user.js';
import { SummaryBuilder } from '../../src/planner/summary.js';
import type { UserPlan } from '../../src/planner/types.js';
import { c2c, desiredUser, grp, peers, remoteUser } from './fixtures.js';

// Every field of a plan file is read back as written, and every field is checked: a wrong or missing
// value is refused with the line, the field's path and what was given (PLAN-FORMAT.md).

let dir: string;
let good: string[];
let plans: UserPlan[];
const long = `long-${'n'.repeat(30)}`; // 35 bytes: past the update page's 32-byte reading of a name

let header: PlanHeaderDraft;

function richPlans(): UserPlan[] {
  const mirror = { mode: 'mirror', assumeEmpty: false } as const;
  const alice = planUser(
    desiredUser('alice', {
      keep: [c2c('a'), c2c('b')],
      [long]: [c2c('q'), c2c('r')],
      fresh: [grp('@TGS#1')],
    }),
    remoteUser('alice', [
      ['keep', [c2c('a'), c2c('x')]],
      ['dup', [c2c('d')]],
      ['dup', []],
      [long, [c2c('q')]],
    ]),
    mirror,
  );
  const bob = planUser(
    desiredUser('bob', { keep: [c2c('a'), c2c('b')] }, { hasRejectedRows: true }),
    remoteUser('bob', [
      ['keep', [c2c('a')]],
      ['gone', [c2c('z')]],
    ]),
    mirror,
  );
  const carol = planUser(
    desiredUser('carol', Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`g${i}`, []]))),
    remoteUser('carol', []),
    mirror,
  );
  const dan = planUser(desiredUser('dan', { big: peers('p', 120) }), remoteUser('dan', []), mirror);
  return [alice, bob, carol, dan];
}

function richSummary(users: readonly UserPlan[]) {
  const b = new SummaryBuilder({
    mode: 'mirror',
    assumeEmpty: false,
    rate: 150,
    concurrency: 7,
    listLimit: 5,
  });
  for (const p of users) b.addUser(p);
  b.setLatency(12.5);
  b.setObservedRate(90);
  b.addUnreadable({ user: 'erin', errorCode: 70107, message: 'user not found' });
  b.addUnreadable({ user: 'fay', errorCode: 'TRANSPORT', message: 'socket hang up' });
  b.addRejection({ line: 7, rule: 'group-too-long', message: 'line 7: GroupName is too long', value: 'x' });
  b.addRejection({ line: 3, rule: 'missing-user', message: 'line 3: From_Account is empty' });
  return b.result();
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cgsync-plan-fields-'));
});
// The plan is made and written again before each test, not once for the file: code run outside a test
// (at a module's top, in a beforeAll) is "static" to Stryker, which then runs every test against each
// mutant of it.
beforeEach(async () => {
  header = createPlanHeader({
    mode: 'mirror',
    assumeEmpty: false,
    options: { rate: 200, shard: '0/2' },
    made: {
      at: '2026-01-02T03:04:05.000Z',
      by: 'cgsync test',
      target: { sdkAppId: 1400000001, host: 'adminapisgp.im.qcloud.com' },
    },
  });
  plans = richPlans();
  const path = join(dir, 'rich.plan');
  await writePlanFile(path, header, plans, richSummary(plans));
  good = (await readFile(path, 'utf8')).split('\n').slice(0, -1);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let files = 0;
/**
 * Reads the lines as a plan file (opened, validated, users read): the error, or what was read. The
 * digest line is made again for the edited lines, so that only the edit itself can be refused.
 */
async function read(lines: readonly string[]) {
  const path = join(dir, `case-${files++}.plan`);
  const body = `${lines.slice(0, -1).join('\n')}\n`;
  await writeFile(path, `${body}{"digest":"${createHash('sha256').update(body).digest('hex')}"}\n`);
  try {
    const file = await readPlanFile(path);
    await file.validate();
    const users: UserPlan[] = [];
    for await (const u of file.users) users.push(u);
    return { file, users };
  } catch (err) {
    return { err };
  } finally {
    await rm(path, { force: true });
  }
}

/** The line kinds of a plan file, by index in `good`, with how an error names them. */
const kinds = () => {
  const summary = good.length - 2;
  return [
    { name: 'header', index: 0, where: 'line 1' },
    ...good
      .slice(1, summary)
      .map((_, i) => ({ name: `user line ${i + 2}`, index: i + 1, where: `line ${i + 2}` })),
    { name: 'summary', index: summary, where: 'before last line' },
  ];
};

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every value below the top of a line, with its path as the reader names it (`a.b[0].c`). */
function* fields(value: Json, path = ''): Generator<{ path: string; parent: Json; key: string | number }> {
  if (value === null || typeof value !== 'object') return;
  const entries: [string | number, Json][] = Array.isArray(value)
    ? value.slice(0, 2).map((v, i) => [i, v])
    : Object.entries(value);
  for (const [key, child] of entries) {
    const at = typeof key === 'number' ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`;
    // The header's options are whatever shaped the plan: any JSON.
    if (at.startsWith('options.')) continue;
    yield { path: at, parent: value, key };
    yield* fields(child, at);
  }
}

/** The line with the value at `path` replaced (or removed, with `undefined`). */
function edit(line: string, path: string, replace: (old: Json) => Json | undefined): string {
  const value = JSON.parse(line) as Json;
  for (const f of fields(value)) {
    if (f.path !== path) continue;
    const parent = f.parent as Record<string | number, Json>;
    const next = replace(parent[f.key] as Json);
    if (next === undefined) delete parent[f.key];
    else parent[f.key] = next;
    return JSON.stringify(value);
  }
  throw new Error(`no field ${path}`);
}

const errorOf = (result: Awaited<ReturnType<typeof read>>): string => {
  expect(result.err, 'the edited file was accepted').toBeDefined();
  expect(isSyncError(result.err, 'CHECKPOINT'), String(result.err)).toBe(true);
  return (result.err as Error).message;
};

/** Fields whose absence is allowed (older plans, or nothing to say), with what is read instead. */
const OPTIONAL = [
  /^made$/,
  /^made\.target$/,
  /^operations\[\d+\]\.held$/,
  /^downgradedToMerge$/,
  /^duplicateGroups$/,
  /^stats\.desired(Groups|Conversations|Memberships)$/,
  /^summary\.(latencyMs|concurrency|observedCallsPerSecond|estimatedReadSeconds|largestChanges)$/,
  /^summary\.(unreadable|longNames)$/,
  /^summary\.rejectedRows\.first\[\d+\]\.value$/,
];

describe('a plan file reads back every field it was written with', () => {
  it('header (with when, by what and for which app), users, summary', async () => {
    const { file, users, err } = await read(good);
    expect(err).toBeUndefined();
    const summary = richSummary(plans);
    // The fixture reaches every optional part of the format.
    expect(summary.unreadable?.first.map((u) => u.errorCode)).toEqual([70107, 'TRANSPORT']);
    expect(summary.longNames).toEqual({
      groups: 1,
      updatedNow: 1,
      first: [{ user: 'alice', group: long, bytes: 35, updateNow: true }],
    });
    expect(summary.rejectedRows.first.map((r) => r.value)).toEqual([undefined, 'x']);
    expect(summary.largestChanges.length).toBeGreaterThan(0);
    expect(file?.header).toEqual({ ...header, inputDigest: file?.header.inputDigest });
    expect(file?.summary).toEqual(summary);
    // Name risks are the summary's (`longNames`), not written per user.
    expect(users).toEqual(plans.map(({ nameRisks: _, ...p }) => p));
    const alice = users?.find((u) => u.user === 'alice');
    expect(alice?.duplicateGroups).toEqual([{ name: 'dup', groupIds: [2, 3] }]);
    expect(alice?.operations.filter((op) => op.kind === 'delete')).toMatchObject([
      { group: 'dup', held: [c2c('d')] },
      { group: 'dup', held: [c2c('d')] },
    ]);
    expect(users?.find((u) => u.user === 'bob')?.downgradedToMerge).toBe(true);
    expect(users?.find((u) => u.user === 'carol')?.violations.map((v) => v.limit)).toEqual(['groups']);
  });

  it('a plan written before the optional fields existed reads with their defaults', async () => {
    const lines = [...good];
    lines[0] = edit(lines[0] as string, 'made', () => undefined);
    const s = lines.length - 2;
    for (const k of [
      'latencyMs',
      'concurrency',
      'observedCallsPerSecond',
      'estimatedReadSeconds',
      'largestChanges',
    ]) {
      lines[s] = edit(lines[s] as string, `summary.${k}`, () => undefined);
    }
    const { file, err } = await read(lines);
    expect(err).toBeUndefined();
    expect(file?.header.made).toBeUndefined();
    expect(file?.summary).toMatchObject({
      latencyMs: 0,
      concurrency: DEFAULT_CONCURRENCY,
      observedCallsPerSecond: 0,
      estimatedReadSeconds: 0,
      largestChanges: [],
    });
  });
});

describe('a plan file with a wrong or missing field is refused, naming the line and the field', () => {
  it('every field of every line, of the wrong type', async () => {
    let checked = 0;
    for (const { index, where } of kinds()) {
      for (const { path, parent, key } of [...fields(JSON.parse(good[index] as string))]) {
        const old = (parent as Record<string | number, Json>)[key] as Json;
        // A value no field takes: an array for a single value, a string for an object or a list.
        const container = old !== null && typeof old === 'object';
        const lines = [...good];
        lines[index] = edit(good[index] as string, path, () => (container ? 'x' : [true]));
        const message = errorOf(await read(lines));
        expect(message, path).toContain(`${where}: ${path}: `);
        if (path === 'version') expect(message).toContain('plan version [true] is not supported');
        else if (path === 'format') expect(message).toMatch(/expected "cgsync-plan" .*, got \[true\]$/);
        else
          expect(message, path).toMatch(
            container ? /: expected an? .*, got "x"$/ : /: expected .*, got an array$/,
          );
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(150);
  });

  it('every required field missing; every optional one may be left out', async () => {
    for (const { index, where } of kinds()) {
      for (const { path, parent } of [...fields(JSON.parse(good[index] as string))]) {
        if (Array.isArray(parent)) continue;
        const lines = [...good];
        lines[index] = edit(good[index] as string, path, () => undefined);
        const result = await read(lines);
        if (OPTIONAL.some((re) => re.test(path))) {
          expect(result.err, path).toBeUndefined();
          continue;
        }
        const message = errorOf(result);
        if (path === 'summary') {
          expect(message).toMatch(/before last line: expected the summary line: the plan file is incomplete/);
          continue;
        }
        expect(message, path).toContain(`${where}: ${path}: `);
        if (path === 'version') expect(message).toContain('plan version undefined is not supported');
        else expect(message, path).toMatch(/, got undefined( \(undefined\))?$/);
      }
    }
  });

  const summaryWith = (path: string, value: Json) => {
    const lines = [...good];
    const s = lines.length - 2;
    lines[s] = edit(lines[s] as string, path, () => value);
    return lines;
  };
  const userWith = (path: string, value: Json) => {
    const lines = [...good];
    lines[1] = edit(lines[1] as string, path, () => value);
    return lines;
  };

  it('counts are whole numbers from 0, rates above 0, times from 0', async () => {
    const cases: [string[], string][] = [
      [
        summaryWith('summary.users', -1),
        'summary.users: expected a whole number from 0 and up, got -1 (number)',
      ],
      [
        summaryWith('summary.users', 1.5),
        'summary.users: expected a whole number from 0 and up, got 1.5 (number)',
      ],
      [
        summaryWith('summary.users', 2 ** 53),
        `summary.users: expected a whole number from 0 and up, got ${2 ** 53} (number)`,
      ],
      [summaryWith('summary.rate', 0), 'summary.rate: expected a number above 0, got 0 (number)'],
      [summaryWith('summary.rate', -2), 'summary.rate: expected a number above 0, got -2 (number)'],
      [
        summaryWith('summary.latencyMs', -1),
        'summary.latencyMs: expected a number from 0 and up, got -1 (number)',
      ],
      [
        summaryWith('summary.estimatedSeconds', -0.5),
        'summary.estimatedSeconds: expected a number from 0 and up, got -0.5 (number)',
      ],
      [summaryWith('summary.assumeEmpty', 'no'), 'summary.assumeEmpty: expected true or false, got "no"'],
      [
        summaryWith('summary.mode', 'Mirror'),
        'summary.mode: expected one of "merge", "mirror", got "Mirror"',
      ],
      [
        summaryWith('summary.mode', 'm'.repeat(41)),
        `summary.mode: expected one of "merge", "mirror", got "${'m'.repeat(40)}…"`,
      ],
      [summaryWith('summary.rejectedRows', null), 'summary.rejectedRows: expected an object, got null'],
      [
        summaryWith('summary.rejectedRows.first', {}),
        'summary.rejectedRows.first: expected an array, got an object',
      ],
      [userWith('user', ''), 'user: expected a non-empty string'],
      [userWith('operations[0].group', ''), 'operations[0].group: expected a non-empty string'],
      [
        userWith('desiredDigest', 'abc'),
        'desiredDigest: expected a string matching /^[0-9a-f]{64}$/, got "abc"',
      ],
      [userWith('operations[0].id', false), 'operations[0].id: expected a string, got false (boolean)'],
    ];
    for (const [lines, problem] of cases) {
      expect(errorOf(await read(lines))).toMatch(new RegExp(`line( 2)?: ${escapeRegExp(problem)}$`));
    }
    // 0 is a count, and a time; it is not a rate.
    expect((await read(summaryWith('summary.latencyMs', 0))).err).toBeUndefined();
    expect((await read(summaryWith('summary.estimatedSeconds', 0))).err).toBeUndefined();
    expect((await read(summaryWith('summary.rate', 0.5))).file?.summary.rate).toBe(0.5);
    // A string of exactly 40 characters is shown whole.
    expect(errorOf(await read(summaryWith('summary.mode', 'm'.repeat(40))))).toMatch(
      new RegExp(`got "${'m'.repeat(40)}"$`),
    );
  });

  it('when and for which app the plan was made must say so', async () => {
    const headerWith = (path: string, value: Json) => {
      const lines = [...good];
      lines[0] = edit(lines[0] as string, path, () => value);
      return lines;
    };
    expect(errorOf(await read(headerWith('made.at', 'yesterday')))).toMatch(
      /line 1: made\.at: expected an ISO 8601 time, got "yesterday"$/,
    );
    expect(errorOf(await read(headerWith('made.at', '')))).toMatch(
      /line 1: made\.at: expected a non-empty string$/,
    );
    expect(errorOf(await read(headerWith('made.target.host', '')))).toMatch(
      /line 1: made\.target\.host: expected a non-empty string$/,
    );
    expect((await read(headerWith('made.by', ''))).file?.header.made?.by).toBe('');
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
