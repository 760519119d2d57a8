import { describe, expect, it } from 'vitest';
import { SyncError } from '../../src/errors.js';
import { createEndpointLimiters } from '../../src/executor/rate/limiters.js';
import { backoffMs, callWithRetry, failureCode, judgeFailure } from '../../src/executor/retry.js';
import { errorForFailure } from '../../src/tencent/client.js';
import type { Failure } from '../../src/tencent/error-codes.js';
import { FakeClock, RecordingScheduler } from './helpers.js';

const fail = (failure: Failure) => errorForFailure(failure, `failed: ${JSON.stringify(failure)}`);
const api = (errorCode: number) => fail({ kind: 'api', errorCode });
const network = () => fail({ kind: 'network', cause: 'ECONNREFUSED' });

/** A call that fails with `errors` in turn, then returns 'ok'. */
function scripted(errors: Error[]) {
  let n = 0;
  const fn = async () => {
    const err = errors[n++];
    if (err !== undefined) throw err;
    return 'ok';
  };
  return { fn, attempts: () => n };
}

describe('judgeFailure', () => {
  it('reads each failure class the way the executor acts on it', () => {
    expect(judgeFailure(api(50004))).toEqual({ kind: 'retry', rateLimited: false });
    expect(judgeFailure(api(60007))).toEqual({ kind: 'retry', rateLimited: true });
    expect(judgeFailure(fail({ kind: 'http', status: 429 }))).toEqual({ kind: 'retry', rateLimited: true });
    expect(judgeFailure(api(51008))).toEqual({ kind: 'permanent' });
    expect(judgeFailure(api(99999))).toEqual({ kind: 'permanent' });
    expect(judgeFailure(api(60006))).toEqual({ kind: 'fatal' });
    expect(judgeFailure(api(70001))).toEqual({ kind: 'fatal' });
    expect(judgeFailure(new TypeError('bug'))).toEqual({ kind: 'fatal' });
    expect(judgeFailure(new SyncError('INTERRUPTED', 'stop'))).toEqual({ kind: 'aborted' });
  });

  it('treats a write that may have been applied as an unknown outcome, but not one never sent', () => {
    const write = { write: true };
    expect(judgeFailure(fail({ kind: 'timeout' }), write)).toEqual({ kind: 'unknown_outcome' });
    expect(judgeFailure(fail({ kind: 'network', cause: 'ECONNRESET' }), write)).toEqual({
      kind: 'unknown_outcome',
    });
    expect(judgeFailure(fail({ kind: 'http', status: 502 }), write)).toEqual({ kind: 'unknown_outcome' });
    expect(judgeFailure(api(50005), write)).toEqual({ kind: 'unknown_outcome' });
    expect(judgeFailure(fail({ kind: 'network', cause: 'ECONNREFUSED' }), write)).toEqual({
      kind: 'retry',
      rateLimited: false,
    });
    expect(judgeFailure(api(60007), write)).toEqual({ kind: 'retry', rateLimited: true });
    expect(judgeFailure(fail({ kind: 'timeout' }))).toEqual({ kind: 'retry', rateLimited: false });
  });

  it('names failures with short codes', () => {
    expect(failureCode(api(51008))).toBe(51008);
    expect(failureCode(fail({ kind: 'http', status: 502 }))).toBe('HTTP 502');
    expect(failureCode(fail({ kind: 'timeout' }))).toBe('TIMEOUT');
    expect(failureCode(fail({ kind: 'network', cause: 'ECONNRESET' }))).toBe('ECONNRESET');
    expect(failureCode(new SyncError('IO', 'disk full'))).toBe('IO');
  });
});

describe('backoffMs', () => {
  it('uses full jitter under a capped exponential ceiling', () => {
    const top = () => 0.999999;
    expect(backoffMs(1, false, { baseMs: 100, random: top })).toBe(99);
    expect(backoffMs(4, false, { baseMs: 100, random: top })).toBe(799);
    expect(backoffMs(20, false, { baseMs: 100, capMs: 5000, random: top })).toBe(4999);
    expect(backoffMs(3, false, { baseMs: 100, random: () => 0 })).toBe(0);
    // Rate-limit answers wait at least on a 500 ms base.
    expect(backoffMs(1, true, { baseMs: 100, random: top })).toBe(499);
  });
});

describe('callWithRetry', () => {
  it('retries transient failures through the limiter, then succeeds', async () => {
    const scheduler = new RecordingScheduler();
    const clock = new FakeClock();
    const call = scripted([api(50004), fail({ kind: 'http', status: 503 })]);
    const value = await callWithRetry(scheduler, 'get_contact_group', call.fn, {
      clock,
      random: () => 0.5,
      baseMs: 100,
    });
    expect(value).toBe('ok');
    expect(scheduler.scheduled).toEqual(['get_contact_group', 'get_contact_group', 'get_contact_group']);
    expect(clock.sleeps).toEqual([50, 100]);
    expect(scheduler.stats.of('get_contact_group')).toEqual({
      calls: 3,
      retries: 2,
      rateLimited: 0,
      failures: 2,
    });
    expect(scheduler.successes).toEqual(['get_contact_group']);
  });

  it('reports rate-limit answers so the whole endpoint slows down', async () => {
    const scheduler = new RecordingScheduler();
    const call = scripted([api(60007), api(60018)]);
    await callWithRetry(scheduler, 'create_contact_group', call.fn, { clock: new FakeClock() });
    expect(scheduler.rateLimited).toEqual(['create_contact_group', 'create_contact_group']);
    expect(scheduler.stats.of('create_contact_group').rateLimited).toBe(2);
  });

  it('does not retry permanent or fatal failures', async () => {
    for (const code of [51008, 60006]) {
      const scheduler = new RecordingScheduler();
      const call = scripted([api(code)]);
      await expect(
        callWithRetry(scheduler, 'update_contact_group', call.fn, { clock: new FakeClock() }),
      ).rejects.toMatchObject({
        context: { errorCode: code },
      });
      expect(call.attempts()).toBe(1);
    }
  });

  it('hands an unknown write outcome back instead of repeating the write', async () => {
    const scheduler = new RecordingScheduler();
    const call = scripted([fail({ kind: 'timeout' })]);
    await expect(
      callWithRetry(scheduler, 'create_contact_group', call.fn, { clock: new FakeClock(), write: true }),
    ).rejects.toThrow(/timeout/);
    expect(call.attempts()).toBe(1);
  });

  it('gives up after maxAttempts (once retryForMs is used up too) and rethrows the last failure', async () => {
    const scheduler = new RecordingScheduler();
    const call = scripted([api(50004), api(50004), api(70500), api(50004)]);
    await expect(
      callWithRetry(scheduler, 'get_contact_group', call.fn, {
        clock: new FakeClock(),
        maxAttempts: 3,
        retryForMs: 0,
      }),
    ).rejects.toMatchObject({ context: { errorCode: 70500 } });
    expect(call.attempts()).toBe(3);
    expect(scheduler.stats.of('get_contact_group')).toMatchObject({ calls: 3, retries: 2, failures: 3 });
  });

  it('keeps retrying past maxAttempts until retryForMs has passed (an outage outlasting small draws)', async () => {
    const scheduler = new RecordingScheduler();
    const clock = new FakeClock();
    const failures = Array.from({ length: 12 }, () => network());
    const call = scripted(failures);
    const value = await callWithRetry(scheduler, 'get_contact_group', call.fn, {
      clock,
      maxAttempts: 3,
      retryForMs: 5_000,
      random: () => 0,
    });
    expect(value).toBe('ok');
    expect(call.attempts()).toBe(13);
    // …and gives up once both budgets are spent, rethrowing the last failure as it was.
    const outage = Array.from({ length: 1000 }, () => network());
    const endless = scripted(outage);
    const error = await callWithRetry(scheduler, 'get_contact_group', endless.fn, {
      clock,
      maxAttempts: 3,
      retryForMs: 1_000,
      random: () => 0,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(endless.attempts()).toBeGreaterThan(3);
    expect(endless.attempts()).toBeLessThan(1000);
    expect(error).toBe(outage[endless.attempts() - 1]);
    expect(error).toBeInstanceOf(SyncError);
    expect(error).toMatchObject({ code: 'TRANSPORT' });
  });

  it('stops waiting and starts no new attempt once the stop signal fires', async () => {
    const scheduler = new RecordingScheduler();
    const stop = new AbortController();
    const clock = new FakeClock();
    clock.sleep = async (_ms, signal) => {
      stop.abort(new SyncError('INTERRUPTED', 'stopping'));
      if (signal?.aborted) throw signal.reason;
    };
    const call = scripted([api(50004)]);
    await expect(
      callWithRetry(scheduler, 'get_contact_group', call.fn, { clock, stopSignal: stop.signal }),
    ).rejects.toMatchObject({ code: 'INTERRUPTED' });
    expect(call.attempts()).toBe(1);
  });

  it('sends every attempt through the real Bottleneck limiter', async () => {
    const limiters = createEndpointLimiters({ rate: 1000 });
    try {
      const call = scripted([api(50004), api(60007)]);
      await callWithRetry(limiters, 'search_contact_group', call.fn, { clock: new FakeClock() });
      expect(limiters.stats.of('search_contact_group')).toMatchObject({
        calls: 3,
        retries: 2,
        rateLimited: 1,
      });
      expect(limiters.spacingMs('search_contact_group')).toBeGreaterThan(
        limiters.spacingMs('get_contact_group'),
      );
    } finally {
      await limiters.stop();
    }
  });
});
