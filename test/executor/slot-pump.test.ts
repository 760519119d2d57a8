import { getEventListeners } from 'node:events';
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

  // At a clock origin other than 0 too: the round trip is the answer's time minus the sending time.
  it.each([0, 10_000])(
    'drops a slot whose timer fires too late and reserves another (clock from %i)',
    async (origin) => {
      const clock = new ManualClock();
      clock.t = origin;
      const budget = fakeBudget(clock, 10, 25);
      const pump = pumpWith(clock, budget, 5);
      pump.up(0);
      const log = track(clock, [pump.acquire(EP), pump.acquire(EP)]);
      await settle();
      await settle();
      // Both slots (0 and 10) are reserved; the event loop stalls 40 ms before either timer runs.
      // Both are dropped; fresh slots at 40 and 50 are used instead (without the rule: both at 40).
      await clock.advance(40, true);
      expect(log).toEqual([origin + 40, 'pending']);
      await clock.advance(20);
      expect(log).toEqual([origin + 40, origin + 50]);
      pump.close();
    },
  );

  it('close rejects waiting calls and later ones', async () => {
    const clock = new ManualClock();
    const pump = pumpWith(clock, fakeBudget(clock, 10, 25));
    const waiting = pump.acquire(EP);
    pump.close();
    await expect(waiting).rejects.toSatisfy((e) => isSyncError(e, 'INTERRUPTED'));
    await expect(waiting).rejects.toThrow('The Redis rate budget was closed');
    await expect(pump.acquire(EP)).rejects.toSatisfy((e) => isSyncError(e, 'INTERRUPTED'));
    await expect(pump.acquire(EP)).rejects.toThrow('The Redis rate budget is closed');
  });
});

describe('SlotPump: waiting, aborts and the unreachable deadline (injected clock)', () => {
  const unreachable = (detail: string) => `Redis at h:1 is unreachable: ${detail}`;

  it('asks the budget nothing before the connection is first up, and says so after unavailableAfterMs', async () => {
    const clock = new ManualClock();
    const budget = fakeBudget(clock, 10, 25);
    const pump = pumpWith(clock, budget);
    const log = track(clock, [pump.acquire(EP)]);
    await clock.advance(999);
    expect(budget.calls).toBe(0);
    expect(log).toEqual(['pending']);
    await clock.advance(1);
    expect(log).toEqual([unreachable('no connection yet')]);
    pump.close();
  });

  it('names the reason the connection was lost, before the first connection and after a reconnect', async () => {
    const clock = new ManualClock();
    const pump = pumpWith(clock, fakeBudget(clock, 10, 25));
    pump.down('connect ECONNREFUSED 127.0.0.1:1');
    const first = track(clock, [pump.acquire(EP)]);
    await clock.advance(1000);
    expect(first).toEqual([unreachable('connect ECONNREFUSED 127.0.0.1:1')]);
    // An error noted before a reconnect says nothing about the next loss of the connection.
    pump.note('read ECONNRESET');
    pump.down('connection closed');
    pump.up(0);
    pump.down('connection closed by the server');
    const second = track(clock, [pump.acquire(EP)]);
    await clock.advance(1000);
    expect(second).toEqual([unreachable('connection closed by the server')]);
    pump.close();
  });

  it('gives the slot of an aborted first caller to the next one', async () => {
    const clock = new ManualClock();
    const pump = pumpWith(clock, fakeBudget(clock, 10, 25));
    pump.up(0);
    const abort = new AbortController();
    const log = track(clock, [pump.acquire(EP, abort.signal), pump.acquire(EP), pump.acquire(EP)]);
    await settle();
    abort.abort(new Error('stop'));
    await clock.advance(50);
    expect(log).toEqual(['stop', 0, 10]);
    pump.close();
  });

  it("leaves no listener on the caller's signal once its calls have their slots (one signal per job)", async () => {
    const clock = new ManualClock();
    const pump = pumpWith(clock, fakeBudget(clock, 10, 25));
    pump.up(0);
    const job = new AbortController();
    const calls = Array.from({ length: 5 }, () => pump.acquire(EP, job.signal));
    await clock.advance(100);
    await Promise.all(calls);
    expect(getEventListeners(job.signal, 'abort')).toHaveLength(0);
    const closed = pump.acquire(EP, job.signal);
    pump.close();
    await expect(closed).rejects.toThrow('closed');
    expect(getEventListeners(job.signal, 'abort')).toHaveLength(0);
  });

  it('uses a slot whose timer fires exactly maxLateMs late', async () => {
    const clock = new ManualClock();
    const pump = pumpWith(clock, fakeBudget(clock, 10, 25), 5);
    pump.up(0);
    const log = track(clock, [pump.acquire(EP), pump.acquire(EP)]);
    await settle();
    await settle();
    // Slots at 0 and 10; the first timer runs at 5.
    await clock.advance(5, true);
    await clock.advance(10);
    expect(log).toEqual([5, 10]);
    pump.close();
  });

  it('learns a longer usual round trip slowly: 2% of the difference per answer', async () => {
    const clock = new ManualClock();
    let rtt = 10;
    let calls = 0;
    const pump = new SlotPump({
      clock,
      maxInFlight: 1,
      maxLateMs: 5,
      unavailableAfterMs: 60_000,
      async reserve() {
        calls++;
        await clock.sleep(rtt);
        return { granted: true, delayMs: 0 };
      },
      unreachable: (detail) => new SyncError('TRANSPORT', detail),
    });
    pump.up(0);
    // Round trips of 10 ms each: every slot is on time (the slot is the answer's time, not the sending's).
    const usual = track(clock, [pump.acquire(EP), pump.acquire(EP), pump.acquire(EP)]);
    await clock.advance(30);
    expect(usual).toEqual([10, 20, 30]);
    expect(calls).toBe(3);
    // From now on 20 ms: 10 ms later than usual, past maxLateMs, until the usual round trip has risen
    // from 10 to 15 (20 - 10 × 0.98^k ≥ 15 from k = 35): the 35th slot is the first one used.
    rtt = 20;
    const slower = track(clock, [pump.acquire(EP)]);
    await clock.advance(2000);
    expect(slower).toEqual([30 + 35 * 20]);
    expect(calls).toBe(3 + 35);
    pump.close();
  });

  it('does not cut short a refusal because another reservation failed (issue 16: a mutant showed it)', async () => {
    const clock = new ManualClock();
    const answers: (Reservation | Error)[] = [
      { granted: false, retryInMs: 500 },
      new Error('Command timed out'),
    ];
    let calls = 0;
    const pump = new SlotPump({
      clock,
      maxInFlight: 2,
      maxLateMs: 5,
      unavailableAfterMs: 1000,
      async reserve() {
        calls++;
        await settle();
        const answer = answers.shift() ?? { granted: true, delayMs: 0 };
        if (answer instanceof Error) throw answer;
        return answer;
      },
      unreachable: (detail) => new SyncError('TRANSPORT', detail),
    });
    pump.up(0);
    const log = track(clock, [pump.acquire(EP), pump.acquire(EP)]);
    await clock.advance(499);
    // Without the rule: tried again at 50 (the failure's backoff), before the budget said a slot is free.
    expect(calls).toBe(2);
    expect(log).toEqual(['pending', 'pending']);
    await clock.advance(1);
    expect(log).toEqual([500, 500]);
    pump.close();
  });

  it('counts the deadline from the failure, whatever the clock origin', async () => {
    const clock = new ManualClock();
    clock.t = 10_000;
    const pump = pumpWith(clock, fakeBudget(clock, 10, 25));
    pump.up(0);
    pump.down('connection closed');
    const log = track(clock, [pump.acquire(EP)]);
    await clock.advance(999);
    expect(log).toEqual(['pending']);
    await clock.advance(1);
    expect(log).toEqual([unreachable('connection closed')]);
    pump.close();
  });

  it('counts the deadline anew from a connection lost again after a reconnect', async () => {
    const clock = new ManualClock();
    const pump = pumpWith(clock, fakeBudget(clock, 10, 25));
    pump.up(0);
    pump.down('connection closed');
    const log = track(clock, [pump.acquire(EP)]);
    await clock.advance(500);
    pump.up(10_000); // back, and told to wait before reserving
    await clock.advance(100);
    pump.down('connection closed again');
    await clock.advance(999);
    expect(log).toEqual(['pending']);
    await clock.advance(1);
    expect(log).toEqual([unreachable('connection closed again')]);
    pump.close();
  });

  it('rejects the calls waiting on any endpoint, not only on the ones used last', async () => {
    const clock = new ManualClock();
    const pump = pumpWith(clock, fakeBudget(clock, 10, 25));
    pump.up(0);
    const done = track(clock, [pump.acquire('del_contact_group')]);
    await clock.advance(10);
    expect(done).toEqual([0]);
    pump.down('connection closed');
    const log = track(clock, [pump.acquire(EP)]);
    await clock.advance(1000);
    expect(log).toEqual([unreachable('connection closed')]);
    pump.close();
  });

  it('counts a failing budget from its first failure, even while no call waited', async () => {
    const clock = new ManualClock();
    const budget = fakeBudget(clock, 10, 25);
    const pump = pumpWith(clock, budget);
    pump.up(0);
    budget.failWith = new Error('Command timed out');
    const gone = new AbortController();
    const aborted = pump.acquire(EP, gone.signal);
    gone.abort(new Error('stop'));
    await expect(aborted).rejects.toThrow('stop');
    // Its reservation fails at 0, with no call waiting any more.
    await clock.advance(1500);
    const late = track(clock, [pump.acquire(EP)]);
    await clock.advance(0);
    expect(late).toEqual([unreachable('Command timed out')]);
    pump.close();
  });
});
