import { afterEach, describe, expect, it } from 'vitest';
import { isSyncError, SyncError } from '../src/errors.js';
import { ThreadPool } from '../src/thread-pool.js';
import { fromThreadError, toThreadError, workerFile } from '../src/threads.js';

/** The jobs of test/helpers/thread-jobs.mjs. */
type Job = { kind: 'throw' | 'throw-plain' | 'wait' | 'exit' } | { kind: 'ask'; questions: number[] };

const ENTRY = new URL('./helpers/thread-jobs.mjs', import.meta.url).pathname;

const pools: ThreadPool<Job, unknown, number, number, string>[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
});

function pool(threads = 1): ThreadPool<Job, unknown, number, number, string> {
  const made = new ThreadPool<Job, unknown, number, number, string>({
    name: 'test thread',
    threads,
    entry: ENTRY,
    data: 'shared',
  });
  pools.push(made);
  return made;
}

describe('the thread protocol', () => {
  it('keeps a SyncError’s code and context across threads', async () => {
    const error = await pool()
      .run({ kind: 'throw' })
      .catch((e: unknown) => e);
    expect(isSyncError(error, 'INVALID_INPUT')).toBe(true);
    expect(error).toMatchObject({ message: 'line 42: bad', context: { line: 42, path: 'in.csv' } });
    expect((error as Error).stack).toContain('thread-jobs.mjs');
    const plain = await pool()
      .run({ kind: 'throw-plain' })
      .catch((e: unknown) => e);
    expect(plain).toMatchObject({ name: 'TypeError', message: 'not a SyncError' });
    expect(isSyncError(plain)).toBe(false);
  });

  it('round-trips errors that never crossed a thread', () => {
    const sync = fromThreadError(toThreadError(new SyncError('IO', 'disk', { path: '/x' })));
    expect(sync).toBeInstanceOf(SyncError);
    expect(sync).toMatchObject({ code: 'IO', message: 'disk', context: { path: '/x' } });
    expect(fromThreadError(toThreadError('a string'))).toMatchObject({ message: 'a string' });
  });

  it('answers a job’s events in order, and a refusal reaches the job as an error', async () => {
    const result = await pool().run(
      { kind: 'ask', questions: [1, 2, 3] },
      {
        onEvent: async (n) => {
          if (n === 2) throw new SyncError('USAGE', 'no two');
          return n * 10;
        },
      },
    );
    expect(result).toEqual({ answers: [10, { refused: 'no two', code: 'USAGE' }, 30], data: 'shared' });
  });

  it('cancels a running job, drops a queued one, and rejects the job of a thread that dies', async () => {
    const threads = pool(1);
    const stop = new AbortController();
    const running = threads.run({ kind: 'wait' }, { signal: stop.signal });
    const queuedStop = new AbortController();
    const queued = threads.run({ kind: 'wait' }, { signal: queuedStop.signal });
    queuedStop.abort(new Error('not wanted'));
    await expect(queued).rejects.toThrow('not wanted');
    stop.abort();
    await expect(running).resolves.toBe('cancelled');
    await expect(threads.run({ kind: 'exit' })).rejects.toThrow('A test thread stopped (exit code 3)');
    // A new thread takes the next job.
    await expect(threads.run({ kind: 'ask', questions: [] })).resolves.toEqual({
      answers: [],
      data: 'shared',
    });
    expect(threads.started).toBe(2);
  });
});

describe('workerFile', () => {
  it('is the built file next to a built module, and the same file in dist/ for a source module', () => {
    const built = new URL('../dist/parallel/plan-pool.js', import.meta.url).href;
    const source = new URL('../src/parallel/plan-pool.ts', import.meta.url).href;
    const expected = new URL('../dist/parallel/plan-worker.js', import.meta.url).pathname;
    expect(workerFile(built, 'plan-worker')).toBe(expected);
    expect(workerFile(source, 'plan-worker')).toBe(expected);
  });

  it('fails loudly when the file is missing, instead of running on one thread', () => {
    const source = new URL('../src/parallel/plan-pool.ts', import.meta.url).href;
    expect(() => workerFile(source, 'no-such-worker')).toThrow(
      expect.objectContaining({
        code: 'IO',
        message: expect.stringMatching(/no-such-worker\.js is missing: run `npm run build`/),
      }),
    );
  });
});
