import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
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

describe('LineFileWriter at the edges of its 1 MiB buffer', () => {
  const MIB = 1 << 20;
  // Lines that fill the buffer exactly with their LF, one byte too many for it, and twice its size,
  // between short lines, through write() and writeBytes(): every byte in order, and hashed.
  const edges = ['a', 'x'.repeat(MIB - 1), 'b', 'y'.repeat(MIB), 'c', 'z'.repeat(2 * MIB), 'd'];

  it.each(['write', 'writeBytes'] as const)('%s: lines of 1 MiB - 1, 1 MiB and 2 MiB', async (how) => {
    const path = join(dir, `edges-${how}.txt`);
    const writer = await LineFileWriter.create(path, 0o600, { hash: createHash('sha256') });
    for (const line of edges) {
      if (how === 'write') await writer.write(line);
      else await writer.writeBytes(Buffer.from(line, 'utf8'));
    }
    const digest = writer.digest();
    await writer.close();
    const expected = `${edges.join('\n')}\n`;
    const written = await readFile(path, 'utf8');
    expect(written.length).toBe(expected.length);
    expect(written === expected).toBe(true);
    expect(digest).toBe(createHash('sha256').update(expected, 'utf8').digest('hex'));
  });

  it('close({ sync: true }) fsyncs the file before closing it; close() does not', async () => {
    const probe = await open(join(dir, 'probe.txt'), 'w');
    const proto = Object.getPrototypeOf(probe) as { sync: () => Promise<void> };
    await probe.close();
    const sync = vi.spyOn(proto, 'sync');
    try {
      const plain = await LineFileWriter.create(join(dir, 'nosync.txt'));
      await plain.write('a');
      await plain.close();
      expect(sync).not.toHaveBeenCalled();
      const synced = await LineFileWriter.create(join(dir, 'sync.txt'));
      await synced.write('b');
      await synced.close({ sync: true });
      expect(sync).toHaveBeenCalledTimes(1);
      expect(await readFile(join(dir, 'sync.txt'), 'utf8')).toBe('b\n');
    } finally {
      sync.mockRestore();
    }
  });
});

describe('LineFileWriter releases its file', () => {
  // The open descriptors are counted in /proc (Linux, where CI runs).
  it.skipIf(!existsSync('/proc/self/fd'))('on close() and on discard()', async () => {
    const fds = async () => (await readdir('/proc/self/fd')).length;
    const before = await fds();
    for (let i = 0; i < 10; i++) {
      const closed = await LineFileWriter.create(join(dir, `closed-${i}.txt`));
      await closed.write('a');
      await closed.close();
      const discarded = await LineFileWriter.create(join(dir, `discarded-${i}.txt`));
      await discarded.write('b');
      await discarded.discard();
    }
    expect(await fds()).toBeLessThanOrEqual(before);
  });
});

describe('readLines', () => {
  // The open descriptors are counted in /proc (Linux, where CI runs).
  it.skipIf(!existsSync('/proc/self/fd'))('closes the file when the loop breaks early', async () => {
    const path = join(dir, 'early.txt');
    await writeFile(path, 'first\nsecond\n'.repeat(50_000));
    const fds = async () => (await readdir('/proc/self/fd')).length;
    const before = await fds();
    for (let i = 0; i < 20; i++) {
      for await (const line of readLines(path)) {
        expect(line).toBe('first');
        break;
      }
    }
    // The stream closes its descriptor asynchronously after destroy().
    await vi.waitFor(async () => expect(await fds()).toBeLessThanOrEqual(before), { timeout: 2000 });
  });

  it('yields the lines without their ends, LF or CRLF, and the last line without one', async () => {
    const path = join(dir, 'read.txt');
    await writeFile(path, 'a\r\nb\n\nc\u00e9\r\nlast');
    const lines: string[] = [];
    for await (const line of readLines(path)) lines.push(line);
    expect(lines).toEqual(['a', 'b', '', 'cé', 'last']);
  });
});
