import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mixedUsers } from '../../bench/gen-mixed.js';
import { type RunResult, runApply, type UserWork } from '../../src/executor/run-apply.js';
import { maxInWindow } from '../helpers/sliding-window.js';
import { installVirtualTime, type VirtualTime } from '../helpers/virtual-time.js';
import { FakeChatApi, type FakeMethod } from './fake-api.js';
import { memoryCheckpoint, planUser } from './helpers.js';

/**
 * Issue 13: on a mixed export (users with 1-8 groups of 1-250 conversations: creates and updates,
 * each user's updates after its creates) the busiest endpoint must stay at the cap until its last
 * call, with no tail of updates waiting for late creates. runApply with its defaults, on virtual
 * time (test/helpers/virtual-time.ts), 40-60 ms latency; the physical limit is the busiest
 * endpoint's calls / 200 per second. The window gate allows 200 starts per 1025 ms (97.6% of 200):
 * that alone is 1.025×; one latency at the end adds under 1%.
 */
const LIMIT = 200;

function mixedWorks(users: number, seed: number): UserWork[] {
  return [...mixedUsers(users, seed)].map(({ user, groups }) => {
    const desired: Record<string, string[]> = {};
    for (const g of groups) desired[g.name] = [...g.conversations];
    return { user, operations: planUser(user, desired, {}, { chunk: 100 }) };
  });
}

let time: VirtualTime;
beforeEach(() => {
  time = installVirtualTime();
});
afterEach(() => {
  time.uninstall();
});

async function observe(works: readonly UserWork[], seed: number) {
  const arrivals: Record<FakeMethod, number[]> = {
    create: [],
    update: [],
    rename: [],
    delete: [],
    get: [],
    search: [],
  };
  let s = seed;
  const latency = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return 40 + (20 * s) / 2147483648;
  };
  const api = new FakeChatApi({
    delay: (call) => {
      arrivals[call.method].push(time.now());
      return new Promise((resolve) => setTimeout(resolve, latency()));
    },
  });
  const started = time.now();
  let result: RunResult | undefined;
  const run = runApply({ users: works, api, checkpoint: memoryCheckpoint() }).then((r) => {
    result = r;
  });
  while (result === undefined) {
    if (time.now() - started > 120_000) throw new Error('runApply did not finish in 120 virtual seconds');
    await time.runUntil(time.now() + 10);
  }
  await run;
  return { result, arrivals, started, endedAt: time.now() };
}

describe('a mixed export on virtual time', () => {
  it.each([1, 2])(
    'keeps the busiest endpoint at the cap to the end (seed %i)',
    {
      timeout: 60_000,
    },
    async (seed) => {
      const works = mixedWorks(500, seed);
      const { result, arrivals, started, endedAt } = await observe(works, seed);
      expect(result.users.done).toBe(500);
      const creates = arrivals.create;
      expect(creates.length).toBeGreaterThan(arrivals.update.length);
      expect(maxInWindow(creates, 1000)).toBeLessThanOrEqual(LIMIT);
      expect(maxInWindow(arrivals.update, 1000)).toBeLessThanOrEqual(LIMIT);
      const limitMs = (creates.length / LIMIT) * 1000;
      // No tail: the run ends one latency (and the last updates' chains) after the last create.
      expect(endedAt - Math.max(...creates)).toBeLessThan(150);
      // Every whole second of the busy period holds at least 190 creates (the cap: 195).
      const first = creates[0] as number;
      for (let t = first; t + 1000 <= Math.max(...creates); t += 1000) {
        expect(
          creates.filter((c) => c >= t && c < t + 1000).length,
          `second from ${t - first} ms`,
        ).toBeGreaterThanOrEqual(190);
      }
      expect((endedAt - started) / limitMs).toBeLessThanOrEqual(1.06);
    },
  );
});
