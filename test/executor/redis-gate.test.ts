import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../src/emulator/server.js';
import { isSyncError, SyncError } from '../../src/errors.js';
import { abortReason, type Clock } from '../../src/executor/clock.js';
import {
  createRedisGate,
  describeRedisUrl,
  parseReservation,
  type Reservation,
  SlotPump,
} from '../../src/executor/rate/redis-gate.js';
import type { Endpoint } from '../../src/tencent/wire.js';
import { REDIS_SERVER, type RunningRedis, startRedis } from '../helpers/redis-server.js';

const EP: Endpoint = 'get_contact_group';

/** A clock whose sleeps resolve only when `advance` moves time past them. */
class ManualClock implements Clock {
  t = 0;
  #timers: { at: number; fire: () => void }[] = [];

  now(): number {
    return this.t;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortReason(signal));
      const timer = { at: this.t + ms, fire: resolve };
      this.#timers.push(timer);
      signal?.addEventListener('abort', () => {
        this.#timers = this.#timers.filter((t) => t !== timer);
        reject(abortReason(signal));
      });
    });
  }

  /** Fires every timer due within `ms`, in time order, at its own time (or all at the end if `late`). */
  async advance(ms: number, late = false): Promise<void> {
    const end = this.t + ms;
    if (late) this.t = end;
    for (;;) {
      await quiet();
      const due = this.#timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.t = Math.max(this.t, due.at);
      due.fire();
    }
    this.t = end;
    await quiet();
  }
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Lets chains of callbacks that each wait one macrotask (like the fake budget's answers) run out. */
async function quiet(): Promise<void> {
  for (let i = 0; i < 10; i++) await settle();
}

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

describe('script answers and URLs', () => {
  it('narrows the script answer from µs to ms and refuses anything else', () => {
    expect(parseReservation([1, 2500])).toEqual({ granted: true, delayMs: 2.5 });
    expect(parseReservation([0, 1000])).toEqual({ granted: false, retryInMs: 1 });
    for (const bad of [null, [1], [2, 5], [1, -1], [1, '5'], 'OK']) {
      expect(() => parseReservation(bad)).toThrow(SyncError);
    }
  });

  it('names a Redis by host:port only, and knows its password as a secret', () => {
    expect(describeRedisUrl('redis://u:p%40ss@cache.internal:6380/2')).toEqual({
      where: 'cache.internal:6380',
      secrets: ['p%40ss', 'p@ss'],
    });
    expect(describeRedisUrl('rediss://cache').where).toBe('cache:6379');
    for (const bad of ['cache:6379', 'http://cache:6379', 'redis://']) {
      expect(() => describeRedisUrl(bad)).toThrow(expect.objectContaining({ code: 'CONFIG' }));
    }
  });

  it('validates its options eagerly', async () => {
    await expect(
      createRedisGate({ url: 'redis://127.0.0.1:1', headroom: 2, maxInFlight: 0 }),
    ).rejects.toThrow(
      'Expected `headroom` to be a number in (0, 1], got `2`; Expected `maxInFlight` to be an integer from 1, got `0`',
    );
  });
});

// ---------------------------------------------------------------------------------------------------
// Against a real redis-server and the real emulator. Every gate runs in its own Node process (on the
// built code: test/global-setup.ts builds dist/), so this process only hosts the emulator and its
// timestamps are not skewed by the drivers' work.

const SDK_APP_ID = 1400000000;
const SECRET_KEY = '5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e';

interface DriveResult {
  /** Calls started (each after one acquire). */
  calls: number;
  failures: string[];
  /** Date.now() of the first and last call start. */
  first: number;
  last: number;
}

/**
 * One process: waits for "go <until>" on stdin, then creates its gate (its own Redis connection), prints
 * "ready", and starts get_contact_group calls from 16 loops as fast as the gate allows until `until`.
 */
const DRIVER = `
const { createRedisGate } = await import(process.env.GATE_MODULE);
const { TencentClient } = await import(process.env.CLIENT_MODULE);
const { createInterface } = await import('node:readline');
const client = new TencentClient({ sdkAppId: ${SDK_APP_ID}, secretKey: process.env.SECRET_KEY, endpoint: process.env.EMULATOR_URL });
process.stdout.write('loaded\\n');
const lines = createInterface({ input: process.stdin });
const [, until] = (await new Promise((resolve) => lines.once('line', resolve))).split(' ').map(Number);
lines.close();
const gate = await createRedisGate({ url: process.env.REDIS_URL, keyPrefix: process.env.KEY_PREFIX });
process.stdout.write('ready\\n');
const result = { calls: 0, failures: [], first: Infinity, last: 0 };
await Promise.all(Array.from({ length: 16 }, async (_, n) => {
  while (Date.now() < until) {
    await gate.acquire('${EP}');
    const now = Date.now();
    result.first = Math.min(result.first, now);
    result.last = now;
    result.calls++;
    await client.getGroupsPage('user' + n, 0).catch((e) => result.failures.push(String(e && e.message)));
  }
}));
await gate.close();
await client.close();
process.stdout.write(JSON.stringify(result) + '\\n');
`;

const distUrl = (path: string) => new URL(`../../dist/${path}`, import.meta.url).href;

function startDriver(redisUrl: string, emulatorUrl: string, keyPrefix: string) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', DRIVER], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env: {
      ...process.env,
      GATE_MODULE: distUrl('executor/rate/redis-gate.js'),
      CLIENT_MODULE: distUrl('tencent/client.js'),
      REDIS_URL: redisUrl,
      EMULATOR_URL: emulatorUrl,
      KEY_PREFIX: keyPrefix,
      SECRET_KEY,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString('utf8');
  });
  const exited = once(child, 'exit');
  const printed = async (line: string) => {
    while (!out.includes(`${line}\n`)) {
      if (child.exitCode !== null) throw new Error(`driver exited before "${line}": ${err}`);
      await delay(10);
    }
  };
  return {
    loaded: printed('loaded'),
    /** Lets the driver connect and run until `until` (Date.now() ms); resolves once its gate is ready. */
    async go(until: number) {
      child.stdin.end(`go ${until}\n`);
      await printed('ready');
    },
    done: exited.then(([code]) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !line.startsWith('{'))
        throw new Error(`driver failed (exit ${String(code)}): ${err}`);
      return JSON.parse(line) as DriveResult;
    }),
    kill: () => child.kill('SIGKILL'),
  };
}

describe.skipIf(REDIS_SERVER === undefined)('createRedisGate against redis-server and the emulator', () => {
  let redis: RunningRedis;
  let emulator: RunningEmulator;
  let prefixes = 0;
  const drivers: ReturnType<typeof startDriver>[] = [];

  const driver = () => {
    const d = startDriver(redis.url, emulator.url, `test:budget:${prefixes}`);
    drivers.push(d);
    return d;
  };

  beforeAll(async () => {
    redis = await startRedis();
    emulator = await startEmulator({ port: 0, sdkAppId: SDK_APP_ID, secretKey: SECRET_KEY, latencyMs: 20 });
  });
  afterEach(async () => {
    for (const d of drivers.splice(0)) d.kill();
    emulator.reset();
    prefixes++;
  });
  afterAll(async () => {
    await emulator?.close();
    await redis?.stop();
  });

  const endpointStats = () => emulator.stats().endpoints[EP];

  it('two processes share one budget: never more than 200 in a window, and together at least 180/s', async () => {
    const [a, b] = [driver(), driver()];
    await Promise.all([a.loaded, b.loaded]);
    const until = Date.now() + 3000;
    await Promise.all([a.go(until), b.go(until)]);
    const results = await Promise.all([a.done, b.done]);
    const stats = endpointStats();
    for (const r of results) expect(r.failures).toEqual([]);
    expect(stats.rateLimited).toBe(0);
    const calls = results.reduce((sum, r) => sum + r.calls, 0);
    expect(stats.accepted).toBe(calls);
    // Both took part, and together they used at least 90% of 200/s.
    for (const r of results) expect(r.calls).toBeGreaterThan(100);
    const seconds =
      (Math.max(...results.map((r) => r.last)) - Math.min(...results.map((r) => r.first))) / 1000;
    expect(calls / seconds).toBeGreaterThanOrEqual(180);
  }, 15_000);

  it('keeps every window at 200 across a Redis restart, also for a process that connects after it', async () => {
    const [a, b, late] = [driver(), driver(), driver()];
    await Promise.all([a.loaded, b.loaded, late.loaded]);
    const until = Date.now() + 3500;
    await Promise.all([a.go(until), b.go(until)]);
    await delay(1200);
    // Killed while both hold slots up to maxAheadMs ahead, and back at once (no pause).
    await redis.restart(0);
    const restartedAt = Date.now();
    // A process that never saw the old Redis: only the script's fresh-Redis rule keeps it off the old slots.
    await late.go(until);
    const results = await Promise.all([a.done, b.done, late.done]);
    const stats = endpointStats();
    for (const r of results) expect(r.failures).toEqual([]);
    expect(stats.rateLimited).toBe(0);
    // The run went on after the restart: every process made calls more than a second after it.
    for (const r of results) expect(r.last).toBeGreaterThan(restartedAt + 1000);
    // It took part (a fair third would be ~150 calls; a loaded machine starves it to a few dozen).
    expect(results[2]?.calls).toBeGreaterThan(10);
  }, 15_000);

  it('rejects with TRANSPORT, without the password, when Redis stays down past unavailableAfterMs', async () => {
    const password = 'n0t-in-messages';
    const locked = await startRedis({ password });
    const g = await createRedisGate({ url: locked.url, keyPrefix: 'test:down', unavailableAfterMs: 600 });
    try {
      await g.acquire(EP);
      await locked.stop();
      const error = await g.acquire(EP).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isSyncError(error, 'TRANSPORT')).toBe(true);
      const message = (error as SyncError).message;
      expect(message).toMatch(new RegExp(`^Redis at 127\\.0\\.0\\.1:${locked.port} is unreachable: `));
      expect(message).not.toContain(password);
      // acquire rejects at once until the gate has reconnected (ioredis retries within 1 s), then works.
      await locked.start();
      let last: unknown;
      for (let i = 0; i < 40 && last !== 'ok'; i++) {
        if (i > 0) await delay(100);
        last = await g.acquire(EP).then(
          () => 'ok',
          (e: unknown) => e,
        );
      }
      expect(last).toBe('ok');
    } finally {
      await g.close();
      await locked.stop();
    }
  }, 10_000);

  it('refuses wrong credentials at once with CONFIG, without the password', async () => {
    const locked = await startRedis({ password: 'the-right-one' });
    try {
      const wrong = locked.url.replace('the-right-one', 'wr0ng-pa55');
      const error = await createRedisGate({ url: wrong }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isSyncError(error, 'CONFIG')).toBe(true);
      expect((error as SyncError).message).toMatch(
        /^Redis at 127\.0\.0\.1:\d+ refused the credentials: WRONGPASS/,
      );
      expect((error as SyncError).message).not.toContain('wr0ng-pa55');
    } finally {
      await locked.stop();
    }
  });

  it('refuses to start when Redis cannot be reached within unavailableAfterMs', async () => {
    const gone = await startRedis();
    await gone.stop();
    const error = await createRedisGate({
      url: `redis://user:secret-pw@127.0.0.1:${gone.port}`,
      unavailableAfterMs: 300,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isSyncError(error, 'TRANSPORT')).toBe(true);
    expect((error as SyncError).message).toContain(`Redis at 127.0.0.1:${gone.port} is unreachable: `);
    expect((error as SyncError).message).not.toContain('secret-pw');
  });
});
