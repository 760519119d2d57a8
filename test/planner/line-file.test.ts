import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LineFileWriter } from '../../src/planner/line-file.js';

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
});
