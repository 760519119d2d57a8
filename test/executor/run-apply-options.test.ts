import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { LiveStats } from '../../src/executor/run-apply.js';
import { defaultConcurrency, runApply, type UserWork } from '../../src/executor/run-apply.js';
import { FakeChatApi } from './fake-api.js';
import {
  conv,
  countingSource,
  FakeClock,
  memoryCheckpoint,
  planUser,
  RecordingScheduler,
} from './helpers.js';

/**
 * runApply's options and bookkeeping (run-apply.test.ts: what a run does to the service): the checks
 * of its options, the default concurrency, the cap on kept failed items, the live figures, the signal
 * and the result's timing, on an in-memory checkpoint and the fake clock.
 */

const users = (n: number, groups: Record<string, string[]> = { g: ['1:a'] }): UserWork[] =>
  Array.from({ length: n }, (_, i) => ({ user: `u${i}`, operations: planUser(`u${i}`, groups) }));

async function refusal(promise: Promise<unknown>) {
  return promise.then(
    () => undefined,
    (e: unknown) => e,
  );
}

describe('runApply options', () => {
  it('refuses a concurrency that is not an integer from 1, saying which', async () => {
    for (const concurrency of [0, -2, 1.5, Number.NaN]) {
      const err = await refusal(
        runApply({
          users: [],
          api: new FakeChatApi(),
          checkpoint: memoryCheckpoint(),
          options: { limiters: new RecordingScheduler(), concurrency },
        }),
      );
      expect(err).toMatchObject({
        code: 'USAGE',
        message: `Expected \`concurrency\` to be an integer from 1, got ${String(concurrency)}`,
        context: { value: String(concurrency) },
      });
    }
    const one = await runApply({
      users: users(2),
      api: new FakeChatApi(),
      checkpoint: memoryCheckpoint(),
      options: { limiters: new RecordingScheduler(), clock: new FakeClock(), concurrency: 1 },
    });
    expect(one.users.done).toBe(2);
  });

  it('refuses a rate other than the limiters’ one, and takes the same rate', async () => {
    const err = await refusal(
      runApply({
        users: [],
        api: new FakeChatApi(),
        checkpoint: memoryCheckpoint(),
        options: { limiters: new RecordingScheduler(200), rate: 50 },
      }),
    );
    expect(err).toMatchObject({
      code: 'USAGE',
      message: 'Expected `rate` to be left out or to equal the rate of `limiters` (200), got 50',
      context: { value: '50' },
    });
    const same = await runApply({
      users: users(1),
      api: new FakeChatApi(),
      checkpoint: memoryCheckpoint(),
      options: { limiters: new RecordingScheduler(200), rate: 200, clock: new FakeClock() },
    });
    expect(same.users.done).toBe(1);
  });

  it('without limiters, builds its own budget at `rate`, and counts the calls there', async () => {
    const api = new FakeChatApi();
    const result = await runApply({
      users: users(2),
      api,
      checkpoint: memoryCheckpoint(),
      options: { rate: 1000, clock: new FakeClock() },
    });
    expect(result.users.done).toBe(2);
    expect(result.endpoints.create_contact_group).toMatchObject({ calls: 2 });
  });

  it('defaultConcurrency: 2 × rate × 0.15 s, rounded up, at least 1', () => {
    expect(defaultConcurrency(200)).toBe(60);
    expect(defaultConcurrency(10)).toBe(3);
    expect(defaultConcurrency(1)).toBe(1);
    expect(defaultConcurrency(0)).toBe(1);
  });
});

describe('runApply bookkeeping', () => {
  it('keeps the first keepFailedItems failed items (1000 by default) and counts them all', async () => {
    const many = Array.from({ length: 1001 }, (_, i) => `1:m${i}`);
    const work: UserWork = {
      user: 'u',
      operations: [{ id: 'c', kind: 'create', user: 'u', group: 'g', add: many.map(conv) }],
    };
    const refusing = () => new FakeChatApi({ fault: () => ({ kind: 'api', code: 10004 }) });
    const all = await runApply({
      users: [work],
      api: refusing(),
      checkpoint: memoryCheckpoint(),
      options: { limiters: new RecordingScheduler(), clock: new FakeClock() },
    });
    expect(all.failedItemsTotal).toBe(1001);
    expect(all.failedItems).toHaveLength(1000);
    expect(all.failedItems[999]?.conversation).toEqual(conv('1:m999'));
    const told: string[] = [];
    const two = await runApply({
      users: [work],
      api: refusing(),
      checkpoint: memoryCheckpoint(),
      options: {
        limiters: new RecordingScheduler(),
        clock: new FakeClock(),
        keepFailedItems: 2,
        onFailedItem: (item) => told.push(item.conversation?.id ?? ''),
      },
    });
    expect(two.failedItemsTotal).toBe(1001);
    expect(two.failedItems.map((f) => f.conversation?.id)).toEqual(['m0', 'm1']);
    expect(told).toHaveLength(1001);
    expect(two.operations).toEqual({ ok: 0, failed: 1, reconciled: 0 });
    expect(two.users).toEqual({ done: 0, failed: 1, skipped: 0, alreadyDone: 0, unfinished: 0 });
  });

  it('shows live figures to the progress sink from start to stop', async () => {
    let read: (() => LiveStats) | undefined;
    const seen: string[] = [];
    const clock = new FakeClock();
    const api = new FakeChatApi({
      fault: (call) => (call.user === 'u1' && call.seq === 2 ? { kind: 'api', code: 50004 } : undefined),
    });
    const works: UserWork[] = [
      ...users(2),
      {
        user: 'big',
        operations: [],
        violations: [{ user: 'big', limit: 'groups', count: 9, max: 1, message: 'm' }],
      },
    ];
    const result = await runApply({
      users: works,
      api,
      checkpoint: memoryCheckpoint(),
      options: {
        limiters: new RecordingScheduler(),
        clock,
        concurrency: 1,
        random: () => 0.5,
        baseMs: 100,
        progress: {
          start: (r) => {
            read = r;
            seen.push('start');
          },
          stop: () => seen.push('stop'),
        },
      },
    });
    expect(seen).toEqual(['start', 'stop']);
    // u1's create failed once (50004, a write that may have landed: one get reads the state back); the
    // run's only time on the fake clock is one 50 ms backoff.
    expect(result.durationMs).toBe(50);
    expect(read?.()).toEqual({
      elapsedMs: 50,
      calls: 4,
      failures: 1,
      opsOk: 2,
      opsFailed: 0,
      usersDone: 2,
      usersFailed: 0,
      usersSkipped: 1,
      usersAlreadyDone: 0,
      endpointCalls: expect.objectContaining({ create_contact_group: 3, get_contact_group: 1 }),
    });
    clock.time += 1000;
    expect(read?.().elapsedMs).toBe(1050);
  });

  it('a signal aborted before the start: interrupted, no call, the first user unfinished, nothing more pulled', async () => {
    const api = new FakeChatApi();
    const source = countingSource(users(5));
    const settled: string[] = [];
    const result = await runApply({
      users: source.source,
      api,
      checkpoint: memoryCheckpoint(),
      options: {
        limiters: new RecordingScheduler(),
        clock: new FakeClock(),
        signal: AbortSignal.abort(),
        onUserSettled: (u) => settled.push(u),
      },
    });
    expect(result.interrupted).toBe(true);
    expect(result.fatal).toBeUndefined();
    expect(api.calls).toEqual([]);
    expect(result.users.unfinished).toBe(1);
    expect(settled).toEqual(['u0']);
    expect(source.pulled()).toBe(1);
  });

  it('takes its listener off the signal at the end', async () => {
    const controller = new AbortController();
    await runApply({
      users: users(1),
      api: new FakeChatApi(),
      checkpoint: memoryCheckpoint(),
      options: { limiters: new RecordingScheduler(), clock: new FakeClock(), signal: controller.signal },
    });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('interrupted, then the checkpoint cannot be flushed: the fatal error wins, not interrupted', async () => {
    const full = Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' });
    const result = await runApply({
      users: users(3),
      api: new FakeChatApi(),
      checkpoint: {
        ...memoryCheckpoint(),
        flush: async () => {
          throw full;
        },
      },
      options: { limiters: new RecordingScheduler(), clock: new FakeClock(), signal: AbortSignal.abort() },
    });
    expect(result.fatal).toBe(full);
    expect(result.interrupted).toBe(false);
  });

  it('a producer failing with something that is not an Error: its text is the fatal error', async () => {
    async function* broken(): AsyncGenerator<UserWork> {
      yield* users(1);
      throw 'the input vanished';
    }
    const result = await runApply({
      users: broken(),
      api: new FakeChatApi(),
      checkpoint: memoryCheckpoint(),
      options: { limiters: new RecordingScheduler(), clock: new FakeClock() },
    });
    expect(result.fatal).toBeInstanceOf(Error);
    expect(result.fatal?.message).toBe('the input vanished');
    expect(result.interrupted).toBe(false);
  });

  it('pulls no user after a fatal failure', async () => {
    const api = new FakeChatApi({ fault: () => ({ kind: 'api', code: 60006 }) });
    const source = countingSource(users(50));
    const result = await runApply({
      users: source.source,
      api,
      checkpoint: memoryCheckpoint(),
      options: { limiters: new RecordingScheduler(), clock: new FakeClock(), concurrency: 1 },
    });
    expect(result.fatal).toBeDefined();
    expect(api.calls).toHaveLength(1);
    expect(source.pulled()).toBeLessThanOrEqual(2);
  });

  it('after an interrupt, calls in flight get 5 s by default, then 1 s more once abandoned', async () => {
    const stop = new AbortController();
    const api = new FakeChatApi({
      delay: (call, signal) =>
        new Promise<void>((resolve, reject) => {
          if (call.seq !== 1) return resolve();
          stop.abort();
          signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
        }),
    });
    const clock = new FakeClock();
    const result = await runApply({
      users: users(3),
      api,
      checkpoint: memoryCheckpoint(),
      options: { limiters: new RecordingScheduler(), clock, signal: stop.signal },
    });
    expect(result.interrupted).toBe(true);
    expect(clock.sleeps).toEqual([5000, 1000]);
    expect(result.users.unfinished).toBeGreaterThan(0);
  });

  it('after an interrupt, users that finish within the grace are not abandoned', async () => {
    const stop = new AbortController();
    let release: () => void = () => undefined;
    const api = new FakeChatApi({
      delay: (call) =>
        new Promise<void>((resolve) => {
          if (call.seq !== 1) return resolve();
          stop.abort();
          release = resolve;
        }),
    });
    const clock = new FakeClock();
    let graceSignal: AbortSignal | undefined;
    clock.sleep = (ms, signal) => {
      clock.sleeps.push(ms);
      graceSignal = signal;
      release();
      return new Promise((_resolve, reject) => {
        signal?.addEventListener('abort', () => reject(new Error('grace ended')), { once: true });
      });
    };
    const result = await runApply({
      users: users(3),
      api,
      checkpoint: memoryCheckpoint(),
      options: { limiters: new RecordingScheduler(), clock, signal: stop.signal, abandonAfterMs: 300 },
    });
    expect(result.interrupted).toBe(true);
    expect(clock.sleeps).toEqual([300]);
    expect(result.users.done).toBe(1);
    // The grace timer is stopped (a real one would keep the process alive for abandonAfterMs).
    expect(graceSignal?.aborted).toBe(true);
  });
});
