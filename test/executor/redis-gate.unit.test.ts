import { beforeEach, describe, expect, it, vi } from 'vitest';
import { isSyncError, SyncError } from '../../src/errors.js';
import {
  createRedisGate,
  describeRedisUrl,
  parseReservation,
  type RedisGateOptions,
} from '../../src/executor/rate/redis-gate.js';
import { ManualClock } from './manual-clock.js';

/**
 * ioredis replaced by a scripted connection: the test says when it is ready, closes or fails, and
 * what the budget script answers; the gate's wiring (options, keys, script arguments, events) is
 * checked here, on the manual clock. test/executor/redis-gate.test.ts runs it against redis-server.
 */
const fake = await vi.hoisted(async () => {
  const { EventEmitter } = await import('node:events');
  class FakeRedis extends EventEmitter {
    static made: FakeRedis[] = [];
    status = 'connecting';
    readonly url: string;
    readonly options: Record<string, unknown>;
    commands: { name: string; definition: { lua: string; numberOfKeys: number } }[] = [];
    reservations: unknown[][] = [];
    answer: () => Promise<unknown> = async () => [1, 0];
    quits = 0;
    disconnects = 0;
    quitFails = false;

    constructor(url: string, options: Record<string, unknown>) {
      super();
      this.url = url;
      this.options = options;
      FakeRedis.made.push(this);
    }

    defineCommand(name: string, definition: { lua: string; numberOfKeys: number }): void {
      this.commands.push({ name, definition });
    }

    cgsyncReserveSlot(...args: unknown[]): Promise<unknown> {
      this.reservations.push(args);
      return this.answer();
    }

    async quit(): Promise<string> {
      this.quits++;
      if (this.quitFails) throw new Error('quit failed');
      return 'OK';
    }

    disconnect(): void {
      this.disconnects++;
    }

    ready(): void {
      this.status = 'ready';
      this.emit('ready');
    }
  }
  return { FakeRedis };
});

vi.mock('ioredis', () => ({ Redis: fake.FakeRedis }));

const last = () => fake.FakeRedis.made.at(-1) as InstanceType<typeof fake.FakeRedis>;

beforeEach(() => {
  fake.FakeRedis.made = [];
});

/** Starts a gate on the manual clock; `connect` plays the connection's first events. */
async function start(
  options: Partial<RedisGateOptions> = {},
  connect: (redis: InstanceType<typeof fake.FakeRedis>) => void = (r) => r.ready(),
) {
  const clock = new ManualClock();
  const gate = createRedisGate({ url: 'redis://:s3cret@cache:6380', clock, ...options });
  connect(last());
  return { gate: await gate, clock, redis: last() };
}

describe('createRedisGate wiring (ioredis scripted)', () => {
  it('connects with no offline queue, no replay, short timeouts and a bounded reconnect backoff', async () => {
    const { gate, redis } = await start({ unavailableAfterMs: 1500 });
    expect(redis.url).toBe('redis://:s3cret@cache:6380');
    const { retryStrategy, ...options } = redis.options;
    expect(options).toEqual({
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 1500,
      commandTimeout: 1000,
      connectionName: 'cgsync-budget',
    });
    const backoff = retryStrategy as (times: number) => number;
    expect([1, 2, 3, 5, 6, 7, 50].map(backoff)).toEqual([50, 100, 200, 800, 1000, 1000, 1000]);
    await gate.close();
    const slow = await start();
    expect(slow.redis.options.connectTimeout).toBe(2000);
    await slow.gate.close();
  });

  it('defines the budget script on two keys, and reserves per endpoint with the GCRA arguments', async () => {
    const { gate, clock, redis } = await start();
    expect(redis.commands).toHaveLength(1);
    const [command] = redis.commands;
    expect(command?.name).toBe('cgsyncReserveSlot');
    expect(command?.definition.numberOfKeys).toBe(2);
    expect(command?.definition.lua).toContain("redis.call('TIME')");
    expect(command?.definition.lua).toContain('run_id:');
    const acquired = gate.acquire('update_contact_group');
    await clock.advance(1);
    await acquired;
    // 200/s at 0.97: 5.1546 ms apart, rounded up to whole µs; 250 ms ahead at most; TAT kept 5 s past that.
    expect(redis.reservations).toEqual([
      [
        'cgsync:budget:{update_contact_group}',
        'cgsync:budget:{update_contact_group}:run',
        5155,
        250_000,
        5256,
        86_400_000,
      ],
    ]);
    await gate.close();
  });

  it('passes its options on to the script: rate, headroom, maxAheadMs and the key prefix', async () => {
    const { gate, clock, redis } = await start({
      rate: 50,
      headroom: 0.5,
      maxAheadMs: 100.7,
      keyPrefix: 'p',
    });
    const acquired = gate.acquire('get_contact_group');
    await clock.advance(1);
    await acquired;
    expect(redis.reservations).toEqual([
      ['p:{get_contact_group}', 'p:{get_contact_group}:run', 40_000, 100_700, 5141, 86_400_000],
    ]);
    await gate.close();
  });

  it('waits maxAheadMs + one interval after a reconnect before reserving, not after the first connection', async () => {
    const { gate, clock, redis } = await start({ rate: 100, headroom: 1, maxAheadMs: 50 });
    const first = gate.acquire('get_contact_group');
    await clock.advance(0);
    await first;
    redis.emit('close');
    redis.ready();
    const second = gate.acquire('get_contact_group');
    await clock.advance(59);
    expect(redis.reservations).toHaveLength(1);
    await clock.advance(1);
    expect(redis.reservations).toHaveLength(2);
    await second;
    await gate.close();
  });

  it('hands out no slot the script refuses, and asks again when it says', async () => {
    const { gate, clock, redis } = await start();
    let refusals = 1;
    redis.answer = async () => (refusals-- > 0 ? [0, 30_000] : [1, 2000]);
    let done = false;
    const acquired = gate.acquire('get_contact_group').then(() => {
      done = true;
    });
    await clock.advance(29);
    expect([redis.reservations.length, done]).toEqual([1, false]);
    await clock.advance(1);
    expect(redis.reservations).toHaveLength(2);
    await clock.advance(2);
    await acquired;
    expect(clock.now()).toBe(32);
    await gate.close();
  });

  it('refuses wrong credentials at once with CONFIG, naming host:port and never the password', async () => {
    const error = await start({}, (r) =>
      r.emit('error', new Error('WRONGPASS invalid password s3cret')),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isSyncError(error, 'CONFIG')).toBe(true);
    expect((error as SyncError).message).toBe(
      'Redis at cache:6380 refused the credentials: WRONGPASS invalid password ***',
    );
    expect(last().disconnects).toBe(1);
  });

  it('does not take other errors, or credentials refused once connected, for a start failure', async () => {
    const { gate, redis } = await start({}, (r) => {
      r.emit('error', new Error('connect ECONNREFUSED'));
      r.emit('error', new Error('some NOAUTH later in the text'));
      r.ready();
    });
    redis.emit('error', new Error('NOAUTH Authentication required'));
    await gate.close();
    expect(redis.quits).toBe(1);
  });

  it('gives up after unavailableAfterMs without a connection, with TRANSPORT and the last error', async () => {
    const clock = new ManualClock();
    const pending = createRedisGate({ url: 'redis://u:pw9@cache', clock, unavailableAfterMs: 300 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    const redis = last();
    redis.emit('error', new Error('connect ECONNREFUSED pw9'));
    await clock.advance(299);
    expect(redis.disconnects).toBe(0);
    await clock.advance(1);
    const error = await pending;
    expect(isSyncError(error, 'TRANSPORT')).toBe(true);
    expect((error as SyncError).message).toBe('Redis at cache:6379 is unreachable: connect ECONNREFUSED ***');
    expect(redis.disconnects).toBe(1);
  });

  it('rejects waiting calls with TRANSPORT once the connection has been lost for unavailableAfterMs', async () => {
    const { gate, clock, redis } = await start({ unavailableAfterMs: 500 });
    redis.emit('error', new Error('read ECONNRESET'));
    redis.emit('close');
    const waiting = gate.acquire('get_contact_group').then(
      () => 'granted',
      (e: unknown) => (e as Error).message,
    );
    await clock.advance(500);
    expect(await waiting).toBe('Redis at cache:6380 is unreachable: read ECONNRESET');
    await gate.close();
  });

  it('says the connection was closed when it went without an error (a server shut down cleanly)', async () => {
    const { gate, clock, redis } = await start({ unavailableAfterMs: 500 });
    redis.emit('close');
    const waiting = gate.acquire('get_contact_group').then(
      () => 'granted',
      (e: unknown) => (e as Error).message,
    );
    await clock.advance(500);
    expect(await waiting).toBe('Redis at cache:6380 is unreachable: connection closed');
    await gate.close();
  });

  it('quits a ready connection on close, and disconnects one that is not ready or will not quit', async () => {
    const ready = await start();
    await ready.gate.close();
    expect([ready.redis.quits, ready.redis.disconnects]).toEqual([1, 0]);
    await expect(ready.gate.acquire('get_contact_group')).rejects.toSatisfy((e) =>
      isSyncError(e, 'INTERRUPTED'),
    );
    const stubborn = await start();
    stubborn.redis.quitFails = true;
    await stubborn.gate.close();
    expect([stubborn.redis.quits, stubborn.redis.disconnects]).toEqual([1, 1]);
    const down = await start();
    down.redis.status = 'reconnecting';
    await down.gate.close();
    expect([down.redis.quits, down.redis.disconnects]).toEqual([0, 1]);
  });
});

describe('script answers and URLs', () => {
  it('narrows the script answer from µs to ms and refuses anything else', () => {
    expect(parseReservation([1, 2500])).toEqual({ granted: true, delayMs: 2.5 });
    expect(parseReservation([1, 0])).toEqual({ granted: true, delayMs: 0 });
    expect(parseReservation([0, 1000])).toEqual({ granted: false, retryInMs: 1 });
    for (const bad of [null, [1], [1, 2, 3], [2, 5], [1, -1], [1, '5'], ['1', 5], 'OK']) {
      expect(() => parseReservation(bad)).toThrow(
        new SyncError('TRANSPORT', `Unexpected answer from the Redis budget script: ${JSON.stringify(bad)}`),
      );
    }
  });

  it('names a Redis by host:port only, and knows its password as a secret', () => {
    expect(describeRedisUrl('redis://u:p%40ss@cache.internal:6380/2')).toEqual({
      where: 'cache.internal:6380',
      secrets: ['p%40ss', 'p@ss'],
    });
    expect(describeRedisUrl('rediss://cache')).toEqual({ where: 'cache:6379', secrets: [] });
    // A password that is not valid percent-encoding is a secret as written.
    expect(describeRedisUrl('redis://:%E0%A4%A@cache').secrets).toEqual(['%E0%A4%A', '%E0%A4%A']);
    expect(() => describeRedisUrl('cache:6379')).toThrow(
      'Invalid Redis URL: expected redis://host:port or rediss://host:port, got protocol cache:',
    );
    expect(() => describeRedisUrl('http://cache:6379')).toThrow(
      'Invalid Redis URL: expected redis://host:port or rediss://host:port, got protocol http:',
    );
    expect(() => describeRedisUrl('redis://')).toThrow(expect.objectContaining({ code: 'CONFIG' }));
    expect(() => describeRedisUrl('not a url')).toThrow(
      new SyncError('CONFIG', 'Invalid Redis URL: expected redis://host:port or rediss://host:port'),
    );
  });

  it('validates its options eagerly, naming every problem', async () => {
    await expect(
      createRedisGate({ url: 'redis://127.0.0.1:1', headroom: 2, maxInFlight: 0 }),
    ).rejects.toThrow(
      'Expected `headroom` to be a number in (0, 1], got `2`; Expected `maxInFlight` to be an integer from 1, got `0`',
    );
    const refused = async (options: Partial<RedisGateOptions>) =>
      createRedisGate({ url: 'redis://h', ...options }).then(
        () => 'accepted',
        (e: unknown) => (e as Error).message,
      );
    expect(await refused({ rate: 0 })).toBe('Expected `rate` to be a number above 0, got `0`');
    expect(await refused({ rate: Number.POSITIVE_INFINITY })).toBe(
      'Expected `rate` to be a number above 0, got `Infinity`',
    );
    expect(await refused({ headroom: 0 })).toBe('Expected `headroom` to be a number in (0, 1], got `0`');
    expect(await refused({ maxAheadMs: -1 })).toBe('Expected `maxAheadMs` to be a number >= 0, got `-1`');
    expect(await refused({ maxAheadMs: Number.NaN })).toBe(
      'Expected `maxAheadMs` to be a number >= 0, got `NaN`',
    );
    expect(await refused({ unavailableAfterMs: 0 })).toBe(
      'Expected `unavailableAfterMs` to be a number above 0, got `0`',
    );
    expect(await refused({ unavailableAfterMs: Number.NaN })).toBe(
      'Expected `unavailableAfterMs` to be a number above 0, got `NaN`',
    );
    expect(await refused({ maxLateMs: -0.5 })).toBe('Expected `maxLateMs` to be a number >= 0, got `-0.5`');
    expect(await refused({ maxInFlight: 1.5 })).toBe(
      'Expected `maxInFlight` to be an integer from 1, got `1.5`',
    );
    expect(fake.FakeRedis.made).toHaveLength(0);
    // The bounds themselves are fine.
    const edge = start({ headroom: 1, maxAheadMs: 0, maxLateMs: 0, maxInFlight: 1, rate: 0.5 });
    await (await edge).gate.close();
  });
});
