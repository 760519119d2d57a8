import { describe, expect, it } from 'vitest';
import { SyncError } from '../../src/errors.js';
import { SlidingWindowGate } from '../../src/executor/rate/window-gate.js';
import type { Endpoint } from '../../src/tencent/wire.js';
import { FakeClock } from './helpers.js';

describe('SlidingWindowGate restamp', () => {
  it('keeps a start where it is when the clock stepped back before the call left (Date.now is not monotonic)', async () => {
    const clock = new FakeClock();
    const gate = new SlidingWindowGate({ limit: 1, windowMs: 1000, clock });
    const t0 = clock.time;
    const first = await gate.acquireSlot('get_contact_group');
    clock.time = t0 - 300; // an NTP step back between the release and the send
    first();
    await gate.acquireSlot('get_contact_group');
    // The slot frees 1000 ms after the call's real start (t0), not after the stepped-back reading.
    expect(clock.time).toBe(t0 + 1000);
  });

  it('counts a call from when it left: the call that reuses its slot waits that much longer', async () => {
    const clock = new FakeClock();
    const gate = new SlidingWindowGate({ limit: 2, windowMs: 1000, clock });
    const t0 = clock.time;
    const first = await gate.acquireSlot('create_contact_group');
    await gate.acquireSlot('create_contact_group');
    // The first call was held up 40 ms between its release and its send.
    clock.time += 40;
    first();
    await gate.acquireSlot('create_contact_group');
    expect(clock.time).toBe(t0 + 1040);
  });

  it('never moves a start earlier, and does nothing once the slot was reused', async () => {
    const clock = new FakeClock();
    const gate = new SlidingWindowGate({ limit: 1, windowMs: 1000, clock });
    const t0 = clock.time;
    const first = await gate.acquireSlot('update_contact_group');
    await gate.acquireSlot('update_contact_group'); // reuses the only slot at t0 + 1000
    expect(clock.time).toBe(t0 + 1000);
    clock.time += 500;
    first(); // stale: must not touch the slot the second call holds
    await gate.acquireSlot('update_contact_group');
    expect(clock.time).toBe(t0 + 2000);
  });
});

/** A FakeClock whose origin is 0, as `performance.now()` and the manual clocks start. */
function clockAtZero(): FakeClock {
  const clock = new FakeClock();
  clock.time = 0;
  return clock;
}

describe('SlidingWindowGate', () => {
  it('lets the first `limit` calls through at once even when the clock starts at 0, then one per freed slot', async () => {
    const clock = clockAtZero();
    const gate = new SlidingWindowGate({ limit: 3, windowMs: 100, clock });
    const starts: number[] = [];
    for (let i = 0; i < 7; i++) {
      await gate.acquire('get_contact_group');
      starts.push(clock.now());
    }
    expect(starts).toEqual([0, 0, 0, 100, 100, 100, 200]);
  });

  it('waits in whole milliseconds, as long as the oldest start needs, and not a millisecond more', async () => {
    const clock = clockAtZero();
    const gate = new SlidingWindowGate({ limit: 2, windowMs: 10.5, clock });
    await gate.acquire('get_contact_group');
    clock.time = 3;
    await gate.acquire('get_contact_group');
    clock.time = 4;
    await gate.acquire('get_contact_group'); // slot 0 (start 0) frees at 10.5
    expect(clock.sleeps).toEqual([7]);
    expect(clock.now()).toBe(11);
    await gate.acquire('get_contact_group'); // slot 1 (start 3) frees at 13.5
    expect(clock.sleeps).toEqual([7, 3]);
    expect(clock.now()).toBe(14);
  });

  it('counts each endpoint on its own', async () => {
    const clock = clockAtZero();
    const gate = new SlidingWindowGate({ limit: 1, windowMs: 1000, clock });
    await gate.acquire('create_contact_group');
    await gate.acquire('update_contact_group');
    await gate.acquire('del_contact_group');
    await gate.acquire('get_contact_group');
    expect(clock.now()).toBe(0);
    await gate.acquire('create_contact_group');
    expect(clock.now()).toBe(1000);
  });

  it('serves waiters first come, first served', async () => {
    const clock = clockAtZero();
    const gate = new SlidingWindowGate({ limit: 1, windowMs: 50, clock });
    const order: number[] = [];
    await Promise.all([1, 2, 3, 4].map((n) => gate.acquire('get_contact_group').then(() => order.push(n))));
    expect(order).toEqual([1, 2, 3, 4]);
    expect(clock.now()).toBe(150);
  });

  it('rejects a waiter whose signal aborts, and the next waiter still gets the slot', async () => {
    const clock = clockAtZero();
    const gate = new SlidingWindowGate({ limit: 1, windowMs: 50, clock });
    await gate.acquire('get_contact_group');
    const stop = new AbortController();
    stop.abort(new Error('stopping'));
    await expect(gate.acquire('get_contact_group', stop.signal)).rejects.toThrow('stopping');
    await gate.acquire('get_contact_group');
    expect(clock.now()).toBe(50);
  });

  it('refuses an endpoint it does not know', async () => {
    const gate = new SlidingWindowGate({ limit: 1, windowMs: 50 });
    await expect(gate.acquire('nope' as Endpoint)).rejects.toMatchObject({
      code: 'USAGE',
      message: 'unknown endpoint nope',
    });
  });

  it('refuses a limit that is not an integer from 1, or a window that is not a number above 0', () => {
    for (const limit of [0, -1, 1.5, Number.NaN]) {
      expect(() => new SlidingWindowGate({ limit, windowMs: 1000 })).toThrow(
        new SyncError('USAGE', `Expected \`limit\` to be an integer from 1, got ${String(limit)}`),
      );
    }
    for (const windowMs of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new SlidingWindowGate({ limit: 1, windowMs })).toThrow(
        new SyncError('USAGE', `Expected \`windowMs\` to be a number above 0, got ${String(windowMs)}`),
      );
    }
    expect(() => new SlidingWindowGate({ limit: 1, windowMs: 0.5 })).not.toThrow();
  });
});
