import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareCodeUnits } from '../../src/planner/canonical.js';
import { ExternalSorter } from '../../src/planner/external-sort.js';
import { LineFileWriter } from '../../src/planner/line-file.js';
import { encodeRun, RunBuilder, RunCursor, RunMerge } from '../../src/planner/sort-runs.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cgsync-sort-runs-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Entry = [string, string];

/** Keys that need JSON escapes, surrogates and multi-byte UTF-8, lines of any length. */
const key = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 6 }),
  fc.string({ unit: 'binary', maxLength: 6 }),
  fc.constantFrom('"', '\\', '\t', 'a\u0000', '\ud800', '\u2028', '长'),
);
const line = fc
  .oneof(
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.nat(3000).map((n) => 'x'.repeat(n)),
  )
  .map((text) => JSON.stringify(text));
const entries = fc.uniqueArray(fc.tuple(key, line), { selector: ([k]) => k, maxLength: 60 });

function byKey(list: readonly Entry[]): Entry[] {
  return [...list].sort((a, b) => compareCodeUnits(a[0], b[0]));
}

async function drain(merge: RunMerge): Promise<Entry[]> {
  const out: Entry[] = [];
  try {
    for (;;) {
      let cursor = merge.next();
      if (cursor instanceof Promise) cursor = await cursor;
      if (cursor === undefined) return out;
      out.push([cursor.key, cursor.line.toString('utf8')]);
    }
  } finally {
    await merge.close();
  }
}

describe('sorted runs', () => {
  it('a run built in any order reads back sorted, from memory or from a file read a few bytes at a time', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(entries, fc.integer({ min: 1, max: 64 }), async (list, readBytes) => {
        const builder = new RunBuilder();
        for (const [k, l] of list) builder.add(k, l);
        const run = builder.finish();
        expect(run).toEqual(
          encodeRun(
            list.map(([k]) => k),
            list.map(([, l]) => l),
          ),
        );
        expect(await drain(new RunMerge([RunCursor.of(run)]))).toEqual(byKey(list));
        const path = join(dir, `run-${n++}.txt`);
        await writeFile(path, run);
        expect(await drain(new RunMerge([await RunCursor.open(path, readBytes)]))).toEqual(byKey(list));
      }),
      { numRuns: 60 },
    );
  });

  it('holds records bigger than its chunks', async () => {
    const big = JSON.stringify('长'.repeat(600_000));
    const builder = new RunBuilder();
    for (const k of ['b', 'a', 'c']) builder.add(k, k === 'a' ? big : `"${k}"`);
    expect(await drain(new RunMerge([RunCursor.of(builder.finish())]))).toEqual([
      ['a', big],
      ['b', '"b"'],
      ['c', '"c"'],
    ]);
  });

  it('merges runs from files and memory into one key order', async () => {
    await fc.assert(
      fc.asyncProperty(entries, fc.nat(5), async (list, cuts) => {
        const parts: Entry[][] = Array.from({ length: cuts + 1 }, () => []);
        for (const [i, entry] of list.entries()) parts[i % parts.length]!.push(entry);
        const cursors: RunCursor[] = [];
        for (const [i, part] of parts.entries()) {
          const run = encodeRun(
            part.map(([k]) => k),
            part.map(([, l]) => l),
          );
          if (i % 2 === 0) cursors.push(RunCursor.of(run));
          else {
            const path = join(dir, `part-${i}.txt`);
            await writeFile(path, run);
            cursors.push(await RunCursor.open(path, 16));
          }
        }
        expect(await drain(new RunMerge(cursors))).toEqual(byKey(list));
      }),
      { numRuns: 40 },
    );
  });

  it('refuses a run file that is not key<tab>line records, or ends inside a record', async () => {
    for (const [name, text] of [
      ['no-tab', '"a"\t{}\n"b"{}\n'],
      ['cut', '"a"\t{}\n"b"\t{'],
      ['bare-key', 'a\t{}\n'],
    ] as const) {
      const path = join(dir, `${name}.txt`);
      await writeFile(path, text);
      await expect(drain(new RunMerge([await RunCursor.open(path, 4)]))).rejects.toThrow(
        /holds a record that is not/,
      );
    }
  });
});

describe('a broken run', () => {
  it('is named in the error, in memory or on disk: a key without its quotes, a record without its line end', async () => {
    const bytes = (text: string) => new Uint8Array(Buffer.from(text));
    const message = (where: string) =>
      `ExternalSorter: ${where} holds a record that is not "key"<tab>line<newline>`;
    for (const text of ['"a\t{}\n', 'a"\t{}\n', '"a"\t{}\n"b"\t{}', '"a"\t{}\n"b"{}\n"c"\t{}\n']) {
      await expect(drain(new RunMerge([RunCursor.of(bytes(text))])), text).rejects.toThrow(
        message('a run in memory'),
      );
    }
    const path = join(dir, 'broken-quote.txt');
    await writeFile(path, '"a"\t1\n"b\t2\n');
    await expect(drain(new RunMerge([await RunCursor.open(path, 4)]))).rejects.toThrow(message(path));
    // A backslash in the line (not the key) is not an escaped key.
    expect(await drain(new RunMerge([RunCursor.of(bytes('"a"\t"x\\\\y"\n"b\\"c"\t1\n'))]))).toEqual([
      ['a', '"x\\\\y"'],
      ['b"c', '1'],
    ]);
  });
});

describe('the external sort', () => {
  it('keeps at most maxBufferedRecords in memory, gathers small runs, and sorts them all', async () => {
    const tmpDir = await mkdtemp(join(dir, 'sorter-'));
    const sorter = new ExternalSorter({ tmpDir, maxBufferedRecords: 3, fanIn: 2 });
    const all: Entry[] = [];
    for (let i = 0; i < 20; i++) {
      const entry: Entry = [`k${(i * 7) % 20}`, `"line ${i}"`];
      all.push(entry);
      await sorter.add(...entry);
      expect(sorter.bufferedRecords).toBeLessThanOrEqual(2);
    }
    const spilled = sorter.spilledRuns;
    expect(spilled).toBe(6);
    // Small runs added whole wait in memory: no file each.
    for (let r = 0; r < 5; r++) {
      const part: Entry[] = [`r${r}a`, `r${r}b`].map((k) => [k, `"${k}"`]);
      all.push(...part);
      await sorter.addRun(
        encodeRun(
          part.map(([k]) => k),
          part.map(([, l]) => l),
        ),
      );
    }
    // fanIn 2: the fifth small run makes them one file.
    expect(sorter.spilledRuns).toBe(spilled + 2);
    const out: Entry[] = [];
    for await (const [k, l] of sorter.sorted()) out.push([k, l]);
    expect(out).toEqual(byKey(all));
    await sorter.dispose();
    expect(await readdir(tmpDir)).toEqual([]);
  });
});

describe('LineFileWriter', () => {
  it('writes strings and bytes in order, lines longer than its buffer too, and hashes what came before digest()', async () => {
    const path = join(dir, 'lines.txt');
    const writer = await LineFileWriter.create(path, 0o600, { hash: createHash('sha256') });
    const long = 'é'.repeat(700_000);
    const lines = ['first', long, 'x'.repeat(1000), long.slice(1), 'last'];
    for (const [i, text] of lines.entries()) {
      if (i % 2 === 0) await writer.write(text);
      else await writer.writeBytes(Buffer.from(text, 'utf8'));
    }
    const digest = writer.digest();
    await writer.write(digest);
    await writer.close();
    const body = `${lines.join('\n')}\n`;
    expect(await readFile(path, 'utf8')).toBe(`${body}${digest}\n`);
    expect(digest).toBe(createHash('sha256').update(body).digest('hex'));
  });
});
