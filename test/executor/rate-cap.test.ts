import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEndpointLimiters } from '../../src/executor/rate/limiters.js';
import { type RunResult, runApply, type UserWork } from '../../src/executor/run-apply.js';
import type { Endpoint } from '../../src/tencent/wire.js';
import { maxInWindow } from '../helpers/sliding-window.js';
import { installVirtualTime, type VirtualTime } from '../helpers/virtual-time.js';
import { FakeChatApi, type FakeMethod } from './fake-api.js';
import { memoryCheckpoint, planUser } from './helpers.js';

/**
 * The documented limit is 200 calls per second per endpoint, counted by the service in any sliding
 * window. These tests run the limiter exactly as `runApply` builds it with its defaults (no `rate`,
 * no `limiters`, the system clock), on virtual time (test/helpers/virtual-time.ts), and count the
 * calls that reach the API in every sliding 1000 ms window, per endpoint.
 *
 * Stalls (the event loop blocked, the process paused) make timers fire late and together: spacing
 * by Bottleneck alone then lets the calls due meanwhile bunch up with the next second's share. Only
 * the exact window gate keeps every window at 200, so these tests fail when it is removed, loosened,
 * or when the library's default rate rises above the documented one.
 */
const LIMIT = 200;
const LATENCY_MS = 50;

/** `users` users, each with one group of 150 conversations: one create, then one update (100 per call). */
function works(users: number): UserWork[] {
  return Array.from({ length: users }, (_, i) => {
    const user = `u${String(i).padStart(5, '0')}`;
    const peers = Array.from({ length: 150 }, (_, p) => `1:p${p}`);
    return { user, operations: planUser(user, { g: peers }, {}, { chunk: 100 }) };
  });
}

let time: VirtualTime;
beforeEach(() => {
  time = installVirtualTime();
});
afterEach(() => {
  time.uninstall();
});

interface Observed {
  readonly result: RunResult;
  /** Arrival times at the API (virtual ms), per method. */
  readonly arrivals: Record<FakeMethod, number[]>;
  readonly elapsedMs: number;
}

/**
 * Runs `runApply` with its default limiter on virtual time; every `stallEveryMs` of virtual time the
 * process stalls for `stallMs`.
 */
async function observe(users: number, stall?: { everyMs: number; ms: number }): Promise<Observed> {
  const arrivals: Record<FakeMethod, number[]> = {
    create: [],
    update: [],
    rename: [],
    delete: [],
    get: [],
    search: [],
  };
  const api = new FakeChatApi({
    delay: (call) => {
      arrivals[call.method].push(time.now());
      return new Promise((resolve) => setTimeout(resolve, LATENCY_MS));
    },
  });
  const started = time.now();
  let result: RunResult | undefined;
  const run = runApply({ users: works(users), api, checkpoint: memoryCheckpoint() }).then((r) => {
    result = r;
  });
  let nextStall = started + (stall?.everyMs ?? Number.POSITIVE_INFINITY);
  while (result === undefined) {
    if (time.now() - started > 120_000) throw new Error('runApply did not finish in 120 virtual seconds');
    await time.runUntil(time.now() + 10);
    if (stall !== undefined && time.now() >= nextStall) {
      time.stall(stall.ms);
      nextStall = time.now() + stall.everyMs;
    }
  }
  await run;
  return { result, arrivals, elapsedMs: time.now() - started };
}

describe('the rate cap as runApply builds it (defaults, virtual time)', () => {
  it('steady load: at most 200 calls per endpoint in every sliding 1000 ms window, and the limit is reached', async () => {
    const { result, arrivals, elapsedMs } = await observe(1200);
    expect(result.users.done).toBe(1200);
    expect(arrivals.create).toHaveLength(1200);
    expect(arrivals.update).toHaveLength(1200);
    for (const method of ['create', 'update'] as const) {
      expect(maxInWindow(arrivals[method], 1000), method).toBeLessThanOrEqual(LIMIT);
      // Not vacuous: the run was limited by the cap, not by latency or concurrency.
      expect(maxInWindow(arrivals[method], 1000), method).toBeGreaterThanOrEqual(LIMIT - 5);
    }
    // 1200 calls per endpoint at 200/s take 6 s at least, and not much more (the gate's 97.6%).
    expect(elapsedMs).toBeGreaterThanOrEqual(5000);
    expect(elapsedMs).toBeLessThan(6800);
  });

  it('stalls (timers firing late, together) never let a window pass 200', async () => {
    const { result, arrivals } = await observe(1500, { everyMs: 1300, ms: 450 });
    expect(result.users.done).toBe(1500);
    for (const method of ['create', 'update'] as const) {
      expect(maxInWindow(arrivals[method], 1000), method).toBeLessThanOrEqual(LIMIT);
    }
  });

  it('createEndpointLimiters() with no options is capped at 200 per window too', async () => {
    const times = await startsThroughStalls(createEndpointLimiters(), 'get_contact_group', 700);
    expect(maxInWindow(times, 1000)).toBeLessThanOrEqual(LIMIT);
    expect(maxInWindow(times, 1000)).toBeGreaterThanOrEqual(LIMIT - 5);
  });

  it('--rate 1000 (five Bottleneck lanes per endpoint): capped at 1000 per window through stalls, and reached', async () => {
    const times = await startsThroughStalls(
      createEndpointLimiters({ rate: 1000 }),
      'create_contact_group',
      3000,
    );
    expect(maxInWindow(times, 1000)).toBeLessThanOrEqual(1000);
    expect(maxInWindow(times, 1000)).toBeGreaterThanOrEqual(990);
  });
});

/**
 * Schedules `jobs` calls of {@link LATENCY_MS} on `endpoint` at once and runs virtual time until all are
 * done, stalling 450 ms every 700 ms; returns their starts. Stops the limiters.
 */
async function startsThroughStalls(
  limiters: ReturnType<typeof createEndpointLimiters>,
  endpoint: Endpoint,
  jobs: number,
): Promise<number[]> {
  try {
    const times: number[] = [];
    let finished = 0;
    for (let i = 0; i < jobs; i++) {
      void limiters
        .schedule(endpoint, async () => {
          times.push(time.now());
          await new Promise((resolve) => setTimeout(resolve, LATENCY_MS));
        })
        .then(() => finished++);
    }
    let nextStall = time.now() + 700;
    while (finished < jobs) {
      await time.runUntil(time.now() + 10);
      if (time.now() >= nextStall) {
        time.stall(450);
        nextStall = time.now() + 700;
      }
    }
    return times;
  } finally {
    const stopped = limiters.stop();
    await time.runUntil(time.now() + 100);
    await stopped;
  }
}
