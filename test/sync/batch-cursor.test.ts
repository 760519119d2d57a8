import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchCursor } from '../../src/sync/batch-cursor.js';
import { fileLineBatches, fileLines } from '../../src/sync/line-reader.js';
import { tempDir } from '../faults/fixtures.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir('batch-cursor');
});
afterAll(async () => {
  await dir?.remove();
});

async function* batches<T>(list: readonly (readonly T[])[], log: string[]): AsyncGenerator<readonly T[]> {
  try {
    for (const batch of list) {
      log.push(`read ${batch.length}`);
      yield batch;
    }
  } finally {
    log.push('closed');
  }
}

describe('BatchCursor', () => {
  it('steps through every item, skipping empty batches, and awaits only when a batch is used up', async () => {
    const log: string[] = [];
    const cursor = await BatchCursor.open(batches([[1, 2, 3], [], [4], []], log));
    const seen: number[] = [];
    const awaited: boolean[] = [];
    for (let item = cursor.current; item !== undefined; item = cursor.current) {
      seen.push(item);
      const step = cursor.advance();
      awaited.push(step !== undefined);
      if (step !== undefined) await step;
    }
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(awaited).toEqual([false, false, true, true]);
    expect(log).toEqual(['read 3', 'read 0', 'read 1', 'read 0', 'closed']);
    expect(cursor.advance()).toBeUndefined();
    expect(cursor.current).toBeUndefined();
  });

  it('is at its end at once on an empty source, and close() stops the source early', async () => {
    expect((await BatchCursor.open(batches([], []))).current).toBeUndefined();
    const log: string[] = [];
    const cursor = await BatchCursor.open(batches([['a'], ['b']], log));
    expect(cursor.current).toBe('a');
    await cursor.close();
    await cursor.close();
    expect(cursor.current).toBeUndefined();
    expect(log).toEqual(['read 1', 'closed']);
  });

  it('passes on the error of a batch that fails to come', async () => {
    async function* failing(): AsyncGenerator<number[]> {
      yield [1];
      throw new Error('disk gone');
    }
    const cursor = await BatchCursor.open(failing());
    expect(cursor.current).toBe(1);
    await expect(cursor.advance()).rejects.toThrow('disk gone');
  });
});

describe('fileLineBatches', () => {
  it('gives every line once, LF or CR LF, across 64 KiB pieces, UTF-8 cut between pieces included', async () => {
    const long = 'é'.repeat(70_000);
    const lines = ['a', '', long, 'b\tc', '😀'.repeat(40_000), 'last'];
    const path = join(dir.path, 'lines.txt');
    await writeFile(path, `${lines.slice(0, 3).join('\r\n')}\r\n${lines.slice(3).join('\n')}`);
    const batches: string[][] = [];
    for await (const batch of fileLineBatches(path)) batches.push(batch);
    expect(batches.flat()).toEqual(lines);
    expect(batches.length).toBeGreaterThan(1);
    expect(batches.every((b) => b.length > 0)).toBe(true);
    const one: string[] = [];
    for await (const line of fileLines(path)) one.push(line);
    expect(one).toEqual(lines);
  });
});
