import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SyncError } from '../../src/errors.js';
import {
  bottleneckSettings,
  countingApart,
  createEndpointLimiters,
  type EndpointScheduler,
  isGateFailure,
  lanesFor,
  MAX_LANE_RATE,
  spacingFor,
} from '../../src/executor/rate/limiters.js';
import type { Endpoint } from '../../src/tencent/wire.js';
import { installVirtualTime, type VirtualTime } from '../helpers/virtual-time.js';
import { FakeClock } from './helpers.js';

/**
 * createEndpointLimiters on virtual time (test/helpers/virtual-time.ts): Bottleneck's spacing, the
 * window gate and the slow-down are observed call by call, in exact virtual milliseconds. The real
 * clock version (limiters.test.ts) checks the same limiter under the machine's own timers.
 */
let time: VirtualTime;
beforeEach(() => {
  time = installVirtualTime(0);
});
afterEach(() => {
  time.uninstall();
});

/** The times between consecutive starts. */
const gaps = (at: readonly number[]) => at.slice(1).map((t, i) => t - (at[i] as number));

/** Schedules `n` calls of `ms` each on `endpoint`, runs virtual time until all are done, returns their starts. */
async function starts(
  limiters: EndpointScheduler,
  n: number,
  ms = 1,
  endpoint: Endpoint = 'get_contact_group',
) {
  const at: number[] = [];
  let inFlight = 0;
  let most = 0;
  const calls = Array.from({ length: n }, () =>
    limiters.schedule(endpoint, async () => {
      at.push(time.now());
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, ms));
      inFlight--;
    }),
  );
  let done = false;
  void Promise.all(calls).then(() => {
    done = true;
  });
  while (!done) await time.runUntil(time.now() + 5);
  return { at, most };
}

async function stop(limiters: EndpointScheduler) {
  const stopped = limiters.stop();
  await time.runUntil(time.now() + 100);
  await stopped;
}

describe('createEndpointLimiters on virtual time', () => {
  it('spaces starts by 1000 / (rate × 0.99) by default', async () => {
    const limiters = createEndpointLimiters({ rate: 4 });
    expect(limiters.spacingMs('get_contact_group')).toBeCloseTo(1000 / 3.96, 9);
    expect(createEndpointLimiters({ rate: 100, headroom: 0.5 }).spacingMs('get_contact_group')).toBe(20);
    const { at } = await starts(limiters, 3);
    // Bottleneck's own timers add a millisecond or two; never less than the spacing.
    for (const gap of gaps(at)) {
      expect(gap).toBeGreaterThanOrEqual(spacingFor(4, 0.99) - 1);
      expect(gap).toBeLessThan(spacingFor(4, 0.99) + 3);
    }
    await stop(limiters);
  });

  it('caps every window of 1000 ms + 25 by default at the rate, whatever the spacing', async () => {
    const limiters = createEndpointLimiters({ rate: 2, headroom: 1 });
    const { at } = await starts(limiters, 3);
    expect(gaps(at)[0]).toBeLessThan(505);
    expect((at[2] as number) - (at[0] as number)).toBeGreaterThanOrEqual(1025);
    expect((at[2] as number) - (at[0] as number)).toBeLessThan(1028);
    await stop(limiters);
    const tight = createEndpointLimiters({ rate: 2, headroom: 1, windowMarginMs: 0 });
    const t = (await starts(tight, 3)).at;
    expect((t[2] as number) - (t[0] as number)).toBeGreaterThanOrEqual(1000);
    expect((t[2] as number) - (t[0] as number)).toBeLessThan(1003);
    await stop(tight);
  });

  it('lets ceil(rate) calls be in flight by default, and maxConcurrent when given', async () => {
    const limiters = createEndpointLimiters({ rate: 2.5, headroom: 1 });
    expect((await starts(limiters, 5, 5000)).most).toBe(3);
    await stop(limiters);
    const one = createEndpointLimiters({ rate: 2.5, headroom: 1, maxConcurrent: 1 });
    expect((await starts(one, 3, 2000)).most).toBe(1);
    await stop(one);
  });

  it('spaces calls by the slowed-down spacing after a rate-limit answer', async () => {
    const limiters = createEndpointLimiters({ rate: 10, headroom: 1, slowdownStep: 2 });
    limiters.reportRateLimited('get_contact_group');
    expect(limiters.spacingMs('get_contact_group')).toBe(200);
    const { at } = await starts(limiters, 3);
    for (const gap of gaps(at)) {
      expect(gap).toBeGreaterThanOrEqual(199);
      expect(gap).toBeLessThan(203);
    }
    await stop(limiters);
  });

  it('takes lanes in turn, and slows every lane down after a rate-limit answer', async () => {
    // 400 calls/s: two lanes, each spacing its starts by 5 ms (2 × 2.5).
    const limiters = createEndpointLimiters({ rate: 400, headroom: 1, slowdownStep: 2 });
    const fast = (await starts(limiters, 6)).at;
    // Two starts at a time (one per lane), 5 ms apart (Bottleneck's timers: a millisecond either way).
    const pairs = fast.map((t) => t - (fast[0] as number));
    for (const [i, want] of [0, 0, 5, 5, 10, 10].entries()) {
      expect(Math.abs((pairs[i] as number) - want), `start ${i}: ${pairs.join(', ')}`).toBeLessThanOrEqual(1);
    }
    limiters.reportRateLimited('get_contact_group');
    expect(limiters.spacingMs('get_contact_group')).toBe(5);
    const slow = (await starts(limiters, 6)).at;
    const from = slow.map((t) => t - (slow[0] as number));
    // Both lanes at 10 ms: a lane left at 5 ms would start its second call at 5.
    expect(from[2]).toBeGreaterThanOrEqual(9);
    expect(from[4]).toBeGreaterThanOrEqual(19);
    await stop(limiters);
  });

  it('counts each call started, on its endpoint', async () => {
    const limiters = createEndpointLimiters({ rate: 100 });
    await starts(limiters, 4);
    await starts(limiters, 2, 1, 'del_contact_group');
    expect(limiters.stats.of('get_contact_group').calls).toBe(4);
    expect(limiters.stats.of('del_contact_group').calls).toBe(2);
    expect(limiters.stats.of('create_contact_group').calls).toBe(0);
    await stop(limiters);
  });
});

describe('schedule and signals', () => {
  it('refuses at once, without queueing, a call whose signal has already aborted', async () => {
    const limiters = createEndpointLimiters({ rate: 100 });
    const stopped = new AbortController();
    stopped.abort(new SyncError('INTERRUPTED', 'stopping'));
    let ran = false;
    await expect(
      limiters.schedule(
        'get_contact_group',
        async () => {
          ran = true;
        },
        stopped.signal,
      ),
    ).rejects.toMatchObject({ code: 'INTERRUPTED' });
    await time.runUntil(100);
    expect(ran).toBe(false);
    expect(limiters.stats.of('get_contact_group').calls).toBe(0);
    await stop(limiters);
  });

  it('lets a call that has started run to its end when the signal aborts, and passes its result or error on', async () => {
    const limiters = createEndpointLimiters({ rate: 100 });
    const abort = new AbortController();
    const ok = limiters.schedule(
      'get_contact_group',
      () => new Promise<string>((resolve) => setTimeout(() => resolve('answer'), 50)),
      abort.signal,
    );
    const failing = limiters.schedule(
      'update_contact_group',
      () => new Promise<string>((_, reject) => setTimeout(() => reject(new Error('refused')), 50)),
      abort.signal,
    );
    const outcomes = Promise.allSettled([ok, failing]);
    await time.runUntil(10);
    abort.abort(new Error('stop'));
    await time.runUntil(100);
    const [a, b] = await outcomes;
    expect(a).toEqual({ status: 'fulfilled', value: 'answer' });
    expect(b).toMatchObject({ status: 'rejected', reason: { message: 'refused' } });
    await stop(limiters);
  });

  it('refuses at once a call aborted while it waits its turn, and never runs it', async () => {
    const limiters = createEndpointLimiters({ rate: 100, maxConcurrent: 1 });
    let finish!: () => void;
    const first = limiters.schedule(
      'get_contact_group',
      () => new Promise<void>((resolve) => (finish = resolve)),
    );
    const abort = new AbortController();
    let ran = false;
    let outcome = 'waiting';
    limiters
      .schedule(
        'get_contact_group',
        async () => {
          ran = true;
        },
        abort.signal,
      )
      .then(
        () => (outcome = 'ran'),
        (e: Error) => (outcome = e.message),
      );
    await time.runUntil(50);
    abort.abort(new Error('stop'));
    await time.runUntil(60);
    // The first call still runs: the second learns of its abort without waiting for it.
    expect(outcome).toBe('stop');
    finish();
    await time.runUntil(200);
    await first;
    expect(ran).toBe(false);
    expect(limiters.stats.of('get_contact_group').calls).toBe(1);
    await stop(limiters);
  });

  it("leaves no listener on the caller's signal once its calls are done (one signal per job)", async () => {
    const limiters = createEndpointLimiters({ rate: 100 });
    const job = new AbortController();
    const calls = Array.from({ length: 12 }, (_, i) =>
      limiters.schedule(
        'get_contact_group',
        async () => {
          if (i % 2 === 1) throw new Error(`refused ${i}`);
          return i;
        },
        job.signal,
      ),
    );
    const outcomes = Promise.allSettled(calls);
    await time.runUntil(500);
    expect((await outcomes).map((o) => o.status)).toEqual(
      Array.from({ length: 12 }, (_, i) => (i % 2 === 1 ? 'rejected' : 'fulfilled')),
    );
    expect(getEventListeners(job.signal, 'abort')).toHaveLength(0);
    await stop(limiters);
  });

  it('passes on the result and the error of a call made without a signal', async () => {
    const limiters = createEndpointLimiters({ rate: 100 });
    const ok = limiters.schedule('get_contact_group', async () => 42);
    const failing = limiters.schedule('get_contact_group', async () => {
      throw new Error('nope');
    });
    const outcomes = Promise.allSettled([ok, failing]);
    await time.runUntil(50);
    expect(await outcomes).toMatchObject([
      { status: 'fulfilled', value: 42 },
      { status: 'rejected', reason: { message: 'nope' } },
    ]);
    await stop(limiters);
  });

  it('drops calls still waiting on stop', async () => {
    const limiters = createEndpointLimiters({ rate: 1, headroom: 1 });
    let ran = 0;
    const calls = [1, 2, 3].map(() =>
      limiters
        .schedule('get_contact_group', async () => {
          ran++;
        })
        .then(
          () => 'ran',
          () => 'dropped',
        ),
    );
    await time.runUntil(10);
    await stop(limiters);
    await time.runUntil(time.now() + 5000);
    expect(await Promise.all(calls)).toEqual(['ran', 'dropped', 'dropped']);
    expect(ran).toBe(1);
  });
});

describe('the shared gate', () => {
  it('does not count an abort during the gate as a gate failure', async () => {
    const abort = new AbortController();
    const limiters = createEndpointLimiters({
      rate: 100,
      gate: {
        acquire: async (_endpoint, signal) => {
          abort.abort(new Error('stop'));
          throw signal?.reason;
        },
      },
    });
    const outcome = limiters
      .schedule('get_contact_group', async () => 1, abort.signal)
      .catch((e: unknown) => e);
    await time.runUntil(50);
    const error = await outcome;
    expect(error).toMatchObject({ message: 'stop' });
    expect(isGateFailure(error)).toBe(false);
    await stop(limiters);
  });

  it('passes on a gate failure that is not an object unchanged (and cannot mark it)', async () => {
    const limiters = createEndpointLimiters({
      rate: 100,
      gate: {
        acquire: async () => {
          throw 'redis said no';
        },
      },
    });
    const outcome = limiters.schedule('get_contact_group', async () => 1).catch((e: unknown) => e);
    await time.runUntil(50);
    expect(await outcome).toBe('redis said no');
    expect(isGateFailure('redis said no')).toBe(false);
    expect(isGateFailure(null)).toBe(false);
    await stop(limiters);
  });
});

describe('slow-down and recovery (injected clock)', () => {
  it('slows down at most 16× by default, and recovers after 1000 quiet ms by default', async () => {
    const clock = new FakeClock();
    const limiters = createEndpointLimiters({ rate: 100, headroom: 1, slowdownStep: 2, clock });
    const base = spacingFor(100, 1);
    for (let i = 0; i < 8; i++) {
      limiters.reportRateLimited('create_contact_group');
      clock.time += 250;
    }
    expect(limiters.spacingMs('create_contact_group')).toBe(16 * base);
    clock.time += 749; // 999 ms after the last answer
    limiters.reportSuccess('create_contact_group');
    expect(limiters.spacingMs('create_contact_group')).toBe(16 * base);
    clock.time += 1;
    limiters.reportSuccess('create_contact_group');
    expect(limiters.spacingMs('create_contact_group')).toBe(8 * base);
    await stop(limiters);
  });

  it('slows down again 250 ms after the last change, not before', async () => {
    const clock = new FakeClock();
    const limiters = createEndpointLimiters({ rate: 100, headroom: 1, slowdownStep: 2, clock });
    const base = spacingFor(100, 1);
    limiters.reportRateLimited('create_contact_group');
    clock.time += 249;
    limiters.reportRateLimited('create_contact_group');
    expect(limiters.spacingMs('create_contact_group')).toBe(2 * base);
    clock.time += 1;
    limiters.reportRateLimited('create_contact_group');
    expect(limiters.spacingMs('create_contact_group')).toBe(4 * base);
    await stop(limiters);
  });

  it('leaves an endpoint at full speed alone on success, so the next rate-limit answer slows it at once', async () => {
    const clock = new FakeClock();
    const limiters = createEndpointLimiters({ rate: 100, headroom: 1, slowdownStep: 2, clock });
    limiters.reportSuccess('get_contact_group');
    clock.time += 1;
    limiters.reportRateLimited('get_contact_group');
    expect(limiters.spacingMs('get_contact_group')).toBe(2 * spacingFor(100, 1));
    await stop(limiters);
  });

  it('recovers only once the last change, too, is recoverAfterMs old', async () => {
    const clock = new FakeClock();
    const limiters = createEndpointLimiters({
      rate: 100,
      headroom: 1,
      slowdownStep: 2,
      recoverAfterMs: 500,
      clock,
    });
    const base = spacingFor(100, 1);
    limiters.reportRateLimited('get_contact_group');
    clock.time += 250;
    limiters.reportRateLimited('get_contact_group'); // 4×, changed at 250
    clock.time += 500;
    limiters.reportSuccess('get_contact_group'); // 2×, changed at 750
    clock.time += 499;
    limiters.reportSuccess('get_contact_group');
    expect(limiters.spacingMs('get_contact_group')).toBe(2 * base);
    clock.time += 1;
    limiters.reportSuccess('get_contact_group');
    expect(limiters.spacingMs('get_contact_group')).toBe(base);
    await stop(limiters);
  });
});

describe('options', () => {
  it('configures Bottleneck in one place: an id per endpoint, the spacing and the calls in flight', () => {
    expect(bottleneckSettings('del_contact_group', 5.5, 7)).toEqual({
      id: 'cgsync-del_contact_group',
      minTime: 5.5,
      maxConcurrent: 7,
    });
  });

  it('splits a budget above 200 calls/s over lanes: lanes × the spacing each, the calls in flight shared', () => {
    expect(MAX_LANE_RATE).toBe(200);
    expect([lanesFor(1, 1), lanesFor(200, 200), lanesFor(200.5, 201), lanesFor(5000, 5000)]).toEqual([
      1, 1, 2, 25,
    ]);
    // Never more lanes than calls in flight (each lane runs at least one).
    expect([lanesFor(5000, 3), lanesFor(5000, 1)]).toEqual([3, 1]);
    const lanes = [0, 1, 2].map((lane) => bottleneckSettings('get_contact_group', 5.5, 7, lane, 3));
    expect(lanes).toEqual([
      { id: 'cgsync-get_contact_group-0', minTime: 16.5, maxConcurrent: 3 },
      { id: 'cgsync-get_contact_group-1', minTime: 16.5, maxConcurrent: 2 },
      { id: 'cgsync-get_contact_group-2', minTime: 16.5, maxConcurrent: 2 },
    ]);
  });

  it('refuses each nonsense option with a USAGE error naming it and its value, and takes the bounds', () => {
    const refusal = (options: Parameters<typeof createEndpointLimiters>[0]) => {
      try {
        createEndpointLimiters(options);
      } catch (error) {
        return {
          code: (error as SyncError).code,
          message: (error as Error).message,
          context: (error as SyncError).context,
        };
      }
      return undefined;
    };
    expect(refusal({ rate: Number.NaN })).toEqual({
      code: 'USAGE',
      message: 'Expected `rate` to be a number above 0 and at most 10000, got NaN',
      context: { value: 'NaN' },
    });
    expect(refusal({ rate: 10_000.5 })?.message).toMatch(/`rate`.*got 10000.5/);
    expect(refusal({ headroom: 0 })?.message).toBe('Expected `headroom` to be in (0, 1], got 0');
    expect(refusal({ headroom: Number.NaN })?.message).toBe('Expected `headroom` to be in (0, 1], got NaN');
    expect(refusal({ maxConcurrent: 0 })?.message).toBe(
      'Expected `maxConcurrent` to be an integer from 1, got 0',
    );
    expect(refusal({ maxSlowdown: 0.5 })?.message).toBe(
      'Expected `maxSlowdown` to be a number from 1, got 0.5',
    );
    expect(refusal({ maxSlowdown: Number.POSITIVE_INFINITY })?.message).toBe(
      'Expected `maxSlowdown` to be a number from 1, got Infinity',
    );
    expect(refusal({ slowdownStep: Number.NaN })).toEqual({
      code: 'USAGE',
      message: 'Expected `slowdownStep` to be a number above 1, got NaN',
      context: {},
    });
    for (const bounds of [{ rate: 10_000, headroom: 1, maxConcurrent: 1, maxSlowdown: 1 }, { rate: 0.001 }]) {
      const limiters = createEndpointLimiters(bounds);
      void limiters.stop();
    }
  });
});

describe('countingApart (one job on a budget other jobs share)', () => {
  it("counts the calls started through it only, and slows, recovers and reads the shared budget's spacing", async () => {
    const clock = new FakeClock();
    const shared = createEndpointLimiters({ rate: 100, headroom: 1, slowdownStep: 2, clock });
    const job = countingApart(shared);
    const other = countingApart(shared);
    expect(job.rate).toBe(100);
    const values = Promise.all([
      job.schedule('get_contact_group', async () => 1),
      job.schedule('del_contact_group', async () => 2),
      other.schedule('get_contact_group', async () => 3),
      shared.schedule('get_contact_group', async () => 4),
    ]);
    await time.runUntil(100);
    expect(await values).toEqual([1, 2, 3, 4]);
    expect(job.stats.of('get_contact_group').calls).toBe(1);
    expect(job.stats.of('del_contact_group').calls).toBe(1);
    expect(other.stats.totalCalls()).toBe(1);
    expect(shared.stats.totalCalls()).toBe(4);
    // A rate-limit answer one job gets slows every job on the endpoint; a later success recovers it.
    job.reportRateLimited('get_contact_group');
    expect(shared.spacingMs('get_contact_group')).toBe(20);
    expect(other.spacingMs('get_contact_group')).toBe(20);
    clock.time += 1000;
    other.reportSuccess('get_contact_group');
    expect(job.spacingMs('get_contact_group')).toBe(10);
    // `stop` is the budget's own too (only its owner calls it: run-apply, the connection).
    await stop(job);
    const late = shared.schedule('get_contact_group', async () => 5).catch((e: Error) => e.message);
    await time.runUntil(time.now() + 100);
    expect(await late).toMatch(/stopped/);
  });
});
