import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  LineWriter,
  readLineBatches,
  readTextPieces,
  readTextRange,
} from '../../src/reader/stage/work-files.js';
import { scratchDir } from './helpers.js';

const scratch = scratchDir();
afterAll(() => scratch.cleanup());
let n = 0;

describe('LineWriter and readLineBatches', () => {
  it('write exactly what was given, whatever the buffer size, line size and characters', async () => {
    const line = fc
      .string({ unit: fc.constantFrom('a', 'é', '群', '😀', '\t'), maxLength: 40 })
      .map((s) => `${s}\n`);
    await fc.assert(
      fc.asyncProperty(
        fc.array(line, { maxLength: 60 }),
        fc.integer({ min: 4, max: 64 }),
        async (lines, capacity) => {
          const path = join(scratch.dir, `lines-${n++}.txt`);
          const writer = new LineWriter(path, capacity);
          for (const text of lines) {
            const pending = writer.write(text);
            if (pending !== undefined) await pending;
          }
          await writer.flush();
          const expected = lines.join('');
          expect(writer.bytes).toBe(Buffer.byteLength(expected));
          if (expected === '') return;
          expect(readFileSync(path, 'utf8')).toBe(expected);
          const read: string[] = [];
          for await (const batch of readLineBatches(path)) read.push(...batch);
          expect(read).toEqual(lines.map((l) => l.slice(0, -1)));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('writes a line larger than its buffer directly, in order', async () => {
    const path = join(scratch.dir, 'large.txt');
    const writer = new LineWriter(path, 8);
    expect(writer.write('k\n')).toBeUndefined();
    await writer.write('abcdefghij\n');
    expect(writer.write('z\n')).toBeUndefined();
    await writer.flush();
    expect(readFileSync(path, 'utf8')).toBe('k\nabcdefghij\nz\n');
  });

  it('turns a failed write into an IO error that says what to do', async () => {
    const writer = new LineWriter('/dev/full', 64);
    expect(writer.write('abc\n')).toBeUndefined();
    await expect(writer.flush()).rejects.toMatchObject({
      code: 'IO',
      message: expect.stringMatching(/Cannot write the working file \/dev\/full: .*tmpDir or TMPDIR/),
    });
  });

  it('refuses a working file that does not end with a line feed', async () => {
    const path = scratch.file('torn.txt', 'a\nb');
    await expect(
      (async () => {
        for await (const _ of readLineBatches(path)) {
          // drain
        }
      })(),
    ).rejects.toThrow(/ends without a line feed/);
  });
});

describe('readTextRange', () => {
  it('read back ASCII and non-ASCII lines of any range of whole lines', async () => {
    const line = fc.string({ unit: fc.constantFrom('a', 'é', '群', '😀', '\t', 'ÿ'), maxLength: 12 });
    await fc.assert(
      fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 20 }), fc.nat(), async (lines, cut) => {
        const path = scratch.file('range.tsv', lines.map((l) => `${l}\n`).join(''));
        const at = cut % lines.length;
        const start = Buffer.byteLength(
          lines
            .slice(0, at)
            .map((l) => `${l}\n`)
            .join(''),
        );
        const end = readFileSync(path).length;
        const tail = lines.slice(at);
        expect(await readTextRange(path, start, end)).toBe(tail.map((l) => `${l}\n`).join(''));
      }),
    );
  });

  it('refuse a range that does not end a line', async () => {
    const path = scratch.file('cut.tsv', 'ab\ncd\n');
    await expect(readTextRange(path, 0, 4)).rejects.toThrow(/does not end a line/);
    expect(await readTextRange(path, 3, 3)).toBe('');
  });
});

describe('readTextPieces', () => {
  it('splits a range into texts of whole lines under 512 KiB that join into the range', async () => {
    const lines = Array.from({ length: 30_000 }, (_, i) => `${'群x'.repeat(i % 23)}\t${i}\n`);
    // One line longer than a piece: it makes a piece of its own.
    lines[20_000] = `${'y'.repeat(600 * 1024)}\n`;
    const text = lines.join('');
    const path = scratch.file('pieces.tsv', text);
    const start = Buffer.byteLength(lines[0]!);
    const pieces = await readTextPieces(path, start, Buffer.byteLength(text));
    expect(pieces.length).toBeGreaterThan(2);
    expect(pieces.join('')).toBe(text.slice(lines[0]!.length));
    for (const piece of pieces) {
      expect(piece.endsWith('\n')).toBe(true);
      if (!piece.includes('y'.repeat(1000))) expect(Buffer.byteLength(piece)).toBeLessThanOrEqual(512 * 1024);
    }
    const bytes = await readTextPieces(path, 0, Buffer.byteLength(text), 'latin1');
    expect(Buffer.from(bytes.join(''), 'latin1').toString('utf8')).toBe(text);
    expect(await readTextPieces(path, 5, 5)).toEqual([]);
  });
});
