import { describe, expect, it } from 'vitest';
import { isSyncError, SyncError } from '../../src/errors.js';
import { type Reservation, SlotPump } from '../../src/executor/rate/slot-pump.js';
import type { Endpoint } from '../../src/tencent/wire.js';
import { ManualClock, settle } from './manual-clock.js';

const EP: Endpoint = 'get_contact_group';

/** The GCRA of the Lua script, in ms on the manual clock, counting the calls it answers. */
function fakeBudget(clock: ManualClock, interval: number, maxAhead: number) {
  let tat = Number.NEGATIVE_INFINITY;
  const budget = {
    calls: 0,
    inFlight: 0,
    maxInFlight: 0,
    failWith: undefined as Error | undefined,
    async reserve(): Promise<Reservation> {
      budget.calls++;
      budget.maxInFlight = Math.max(budget.maxInFlight, ++budget.inFlight);
      await settle();
      budget.inFlight--;
      if (budget.failWith !== undefined) throw budget.failWith;
      const now = clock.now();
      const ahead = Math.max(tat - now, 0);
      if (ahead > maxAhead) return { granted: false, retryInMs: ahead - maxAhead };
      tat = now + ahead + interval;
      return { granted: true, delayMs: ahead };
    },
  };
  return budget;
}

function pumpWith(clock: ManualClock, budget: ReturnType<typeof fakeBudget>, maxLateMs = 5) {
  return new SlotPump({
    clock,
    maxInFlight: 2,
    maxLateMs,
    unavailableAfterMs: 1000,
    reserve: () => budget.reserve(),
    unreachable: (detail) => new SyncError('TRANSPORT', `Redis at h:1 is unreachable: ${detail}`),
  });
}

/** Records when each promise settles, on the manual clock. */
function track(clock: ManualClock, promises: Promise<void>[]) {
  const log: (number | string)[] = promises.map(() => 'pending');
  promises.forEach((p, i) => {
    p.then(
      () => {
        log[i] = clock.now();
      },
      (error: unknown) => {
        log[i] = error instanceof Error ? error.message : 'rejected';
      },
    );
  });
  return log;
}

describe('SlotPump (injected clock)', () => {
  it('hands slots out in call order, one interval apart, without polling the budget', async () => {
    const clock = new ManualClock();
    const budget = fakeBudget(clock, 10, 25);
    const pump = pumpWith(clock, budget);
    pump.up(0);
    const log = track(
      clock,
      Array.from({ length: 6 }, () => pump.acquire(EP)),
    );
    await clock.advance(100);
    expect(log).toEqual([0, 10, 20, 30, 40, 50]);
    expect(budget.maxInFlight).toBeLessThanOrEqual(2);
    // 6 grants and a few refusals, not one request per waiting call per tick.
    expect(budget.calls).toBeLessThanOrEqual(12);
    pump.close();
  });

  it('an aborted call leaves the queue; its slot goes to the next caller', async () => {
    const clock = new ManualClock();
    const budget = fakeBudget(clock, 10, 25);
    const pump = pumpWith(clock, budget);
    pump.up(0);
    const abort = new AbortController();
    const log = track(clock, [pump.acquire(EP), pump.acquire(EP, abort.signal), pump.acquire(EP)]);
    await settle();
    abort.abort(new Error('stop'));
    await clock.advance(50);
    expect(log).toEqual([0, 'stop', 10]);
    await expect(pump.acquire(EP, abort.signal)).rejects.toThrow('stop');
    pump.close();
  });

  it('waits the given time after a reconnect before reserving again', async () => {
    const clock = new ManualClock();
    const budget = fakeBudget(clock, 10, 25);
    const pump = pumpWith(clock, budget);
    pump.up(0);
    pump.down('connection closed');
    const log = track(clock, [pump.acquire(EP)]);
    await clock.advance(100);
    expect(budget.calls).toBe(0);
    pump.up(35);
    await clock.advance(34);
    expect(budget.calls).toBe(0);
    await clock.advance(2);
    expect(log).toEqual([135]);
    pump.close();
  });

  it('rejects with the unreachable error after unavailableAfterMs, then at once, until reachable again', async () => {
    const clock = new ManualClock();
    const budget = fakeBudget(clock, 10, 25);
    const pump = pumpWith(clock, budget);
    pump.up(0);
    pump.note('connect ECONNREFUSED 127.0.0.1:1');
    pump.down('connection closed');
    const log = track(clock, [pump.acquire(EP), pump.acquire(EP)]);
    await clock.advance(999);
    expect(log).toEqual(['pending', 'pending']);
    await clock.advance(1);
    const message = 'Redis at h:1 is unreachable: connect ECONNREFUSED 127.0.0.1:1';
    expect(log).toEqual([message, message]);
    await expect(pump.acquire(EP)).rejects.toSatisfy((e) => isSyncError(e, 'TRANSPORT'));
    pump.up(0);
    const after = track(clock, [pump.acquire(EP)]);
    await clock.advance(10);
    expect(after).toEqual([1000]);
    pump.close();
  });

  it('keeps retrying a failing budget with backoff, and gives up after unavailableAfterMs', async () => {
    const clock = new ManualClock();
    const budget = fakeBudget(clock, 10, 25);
    const pump = pumpWith(clock, budget);
    pump.up(0);
    budget.failWith = new Error('Command timed out');
    const log = track(clock, [pump.acquire(EP)]);
    await clock.advance(500);
    const triesIn500 = budget.calls;
    expect(triesIn500).toBeGreaterThan(1);
    expect(triesIn500).toBeLessThan(10);
    await clock.advance(500);
    expect(log).toEqual(['Redis at h:1 is unreachable: Command timed out']);
    // Still connected: later calls keep trying, and get a slot once the budget answers again.
    const later = track(clock, [pump.acquire(EP)]);
    budget.failWith = undefined;
    await clock.advance(1000);
    // Tries at 0, 50, 150, 350, 750 (backoff doubling from 50 ms); the next, at 1550, succeeds.
    expect(later).toEqual([1550]);
    pump.close();
  });

  it('drops a slot whose timer fires too late and reserves another', async () => {
    const clock = new ManualClock();
    const budget = fakeBudget(clock, 10, 25);
    const pump = pumpWith(clock, budget, 5);
    pump.up(0);
    const log = track(clock, [pump.acquire(EP), pump.acquire(EP)]);
    await settle();
    await settle();
    // Both slots (0 and 10) are reserved; the event loop stalls 40 ms before either timer runs.
    // Both are dropped; fresh slots at 40 and 50 are used instead (without the rule: both at 40).
    await clock.advance(40, true);
    expect(log).toEqual([40, 'pending']);
    await clock.advance(20);
    expect(log).toEqual([40, 50]);
    pump.close();
  });

  it('close rejects waiting calls and later ones', async () => {
    const clock = new ManualClock();
    const pump = pumpWith(clock, fakeBudget(clock, 10, 25));
    const waiting = pump.acquire(EP);
    pump.close();
    await expect(waiting).rejects.toSatisfy((e) => isSyncError(e, 'INTERRUPTED'));
    await expect(pump.acquire(EP)).rejects.toSatisfy((e) => isSyncError(e, 'INTERRUPTED'));
  });
});
