import { describe, expect, it } from 'vitest';
import { SyncError } from '../../src/errors.js';
import { createEndpointLimiters } from '../../src/executor/rate/limiters.js';
import {
  backoffMs,
  callWithRetry,
  failureCode,
  failureMessage,
  isUserReadFailure,
  judgeFailure,
  UNEXPECTED_ATTEMPTS,
} from '../../src/executor/retry.js';
import { errorForFailure } from '../../src/tencent/client.js';
import type { Failure } from '../../src/tencent/error-codes.js';
import type { Endpoint } from '../../src/tencent/wire.js';
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

describe('judgeFailure, the rest of its cases', () => {
  it('a connection error raised before the request left is never an unknown outcome', () => {
    for (const cause of ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']) {
      expect(judgeFailure(fail({ kind: 'network', cause }), { write: true })).toEqual({
        kind: 'retry',
        rateLimited: false,
      });
    }
    expect(judgeFailure(fail({ kind: 'network', cause: 'unknown' }), { write: true })).toEqual({
      kind: 'unknown_outcome',
    });
  });

  it('an unexpected answer: a write may have landed, a read is tried a few times', () => {
    const odd = fail({ kind: 'unexpected', repeated: false });
    expect(UNEXPECTED_ATTEMPTS).toBe(3);
    expect(judgeFailure(odd, { write: true })).toEqual({ kind: 'unknown_outcome' });
    expect(judgeFailure(odd, { write: false })).toEqual({
      kind: 'retry',
      rateLimited: false,
      maxAttempts: 3,
    });
    expect(judgeFailure(odd)).toEqual({ kind: 'retry', rateLimited: false, maxAttempts: 3 });
    expect(judgeFailure(fail({ kind: 'unexpected', repeated: true }))).toEqual({ kind: 'fatal' });
  });

  it('a stopped run, an AbortError, and a failure of the shared gate', async () => {
    expect(judgeFailure(api(50004), { signal: AbortSignal.abort() })).toEqual({ kind: 'aborted' });
    expect(judgeFailure(api(50004), { signal: new AbortController().signal })).toEqual({
      kind: 'retry',
      rateLimited: false,
    });
    const abort = Object.assign(new Error('aborted'), { name: 'AbortError' });
    expect(judgeFailure(abort)).toEqual({ kind: 'aborted' });
    expect(judgeFailure(new Error('AbortError'))).toEqual({ kind: 'fatal' });
    // A gate (Redis) that fails with what looks like a network error still stops the run.
    const down = new SyncError('TRANSPORT', 'redis: connection refused');
    expect(judgeFailure(down)).toEqual({ kind: 'retry', rateLimited: false });
    const limiters = createEndpointLimiters({
      rate: 1000,
      gate: {
        acquire: async () => {
          throw down;
        },
      },
    });
    try {
      const err = await limiters
        .schedule('get_contact_group', async () => 'never')
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBe(down);
      expect(judgeFailure(err)).toEqual({ kind: 'fatal' });
    } finally {
      await limiters.stop();
    }
  });

  it('isUserReadFailure: permanent refusals and unexpected answers only', () => {
    expect(isUserReadFailure(api(50001))).toBe(true);
    expect(isUserReadFailure(fail({ kind: 'unexpected', repeated: false }))).toBe(true);
    expect(isUserReadFailure(api(50004))).toBe(false);
    expect(isUserReadFailure(fail({ kind: 'http', status: 429 }))).toBe(false);
    expect(isUserReadFailure(api(60006))).toBe(false);
  });
});

describe('failureCode and failureMessage, the rest of their cases', () => {
  it('names every kind of failure', () => {
    expect(failureCode(fail({ kind: 'network', cause: 'unknown' }))).toBe('NETWORK');
    expect(failureCode(new SyncError('TRANSPORT', 'reset'))).toBe('NETWORK');
    expect(failureCode(fail({ kind: 'unexpected', repeated: false }))).toBe('UNEXPECTED_RESPONSE');
    expect(failureCode(new TypeError('bug'))).toBe('UNEXPECTED');
    expect(failureCode('a string')).toBe('UNEXPECTED');
  });

  it("is an error's message, or anything else as a string", () => {
    expect(failureMessage(new Error('the message'))).toBe('the message');
    expect(failureMessage('plain')).toBe('plain');
    expect(failureMessage(42)).toBe('42');
  });
});

describe('backoffMs, its defaults', () => {
  it('base 250 ms, cap 30 s, a rate-limit base of at least 500 ms', () => {
    const top = () => 0.5;
    expect(backoffMs(1, false, { random: top })).toBe(125);
    expect(backoffMs(3, false, { random: top })).toBe(500);
    expect(backoffMs(20, false, { random: top })).toBe(15_000);
    expect(backoffMs(1, true, { random: top })).toBe(250);
    expect(backoffMs(2, true, { baseMs: 1000, random: top })).toBe(1000);
  });

  it('the exponent stops at 30: a huge attempt number keeps to the cap', () => {
    expect(backoffMs(40, false, { baseMs: 1, capMs: 2 ** 40, random: () => 0.5 })).toBe(2 ** 29);
  });

  it('draws from Math.random without a source of its own', () => {
    for (let i = 0; i < 20; i++) {
      const ms = backoffMs(1, false);
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThan(250);
      expect(Number.isInteger(ms)).toBe(true);
    }
  });
});

describe('callWithRetry, its defaults and signals', () => {
  /** Records the stop signal each attempt was scheduled with. */
  class SignalScheduler extends RecordingScheduler {
    readonly signals: (AbortSignal | undefined)[] = [];
    override schedule<T>(endpoint: Endpoint, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
      this.signals.push(signal);
      return super.schedule(endpoint, fn, signal);
    }
  }

  it('by default 8 attempts and 60 s: then every wait is at least 100 ms until the 60 s are used', async () => {
    const scheduler = new RecordingScheduler();
    const clock = new FakeClock();
    const outage = Array.from({ length: 1000 }, () => network());
    const call = scripted(outage);
    const err = await callWithRetry(scheduler, 'get_contact_group', call.fn, { clock, random: () => 0 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(call.attempts()).toBe(608);
    expect(err).toBe(outage[607]);
    expect(clock.sleeps.slice(0, 8)).toEqual([0, 0, 0, 0, 0, 0, 0, 100]);
    expect(clock.sleeps).toHaveLength(607);
    expect(clock.sleeps.every((ms, i) => ms === (i < 7 ? 0 : 100))).toBe(true);
    expect(scheduler.stats.of('get_contact_group')).toEqual({
      calls: 608,
      retries: 607,
      rateLimited: 0,
      failures: 608,
    });
  });

  it('past maxAttempts, a longer draw is waited in full', async () => {
    const clock = new FakeClock();
    const call = scripted([network(), network(), network()]);
    await callWithRetry(new RecordingScheduler(), 'get_contact_group', call.fn, {
      clock,
      maxAttempts: 1,
      retryForMs: 10_000,
      baseMs: 1000,
      random: () => 0.5,
    });
    expect(clock.sleeps).toEqual([500, 1000, 2000]);
  });

  it('a read answered with an unexpected shape is tried 3 times, whatever the budget', async () => {
    const scheduler = new RecordingScheduler();
    const odd = () => fail({ kind: 'unexpected', repeated: false });
    const answers = [odd(), odd(), odd(), odd()];
    const call = scripted(answers);
    await expect(
      callWithRetry(scheduler, 'get_contact_group', call.fn, {
        clock: new FakeClock(),
        maxAttempts: 20,
        retryForMs: 1_000_000,
      }),
    ).rejects.toBe(answers[2]);
    expect(call.attempts()).toBe(3);
  });

  it('a write answered with an unexpected shape is handed back at once', async () => {
    const odd = fail({ kind: 'unexpected', repeated: false });
    const call = scripted([odd]);
    await expect(
      callWithRetry(new RecordingScheduler(), 'create_contact_group', call.fn, {
        clock: new FakeClock(),
        write: true,
      }),
    ).rejects.toBe(odd);
    expect(call.attempts()).toBe(1);
  });

  it("not a write by default: a write's timeout is retried unless write is set", async () => {
    const call = scripted([fail({ kind: 'timeout' })]);
    expect(
      await callWithRetry(new RecordingScheduler(), 'create_contact_group', call.fn, {
        clock: new FakeClock(),
      }),
    ).toBe('ok');
    expect(call.attempts()).toBe(2);
  });

  it('passes its signal to fn, and uses it as the stop signal unless one is given', async () => {
    const controller = new AbortController();
    const seen: (AbortSignal | undefined)[] = [];
    const fn = async (signal?: AbortSignal) => {
      seen.push(signal);
      return 'ok';
    };
    const scheduler = new SignalScheduler();
    await callWithRetry(scheduler, 'get_contact_group', fn, {
      clock: new FakeClock(),
      signal: controller.signal,
    });
    expect(seen).toEqual([controller.signal]);
    expect(scheduler.signals).toEqual([controller.signal]);
    const stop = new AbortController();
    await callWithRetry(scheduler, 'get_contact_group', fn, {
      clock: new FakeClock(),
      signal: controller.signal,
      stopSignal: stop.signal,
    });
    expect(seen).toEqual([controller.signal, controller.signal]);
    expect(scheduler.signals).toEqual([controller.signal, stop.signal]);
  });

  it('a call aborted by the run is rethrown as it is, not counted as a failure', async () => {
    const controller = new AbortController();
    const lost = network();
    const scheduler = new RecordingScheduler();
    const fn = async () => {
      controller.abort(new Error('stop'));
      throw lost;
    };
    await expect(
      callWithRetry(scheduler, 'get_contact_group', fn, {
        clock: new FakeClock(),
        signal: controller.signal,
      }),
    ).rejects.toBe(lost);
    expect(scheduler.stats.of('get_contact_group')).toMatchObject({ calls: 1, failures: 0, retries: 0 });
  });

  it('a permanent refusal is counted as a failure, not retried, and reports no success', async () => {
    const scheduler = new RecordingScheduler();
    await expect(
      callWithRetry(scheduler, 'get_contact_group', scripted([api(51008)]).fn, { clock: new FakeClock() }),
    ).rejects.toMatchObject({ context: { errorCode: 51008 } });
    expect(scheduler.stats.of('get_contact_group')).toEqual({
      calls: 1,
      retries: 0,
      rateLimited: 0,
      failures: 1,
    });
    expect(scheduler.successes).toEqual([]);
    expect(scheduler.rateLimited).toEqual([]);
  });
});
