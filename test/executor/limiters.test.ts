import { describe, expect, it } from 'vitest';
import { SyncError } from '../../src/errors.js';
import {
  createEndpointLimiters,
  isGateFailure,
  MAX_WINDOW_SLOTS,
  spacingFor,
  windowShape,
} from '../../src/executor/rate/limiters.js';
import { SlidingWindowGate } from '../../src/executor/rate/window-gate.js';
import { callWithRetry, judgeFailure } from '../../src/executor/retry.js';
import { MAX_RATE } from '../../src/model.js';
import { maxInWindow } from '../helpers/sliding-window.js';
import { FakeClock } from './helpers.js';

describe('shared gate', () => {
  it('passes the gate just before each call, and makes a gate failure fatal, never retried', async () => {
    const order: string[] = [];
    let refuse = false;
    const limiters = createEndpointLimiters({
      rate: 1000,
      gate: {
        acquire: async (endpoint) => {
          order.push(`gate ${endpoint}`);
          if (refuse)
            throw new SyncError('TRANSPORT', 'Redis at 127.0.0.1:6379 is unreachable: ECONNREFUSED');
        },
      },
    });
    try {
      await limiters.schedule('get_contact_group', async () => {
        order.push('call');
      });
      expect(order).toEqual(['gate get_contact_group', 'call']);
      refuse = true;
      let attempts = 0;
      const failure = await callWithRetry(
        limiters,
        'get_contact_group',
        async () => {
          attempts++;
        },
        { clock: new FakeClock() },
      ).catch((err: unknown) => err);
      expect(isGateFailure(failure)).toBe(true);
      expect(judgeFailure(failure)).toEqual({ kind: 'fatal' });
      expect(attempts).toBe(0);
      expect(limiters.stats.of('get_contact_group').calls).toBe(1);
    } finally {
      await limiters.stop();
    }
  });
});

describe('rate-limit slow-down (injected clock)', () => {
  it('slows an endpoint once per burst (here ×2), up to the cap, and recovers after a quiet period', async () => {
    const clock = new FakeClock();
    const limiters = createEndpointLimiters({
      rate: 100,
      headroom: 1,
      maxSlowdown: 4,
      slowdownStep: 2,
      recoverAfterMs: 2000,
      clock,
    });
    try {
      const base = spacingFor(100, 1);
      expect(limiters.spacingMs('update_contact_group')).toBe(base);
      limiters.reportRateLimited('update_contact_group');
      limiters.reportRateLimited('update_contact_group'); // same burst
      expect(limiters.spacingMs('update_contact_group')).toBe(2 * base);
      expect(limiters.spacingMs('create_contact_group')).toBe(base);
      clock.time += 300;
      limiters.reportRateLimited('update_contact_group');
      clock.time += 300;
      limiters.reportRateLimited('update_contact_group');
      expect(limiters.spacingMs('update_contact_group')).toBe(4 * base);
      clock.time += 1000;
      limiters.reportSuccess('update_contact_group'); // not quiet long enough
      expect(limiters.spacingMs('update_contact_group')).toBe(4 * base);
      clock.time += 1500;
      limiters.reportSuccess('update_contact_group');
      expect(limiters.spacingMs('update_contact_group')).toBe(2 * base);
      limiters.reportSuccess('update_contact_group'); // one step per quiet period
      expect(limiters.spacingMs('update_contact_group')).toBe(2 * base);
      clock.time += 2000;
      limiters.reportSuccess('update_contact_group');
      expect(limiters.spacingMs('update_contact_group')).toBe(base);
    } finally {
      await limiters.stop();
    }
  });

  it('slows down gently by default: ×1.25 per burst', async () => {
    const clock = new FakeClock();
    const limiters = createEndpointLimiters({ rate: 100, headroom: 1, clock });
    try {
      limiters.reportRateLimited('create_contact_group');
      expect(limiters.spacingMs('create_contact_group')).toBeCloseTo(1.25 * spacingFor(100, 1));
      expect(() => createEndpointLimiters({ slowdownStep: 1 })).toThrow(/slowdownStep.*above 1, got 1/);
    } finally {
      await limiters.stop();
    }
  });

  it('refuses nonsense options with a message naming what was expected', () => {
    expect(() => createEndpointLimiters({ rate: 0 })).toThrow(
      /Expected `rate` to be a number above 0 and at most 10000, got 0/,
    );
    expect(() => createEndpointLimiters({ rate: 1e9 })).toThrow(
      /Expected `rate` to be a number above 0 and at most 10000, got 1000000000/,
    );
    expect(() => createEndpointLimiters({ maxConcurrent: 1.5 })).toThrow(/maxConcurrent/);
    expect(() => createEndpointLimiters({ headroom: 1.2 })).toThrow(/headroom/);
  });
});

describe('the window gate does not grow with the rate (issue 12: --rate 1e9 took 24 GB)', () => {
  it('keeps the ring at most MAX_WINDOW_SLOTS long and shrinks the window instead', () => {
    expect(windowShape(200, 25)).toEqual({ limit: 200, windowMs: 1025 });
    expect(windowShape(1000, 25)).toEqual({ limit: 1000, windowMs: 1025 });
    expect(windowShape(MAX_RATE, 25)).toEqual({ limit: MAX_WINDOW_SLOTS, windowMs: 102.5 });
    expect(windowShape(0.5, 25).limit).toBe(1);
    for (const rate of [1001, 5000, MAX_RATE]) {
      const shape = windowShape(rate, 25);
      expect(shape.limit).toBe(MAX_WINDOW_SLOTS);
      // The same rate as the ring of `rate` slots would give, and the same share of margin (2.5%).
      expect(shape.limit / (shape.windowMs / 1000)).toBeCloseTo(rate / 1.025, 6);
    }
  });

  it('at the bound, no more than the rate starts in any second (injected clock)', async () => {
    const clock = new FakeClock();
    const gate = new SlidingWindowGate({ ...windowShape(MAX_RATE, 25), clock });
    const starts: number[] = [];
    for (let i = 0; i < 25_000; i++) {
      await gate.acquire('get_contact_group');
      starts.push(clock.now());
    }
    expect(maxInWindow(starts, 1000)).toBeLessThanOrEqual(MAX_RATE);
    expect(maxInWindow(starts, 1000)).toBeGreaterThan(MAX_RATE * 0.95);
  });
});
