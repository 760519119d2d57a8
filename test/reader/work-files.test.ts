import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { LineWriter, readPieces } from '../../src/reader/stage/work-files.js';
import { scratchDir } from './helpers.js';

const scratch = scratchDir();

async function pieces(path: string, options: Parameters<typeof readPieces>[1] = {}): Promise<string[]> {
  const out: string[] = [];
  for await (const piece of readPieces(path, options)) out.push(piece);
  return out;
}
afterAll(() => scratch.cleanup());
let n = 0;

describe('LineWriter and readPieces', () => {
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
          const text = (await pieces(path, { encoding: 'utf8', pieceBytes: capacity })).join('');
          expect(text).toBe(expected);
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

  it('keeps a line written while its buffer is being flushed (the buffer is reused only when free)', async () => {
    const path = join(scratch.dir, 'during-flush.txt');
    const writer = new LineWriter(path, 64);
    expect(writer.write('a\n')).toBeUndefined();
    const flushing = writer.flush();
    expect(writer.write('b\n')).toBeUndefined();
    await flushing;
    expect(writer.write('c\n')).toBeUndefined();
    await writer.flush();
    expect(writer.write('d\n')).toBeUndefined();
    await writer.flush();
    expect(readFileSync(path, 'utf8')).toBe('a\nb\nc\nd\n');
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
    await expect(pieces(path)).rejects.toThrow(/does not end a line/);
  });
});

describe('readPieces', () => {
  it('read back ASCII and non-ASCII lines of any range of whole lines', async () => {
    const line = fc.string({ unit: fc.constantFrom('a', 'é', '群', '😀', '\t', 'ÿ'), maxLength: 12 });
    await fc.assert(
      fc.asyncProperty(
        fc.array(line, { minLength: 1, maxLength: 20 }),
        fc.nat(),
        fc.integer({ min: 1, max: 64 }),
        async (lines, cut, pieceBytes) => {
          const path = scratch.file('range.tsv', lines.map((l) => `${l}\n`).join(''));
          const at = cut % lines.length;
          const start = Buffer.byteLength(
            lines
              .slice(0, at)
              .map((l) => `${l}\n`)
              .join(''),
          );
          const end = readFileSync(path).length;
          const tail = lines
            .slice(at)
            .map((l) => `${l}\n`)
            .join('');
          const read = await pieces(path, { start, end, pieceBytes, encoding: 'utf8' });
          expect(read.join('')).toBe(tail);
          for (const piece of read) expect(piece.endsWith('\n')).toBe(true);
          // Byte strings by default, one character per byte.
          const raw = (await pieces(path, { start, end, pieceBytes })).join('');
          expect(Buffer.from(raw, 'latin1').toString('utf8')).toBe(tail);
        },
      ),
    );
  });

  it('refuse a range that does not end a line', async () => {
    const path = scratch.file('cut.tsv', 'ab\ncd\n');
    await expect(pieces(path, { start: 0, end: 4 })).rejects.toThrow(/does not end a line/);
    expect(await pieces(path, { start: 3, end: 3 })).toEqual([]);
  });

  it('reads pieces of whole lines under 512 KiB that join into the range, or the range whole', async () => {
    const lines = Array.from({ length: 30_000 }, (_, i) => `${'群x'.repeat(i % 23)}\t${i}\n`);
    // One line longer than a piece: it makes a piece of its own.
    lines[20_000] = `${'y'.repeat(600 * 1024)}\n`;
    const text = lines.join('');
    const path = scratch.file('pieces.tsv', text);
    const start = Buffer.byteLength(lines[0]!);
    const read = await pieces(path, { start, encoding: 'utf8' });
    expect(read.length).toBeGreaterThan(2);
    expect(read.join('')).toBe(text.slice(lines[0]!.length));
    for (const piece of read) {
      expect(piece.endsWith('\n')).toBe(true);
      if (!piece.includes('y'.repeat(1000))) expect(Buffer.byteLength(piece)).toBeLessThanOrEqual(512 * 1024);
    }
    const whole = await pieces(path, { pieceBytes: Number.POSITIVE_INFINITY });
    expect(whole).toHaveLength(1);
    expect(Buffer.from(whole[0]!, 'latin1').toString('utf8')).toBe(text);
  });
});
