import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { abortAfter, abortReason, MAX_TIMER_MS, systemClock } from '../../src/executor/clock.js';

/**
 * The real clock and the long abort timer, on vitest's fake timers (`Date.now` and `setTimeout` are
 * faked, so nothing here waits).
 */

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});

afterEach(() => {
  vi.useRealTimers();
});

/** Whether `promise` has settled, after the microtasks run out. */
async function state(promise: Promise<unknown>): Promise<'pending' | 'resolved' | 'rejected'> {
  let result: 'pending' | 'resolved' | 'rejected' = 'pending';
  promise.then(
    () => {
      result = 'resolved';
    },
    () => {
      result = 'rejected';
    },
  );
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return result;
}

describe('abortReason', () => {
  it("is the signal's reason when it is an Error", () => {
    const reason = new RangeError('why');
    expect(abortReason(AbortSignal.abort(reason))).toBe(reason);
  });

  it('is an AbortError otherwise', () => {
    const err = abortReason(AbortSignal.abort('a string'));
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('AbortError');
    expect(err.message).toBe('The operation was aborted');
  });
});

describe('systemClock', () => {
  it('now is Date.now', () => {
    expect(systemClock.now()).toBe(1_000_000);
    vi.advanceTimersByTime(1234);
    expect(systemClock.now()).toBe(1_001_234);
  });

  it('sleep resolves after ms, not before, and leaves no listener on the signal', async () => {
    const controller = new AbortController();
    const sleeping = systemClock.sleep(500, controller.signal);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    vi.advanceTimersByTime(499);
    expect(await state(sleeping)).toBe('pending');
    vi.advanceTimersByTime(1);
    expect(await state(sleeping)).toBe('resolved');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('sleep without a signal resolves after ms', async () => {
    const sleeping = systemClock.sleep(100);
    vi.advanceTimersByTime(99);
    expect(await state(sleeping)).toBe('pending');
    vi.advanceTimersByTime(1);
    expect(await state(sleeping)).toBe('resolved');
  });

  it('an abort while it sleeps rejects with the reason at once and clears the timer', async () => {
    const controller = new AbortController();
    const sleeping = systemClock.sleep(10_000, controller.signal);
    expect(vi.getTimerCount()).toBe(1);
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(sleeping).rejects.toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('an abort without an Error reason rejects with an AbortError', async () => {
    const controller = new AbortController();
    const sleeping = systemClock.sleep(10_000, controller.signal);
    controller.abort('no Error');
    await expect(sleeping).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('a signal aborted already rejects without a timer', async () => {
    const reason = new Error('already');
    await expect(systemClock.sleep(10, AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('abortAfter', () => {
  it('MAX_TIMER_MS is the longest setTimeout delay, 2^31 - 1', () => {
    expect(MAX_TIMER_MS).toBe(2_147_483_647);
  });

  it('refuses a delay that is not a finite number from 0', () => {
    for (const ms of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => abortAfter(ms, () => new Error('late'))).toThrow(
        new RangeError(`Expected \`ms\` to be a finite number from 0, got ${String(ms)}`),
      );
    }
    expect(vi.getTimerCount()).toBe(0);
    const zero = abortAfter(0, () => new Error('now'));
    vi.advanceTimersByTime(0);
    expect(zero.signal.aborted).toBe(true);
  });

  it('aborts with reason() when its timer fires at ms, not before', () => {
    const reason = new Error('deadline');
    const made = vi.fn(() => reason);
    const delayed = abortAfter(300, made);
    vi.advanceTimersByTime(299);
    expect(delayed.signal.aborted).toBe(false);
    expect(made).not.toHaveBeenCalled();
    vi.advanceTimersToNextTimer();
    expect(Date.now()).toBe(1_000_300);
    expect(delayed.signal.aborted).toBe(true);
    expect(delayed.signal.reason).toBe(reason);
    expect(made).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a delay beyond MAX_TIMER_MS is waited out in steps', () => {
    const ms = MAX_TIMER_MS + 5000;
    const delayed = abortAfter(ms, () => new Error('much later'));
    vi.advanceTimersToNextTimer();
    expect(Date.now()).toBe(1_000_000 + MAX_TIMER_MS);
    expect(delayed.signal.aborted).toBe(false);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(4999);
    expect(delayed.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(delayed.signal.aborted).toBe(true);
    expect(delayed.signal.reason).toEqual(new Error('much later'));
  });

  it('cancel stops the timer: the signal never aborts', () => {
    const delayed = abortAfter(100, () => new Error('never'));
    delayed.cancel();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(1000);
    expect(delayed.signal.aborted).toBe(false);
  });

  it('cancel stops the later steps of a long delay too', () => {
    const delayed = abortAfter(MAX_TIMER_MS * 2, () => new Error('never'));
    vi.advanceTimersToNextTimer();
    expect(vi.getTimerCount()).toBe(1);
    delayed.cancel();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('abortAfter on the real timers', () => {
  it('its timer does not keep the process alive', () => {
    vi.useRealTimers();
    const timers: NodeJS.Timeout[] = [];
    const real = globalThis.setTimeout;
    const spy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((
      fn: () => void,
      ms?: number,
    ): NodeJS.Timeout => {
      const timer = real(fn, ms);
      timers.push(timer);
      return timer;
    }) as typeof setTimeout);
    try {
      const delayed = abortAfter(60_000, () => new Error('never'));
      expect(timers).toHaveLength(1);
      expect(timers[0]?.hasRef()).toBe(false);
      delayed.cancel();
    } finally {
      spy.mockRestore();
    }
  });
});
