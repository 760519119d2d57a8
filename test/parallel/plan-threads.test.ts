import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyncError } from '../../src/errors.js';
import { createPlanPool } from '../../src/parallel/plan-pool.js';
import { type InputScan, partitionUnits, type StagedUnit, scanInput } from '../../src/reader/index.js';
import type { runPlanJob as RunPlanJob } from '../../src/sync/plan-job.js';
import { runPlanJob as runPlanJobFromSources } from '../../src/sync/plan-job.js';

/**
 * `cgsync plan --assume-empty` plans users on worker threads (src/parallel/plan-pool.ts), speculatively
 * while a grouped CSV is still being read, and reads a big file in two parts at once. Worker threads
 * run the compiled files (dist/, built by test/global-setup.ts), whether the job itself runs from the
 * build or from the sources: these tests run both, check that the threads really started and the file
 * was really read in two parts, and compare every byte of the plan file and the summary with the same
 * job on one thread.
 */
const DIST_PLAN_JOB = new URL('../../dist/sync/plan-job.js', import.meta.url).href;

let dir: string;
let runBuilt: typeof RunPlanJob;

/** About 3 MiB of staged rows: more than one 2 MiB segment. */
const USERS = 9000;

function row(user: number, group: number, peer: number, line: number): string {
  // A few rows break a rule, a few users break a limit, names are multi-byte, some cells are quoted
  // with line feeds and quotes inside (the two-part reader must not start inside one).
  if (line % 997 === 0) return `u${String(user).padStart(5, '0')},${'长'.repeat(30)},1,p${peer},`;
  if (line % 101 === 0) {
    return `u${String(user).padStart(5, '0')},"组${group}",1,"p${peer}
""quoted""
x",`;
  }
  return `u${String(user).padStart(5, '0')},组${group},${peer % 7 === 0 ? 2 : 1},${peer % 7 === 0 ? '' : `p${peer}`},${peer % 7 === 0 ? `g${peer}` : ''}`;
}

function rows(): string[] {
  const out: string[] = [];
  let line = 2;
  for (let u = 0; u < USERS; u++) {
    const groups = u % 500 === 0 ? 22 : 1 + (u % 4);
    for (let g = 0; g < groups; g++) {
      for (let c = 0; c < 3 + ((u + g) % 5); c++) out.push(row(u, g, u * 31 + g * 7 + c, line++));
    }
  }
  return out;
}

const HEADER = 'From_Account,GroupName,Type,To_Account,ToGroupId';

async function csv(name: string, lines: string[]): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `${HEADER}\n${lines.join('\n')}\n`);
  return path;
}

function shuffled(lines: string[]): string[] {
  const out = [...lines];
  let seed = 7;
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    const j = seed % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

let work: string;
const savedTmp = process.env.TMPDIR;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cgsync-threads-'));
  // The reader's working directories go to os.tmpdir(): a directory of our own, to see them go.
  work = join(dir, 'tmp');
  await mkdir(work);
  process.env.TMPDIR = work;
  runBuilt = ((await import(DIST_PLAN_JOB)) as { runPlanJob: typeof RunPlanJob }).runPlanJob;
});

afterAll(async () => {
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
  await rm(dir, { recursive: true, force: true });
});

describe('planning on worker threads', () => {
  const base = rows();
  const inputs: [string, () => string[]][] = [
    ['sorted', () => base],
    ['shuffled', () => shuffled(base)],
    // Grouped for more than a segment, then a user comes back: the segments planned so far are void.
    ['grouped, then a user again', () => [...base, base[0]!]],
    // The middle of the file is inside one user: both parts hold it, it must be planned once, whole.
    [
      'one user across the middle',
      () => [
        ...Array.from({ length: 22 }, (_, g) => `u00000,g${g},1,p1,`),
        ...Array.from({ length: 950 }, (_, c) =>
          c === 500 ? `u00001,${'长'.repeat(30)},1,p1,` : `u00001,大,1,p${c},`,
        ),
        'u00002,a,2,,g1',
        'u00002,b,2,,g1',
      ],
    ],
  ];

  for (const [name, make] of inputs) {
    it(`gives the same plan file and summary as one thread: ${name}`, async () => {
      const input = await csv(`${name.replaceAll(/\W/g, '-')}.csv`, make());
      const plans: string[] = [];
      const summaries: unknown[] = [];
      const scans: unknown[] = [];
      const rejected: number[][] = [];
      // The last run, on one thread, is the reference.
      for (const [run, threads, splitMinBytes, segmentBytes, parallel] of [
        // Two parts read at once; one worker, then this thread plans too.
        [runBuilt, 2, 1, undefined, { planThreads: 1, parts: 2 }],
        // Two workers, then this thread too.
        [runBuilt, 3, 1, undefined, { planThreads: 2, parts: 2 }],
        // Two parts, many small segments: both parts wait for the threads.
        [runBuilt, 2, 1, 4096, { planThreads: 1, parts: 2 }],
        [runBuilt, 2, 1e12, 4096, { planThreads: 1, parts: 1 }],
        // From the sources, the threads run the build.
        [runPlanJobFromSources, 2, 1, undefined, { planThreads: 1, parts: 2 }],
        [runPlanJobFromSources, 0, undefined, undefined, undefined],
      ] as const) {
        const out = join(dir, `plan-${plans.length}.ndjson`);
        const lines: number[] = [];
        const result = await run({
          input,
          mode: 'mirror',
          assumeEmpty: true,
          out,
          onRejected: (r) => lines.push(r.line),
          ...(threads === undefined ? {} : { threads }),
          ...(splitMinBytes === undefined ? {} : { splitMinBytes }),
          ...(segmentBytes === undefined ? {} : { segmentBytes }),
        });
        // The threads really started, and the file was really read in two parts when it should be.
        expect(result.parallel).toEqual(parallel);
        summaries.push(result.summary);
        scans.push({ ...result.scan, partitions: undefined });
        if (name === 'sorted') expect(result.scan.grouped).toBe(true);
        rejected.push(lines);
        plans.push(await readFile(out, 'utf8'));
        expect(result.summary.rejectedRows.count).toBeGreaterThan(0);
        expect(result.summary.usersOverLimits).toBeGreaterThan(0);
      }
      const last = plans.length - 1;
      for (let i = 0; i < last; i++) {
        expect(plans[i]).toBe(plans[last]);
        expect(summaries[i]).toEqual(summaries[last]);
        expect(scans[i]).toEqual(scans[last]);
        // Rejections are reported in file order, also when the file is read in two parts.
        expect(rejected[i]).toEqual(rejected[last]);
      }
      expect(rejected[last]).toEqual([...rejected[last]!].sort((a, b) => a - b));
      expect(await readdir(work)).toEqual([]);
    });
  }

  it('names the line of bad bytes in the second part as one thread does', async () => {
    const lines = [...base];
    lines[Math.floor(lines.length * 0.8)] = 'u1,\u00ff\u00fe,1,p1';
    const path = join(dir, 'latin1.csv');
    // Latin-1 bytes: not UTF-8.
    await writeFile(path, Buffer.from(`${HEADER}\n${lines.join('\n')}\n`, 'latin1'));
    const errors: Error[] = [];
    for (const [threads, splitMinBytes] of [
      [2, 1],
      [0, undefined],
    ] as const) {
      const error = await runBuilt({
        input: path,
        mode: 'merge',
        assumeEmpty: true,
        threads,
        ...(splitMinBytes === undefined ? {} : { splitMinBytes }),
      }).catch((e: unknown) => e as Error);
      expect(error).toBeInstanceOf(Error);
      errors.push(error as Error);
      expect(await readdir(work)).toEqual([]);
    }
    expect(errors[0]!.message).toMatch(/not UTF-8 text at line \d+/);
    expect(errors[0]!.message).toBe(errors[1]!.message);
    // The error crossed from the scan thread with its code and context.
    expect(errors[0]).toMatchObject({ code: 'INVALID_INPUT', context: { line: expect.any(Number) } });
    expect((errors[0] as SyncError).context).toEqual((errors[1] as SyncError).context);
  });

  it('fails as one thread does on a bad file, and leaves no working files', async () => {
    const clean = base.filter((line) => !line.includes('长'));
    const input = await csv('strict.csv', [...clean.slice(0, 50_000), 'u1,,1,p1,', ...clean.slice(50_000)]);
    // Quoted cells span several lines.
    const line = 2 + clean.slice(0, 50_000).reduce((n, r) => n + 1 + r.split('\n').length - 1, 0);
    for (const threads of [2, 0]) {
      await expect(
        runBuilt({ input, mode: 'merge', assumeEmpty: true, strict: true, threads }),
      ).rejects.toThrow(`line ${line}: `);
      expect(await readdir(work)).toEqual([]);
    }
  });
});

describe('the planning pool, joined by this thread', () => {
  it('plans units on this thread too, with the results a worker gives, and closes cleanly', async () => {
    const options = { mode: 'merge', assumeEmpty: true, planLines: true } as const;
    const unitDir = await mkdtemp(join(dir, 'units-'));
    const scans: InputScan[] = [];
    /** The one partition unit of a small CSV, staged by the reader. */
    const unitOf = async (name: string, rows: readonly string[]): Promise<StagedUnit> => {
      const path = join(unitDir, `${name}.csv`);
      await writeFile(path, `user,group,type,peer\n${rows.join('\n')}\n`);
      const scan = await scanInput(path);
      scans.push(scan);
      const units = await partitionUnits([scan.takeStaged()]);
      expect(units).toHaveLength(1);
      return units[0]!;
    };
    const rowsOf = (i: number) =>
      Array.from({ length: 400 }, (_, r) => `u${i}-${r % 37},g${r % 5},${1 + (r % 2)},p${r}`);
    const units = await Promise.all(Array.from({ length: 8 }, (_, i) => unitOf(`unit-${i}`, rowsOf(i))));
    const copies = await Promise.all(Array.from({ length: 8 }, (_, i) => unitOf(`copy-${i}`, rowsOf(i))));
    const alone = createPlanPool(options, 0);
    const expected = await Promise.all(copies.map((unit) => alone.run(unit)));
    const pool = createPlanPool(options, 1);
    pool.joinIn();
    const results = await Promise.all(units.map((unit) => pool.run(unit)));
    expect(results).toEqual(expected);
    expect([alone.started, pool.started]).toEqual([0, 1]);
    // Units still queued or being planned (here or on the worker) when the pool closes settle.
    const lateUnits = await Promise.all([0, 1, 2].map((i) => unitOf(`late-${i}`, ['u1,g,1,p'])));
    const late = lateUnits.map((unit) =>
      pool.run(unit).then(
        () => 'planned',
        () => 'rejected',
      ),
    );
    await pool.close();
    await alone.close();
    expect(
      (await Promise.all(late)).every((outcome) => outcome === 'planned' || outcome === 'rejected'),
    ).toBe(true);
    for (const scan of scans) await scan.dispose();
  });
});
