import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExternalSorter } from '../../src/planner/external-sort.js';
import { encodeRun } from '../../src/planner/sort-runs.js';

// The external sort's options, its limits on memory (records, characters) and its misuse.

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cgsync-external-sort-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function all(sorter: ExternalSorter): Promise<string[]> {
  const out: string[] = [];
  for await (const [k, l] of sorter.sorted()) out.push(`${k}=${l}`);
  return out;
}

describe('ExternalSorter', () => {
  it('refuses options below their minimum, with what was given', () => {
    expect(() => new ExternalSorter({ maxBufferedRecords: 0 })).toThrow(
      'Expected `maxBufferedRecords` to be a whole number from 1 and up, got `0` (number)',
    );
    expect(() => new ExternalSorter({ maxBufferedChars: 1.5 })).toThrow(
      'Expected `maxBufferedChars` to be a whole number from 1 and up, got `1.5` (number)',
    );
    expect(() => new ExternalSorter({ fanIn: 1 })).toThrow(
      'Expected `fanIn` to be a whole number from 2 and up, got `1` (number)',
    );
    expect(() => new ExternalSorter({ maxBufferedChars: 0 })).toThrow('from 1 and up, got `0`');
    new ExternalSorter({ maxBufferedRecords: 1, maxBufferedChars: 1, fanIn: 2 });
  });

  it('spills when the buffered characters (keys and lines) reach maxBufferedChars', async () => {
    const sorter = new ExternalSorter({ tmpDir: dir, maxBufferedChars: 10 });
    await sorter.add('ab', '"1234"'); // 8 characters: kept
    expect([sorter.spilledRuns, sorter.bufferedRecords]).toEqual([0, 1]);
    await sorter.add('c', '"'); // 10: written out
    expect([sorter.spilledRuns, sorter.bufferedRecords]).toEqual([1, 0]);
    await sorter.add('a', '"1"'); // 4, counted from 0 again: kept
    expect([sorter.spilledRuns, sorter.bufferedRecords]).toEqual([1, 1]);
    expect(await all(sorter)).toEqual(['a="1"', 'ab="1234"', 'c="']);
    await sorter.dispose();
  });

  it('spills at exactly maxBufferedRecords; an empty run adds nothing, a run of 1 MiB goes to disk at once', async () => {
    const sorter = new ExternalSorter({ tmpDir: dir, maxBufferedRecords: 2, fanIn: 2 });
    await sorter.add('b', '1');
    expect(sorter.spilledRuns).toBe(0);
    await sorter.add('a', '2');
    expect(sorter.spilledRuns).toBe(1);
    // Empty runs are not even gathered (two small runs, at fanIn 2, would make a file).
    await sorter.addRun(new Uint8Array(0));
    await sorter.addRun(new Uint8Array(0));
    expect(sorter.spilledRuns).toBe(1);
    const big = 'x'.repeat(1024 * 1024);
    await sorter.addRun(encodeRun(['c'], [big]));
    expect(sorter.spilledRuns).toBe(2);
    await sorter.addRun(encodeRun(['d'], ['"small"']));
    expect(sorter.spilledRuns).toBe(2);
    expect((await all(sorter)).map((r) => r.slice(0, 6))).toEqual(['a=2', 'b=1', 'c=xxxx', 'd="sma']);
    await sorter.dispose();
    await sorter.dispose();
    expect((await readdir(dir)).filter((f) => f.startsWith('cgsync-sort-'))).toEqual([]);
  });

  it('with nothing spilled, writes no file at all', async () => {
    const tmpDir = await mkdtemp(join(dir, 'none-'));
    const sorter = new ExternalSorter({ tmpDir });
    await sorter.add('b', '1');
    await sorter.addRun(encodeRun(['a'], ['0']));
    expect(await readdir(tmpDir)).toEqual([]);
    expect(await all(sorter)).toEqual(['a=0', 'b=1']);
    await sorter.dispose();
  });

  it('by default spills at the 10,000th record (9,999 of 20 MB stay in memory, under 32 MiB), into private files of a cgsync-sort- folder', async () => {
    const tmpDir = await mkdtemp(join(dir, 'defaults-'));
    const sorter = new ExternalSorter({ tmpDir });
    // 9,999 records of 2 KiB: 20 MB of characters, under both defaults.
    const line = 'x'.repeat(2048);
    for (let i = 0; i < 9_999; i++) await sorter.add(`k${String(i).padStart(5, '0')}`, line);
    expect(sorter.spilledRuns).toBe(0);
    expect(await readdir(tmpDir)).toEqual([]);
    // The 10,000th spills them: the users' data, readable by its owner only.
    await sorter.add('k10000', line);
    expect(sorter.spilledRuns).toBe(1);
    const [folder, ...others] = await readdir(tmpDir);
    expect(others).toEqual([]);
    expect(folder).toMatch(/^cgsync-sort-/);
    const files = await readdir(join(tmpDir, folder ?? ''));
    expect(files).toHaveLength(1);
    for (const file of files) expect((await stat(join(tmpDir, folder ?? '', file))).mode & 0o777).toBe(0o600);
    await sorter.dispose();
    expect(await readdir(tmpDir)).toEqual([]);
  });

  it('merges more runs than fanIn in rounds', async () => {
    const sorter = new ExternalSorter({ tmpDir: dir, maxBufferedRecords: 1, fanIn: 3 });
    const keys = ['h', 'c', 'f', 'a', 'g', 'b', 'e', 'd'];
    for (const k of keys) await sorter.add(k, `"${k}"`);
    expect(sorter.spilledRuns).toBe(8);
    expect(await all(sorter)).toEqual([...keys].sort().map((k) => `${k}="${k}"`));
    // 8 runs by 3: two rounds of merging made more runs.
    expect(sorter.spilledRuns).toBeGreaterThan(8);
    await sorter.dispose();
  });

  it('refuses records after the sort began, and a second sort', async () => {
    const sorter = new ExternalSorter({ tmpDir: dir });
    await sorter.add('a', '1');
    const merge = await sorter.merged();
    await merge.close();
    await expect(sorter.add('b', '2')).rejects.toThrow('ExternalSorter: add() after sorted()');
    await expect(sorter.addRun(encodeRun(['b'], ['2']))).rejects.toThrow(
      'ExternalSorter: addRun() after sorted()',
    );
    await expect(sorter.merged()).rejects.toThrow('ExternalSorter: sorted() called twice');
    await sorter.dispose();
  });
});
