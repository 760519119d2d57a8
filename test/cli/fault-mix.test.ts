import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import type { EmulatorOptions } from '../../src/emulator/index.js';
import { ERROR_CODES, type ErrorClass } from '../../src/tencent/error-codes.js';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { expectedState } from '../helpers/expected-state.js';
import { memoryIo } from '../helpers/io.js';

/**
 * Every error code the emulator can be told to answer (`faultMix`, `itemFaultMix`), over HTTP, and
 * what the executor does with each class: the codes of the five pages and every public code cgsync
 * classifies. Transient and rate-limit answers are retried to the exact end state; a fatal one stops
 * the run (exit 1) naming the code; a permanent one fails its rows, with the code in the failures
 * file, and the run goes on (exit 4).
 */

/** The codes printed on the five pages (../shared/api-docs/). */
const PAGE_CODES = [
  50001, 50002, 50003, 50004, 50005, 51006, 51007, 51008, 51009, 51010, 51011, 51012, 51013,
];

let dir: string;
let t: TestEmulator | undefined;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cgsync-fault-mix-'));
  const rows: string[] = [];
  for (let u = 0; u < 5; u++) {
    for (const group of ['Family', 'Work']) {
      for (let i = 0; i < 4; i++) rows.push(`u${u},${group},1,p${u}${i},`);
    }
    rows.push(`u${u},Empty,,,`);
  }
  await writeFile(
    join(dir, 'in.csv'),
    `From_Account,GroupName,Type,To_Account,ToGroupId\n${rows.join('\n')}\n`,
  );
});
afterEach(async () => {
  await t?.close();
  t = undefined;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const INPUT_ROWS = 5 * (2 * 4 + 1);

async function run(options: Partial<EmulatorOptions>, name: string) {
  t = await startTestEmulator({ latencyMs: 1, ...options });
  const io = memoryIo(t.env, dir);
  const code = await runCli(
    ['apply', 'in.csv', '--checkpoint', `${name}.ndjson`, '--failures', `${name}.csv`, '--json'],
    io,
  );
  let failures: Record<string, string>[] = [];
  try {
    failures = parse(await readFile(join(dir, `${name}.csv`), 'utf8'), { columns: true }) as Record<
      string,
      string
    >[];
  } catch {
    // no failures file: nothing failed
  }
  return { code, out: io.out(), err: io.err(), failures, emulator: t };
}

const codesOf = (...classes: ErrorClass[]) =>
  [...ERROR_CODES].filter(([, info]) => classes.includes(info.class)).map(([code]) => code);

describe('the fault mix covers every code of the five pages', () => {
  it('each is classified, so the executor knows what to do with it', () => {
    for (const code of PAGE_CODES) expect(ERROR_CODES.has(code), String(code)).toBe(true);
  });
});

describe('transient and rate-limit codes: retried through the limiter to the exact end state (exit 0)', () => {
  it.each(codesOf('transient', 'rate_limited'))('%i at 20% of every call', async (code) => {
    const r = await run({ faultMix: { [code]: 0.2 }, seed: code }, `t${code}`);
    expect(r.code, r.err).toBe(0);
    expect((r.emulator as TestEmulator).state()).toEqual(expectedState(join(dir, 'in.csv')));
    const stats = Object.values(r.emulator.emulator.stats().endpoints);
    expect(stats.reduce((n, s) => n + s.faults.mix, 0)).toBeGreaterThan(0);
  });
});

describe('fatal codes: the run stops at the first one, naming it (exit 1)', () => {
  it.each(codesOf('fatal', 'resign'))('%i answered to every write', async (code) => {
    const r = await run(
      { faultMix: { [code]: 1 }, faultEndpoints: ['create_contact_group', 'update_contact_group'] },
      `f${code}`,
    );
    expect(r.code, r.err).toBe(1);
    const summary = JSON.parse(r.out);
    expect(summary.status).toBe('fatal');
    expect(summary.error).toContain(`ErrorCode ${code}`);
  });

  it.each(codesOf('fatal', 'resign'))(
    '%i answered to the credentials check: ends before any write',
    async (code) => {
      const r = await run({ faultMix: { [code]: 1 }, faultEndpoints: ['get_contact_group'] }, `p${code}`);
      expect(r.code).toBe(1);
      expect(r.err).toContain('The credentials check failed');
      expect(r.err).toContain(`ErrorCode ${code}`);
      expect(r.emulator.state()).toEqual({});
    },
  );
});

describe('permanent codes: the rows fail with the code, the run goes on (exit 4)', () => {
  it.each(codesOf('permanent'))('%i answered to every create', async (code) => {
    const r = await run({ faultMix: { [code]: 1 }, faultEndpoints: ['create_contact_group'] }, `c${code}`);
    expect(r.code, r.err).toBe(4);
    const summary = JSON.parse(r.out);
    expect(summary.users.failed).toBe(5);
    // Nothing is lost silently: every row is in the failures file, with the code.
    expect(r.failures).toHaveLength(INPUT_ROWS);
    expect(new Set(r.failures.map((f) => f.error_code))).toEqual(new Set([String(code)]));
    expect(r.emulator.state()).toEqual({});
  });

  it('per-item codes inside successful calls: those items fail with their codes, every other row lands', async () => {
    const r = await run({ itemFaultMix: { 51007: 0.15, 50001: 0.1 }, seed: 4 }, 'items');
    expect(r.code, r.err).toBe(4);
    const state = r.emulator.state();
    const desired = expectedState(join(dir, 'in.csv'));
    const failed = new Set(r.failures.map((f) => `${f.From_Account}/${f.GroupName}/1:${f.To_Account}`));
    expect(new Set(r.failures.map((f) => f.error_code))).toEqual(new Set(['51007', '50001']));
    for (const [user, groups] of Object.entries(desired)) {
      for (const [group, members] of Object.entries(groups)) {
        for (const m of members) {
          const landed = state[user]?.[group]?.includes(m) === true;
          expect(landed !== failed.has(`${user}/${group}/${m}`), `${user}/${group}/${m}`).toBe(true);
        }
      }
    }
  });
});
