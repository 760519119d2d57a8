import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LineFileWriter, readLines } from '../../src/planner/line-file.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cgsync-line-file-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('LineFileWriter', () => {
  it('writes and hashes exactly its lines across many flushes of its two buffers in turn', async () => {
    const path = join(dir, 'lines.txt');
    const writer = await LineFileWriter.create(path, 0o600, { hash: createHash('sha256') });
    const lines: string[] = [];
    // About 5 MiB: five flushes, so each buffer is filled, written and filled again.
    for (let i = 0; i < 120_000; i++) {
      const line = `${i}\t${'x'.repeat(i % 61)}\t群${i % 7}`;
      lines.push(line);
      if (i % 3 === 0) await writer.writeBytes(Buffer.from(line, 'utf8'));
      else await writer.write(line);
    }
    const digest = writer.digest();
    await writer.close();
    const expected = `${lines.join('\n')}\n`;
    const written = await readFile(path, 'utf8');
    expect(written.length).toBe(expected.length);
    expect(written === expected).toBe(true);
    expect(digest).toBe(createHash('sha256').update(expected, 'utf8').digest('hex'));
  });

  it('gives its digest once, and only with a hash; discard() leaves what was not flushed unwritten', async () => {
    const path = join(dir, 'digest.txt');
    const hashed = await LineFileWriter.create(path, 0o600, { hash: createHash('sha256') });
    await hashed.write('a');
    expect(hashed.digest()).toBe(createHash('sha256').update('a\n').digest('hex'));
    expect(() => hashed.digest()).toThrow('LineFileWriter: no hash, or digest() called twice');
    await hashed.close();
    const plain = await LineFileWriter.create(join(dir, 'plain.txt'));
    expect(() => plain.digest()).toThrow('LineFileWriter: no hash, or digest() called twice');
    await plain.write('kept in the buffer');
    await plain.discard();
    expect(await readFile(join(dir, 'plain.txt'), 'utf8')).toBe('');
  });
});

describe('readLines', () => {
  it('yields the lines without their ends, LF or CRLF, and the last line without one', async () => {
    const path = join(dir, 'read.txt');
    await writeFile(path, 'a\r\nb\n\nc\u00e9\r\nlast');
    const lines: string[] = [];
    for await (const line of readLines(path)) lines.push(line);
    expect(lines).toEqual(['a', 'b', '', 'cé', 'last']);
  });
});
