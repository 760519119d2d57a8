import { Redis } from 'ioredis';
import { SyncError } from '../../errors.js';
import { LIMITS } from '../../model.js';
import type { Endpoint } from '../../tencent/wire.js';
import { type Clock, systemClock } from '../clock.js';
import { type Reservation, SlotPump } from './slot-pump.js';

export { type Reservation, SlotPump, type SlotPumpOptions } from './slot-pump.js';

/** A rate budget shared by every process that uses it: awaited just before each API call. */
export interface SlotGate {
  /** Resolves when this process may start one call on `endpoint`; rejects on abort. */
  acquire(endpoint: Endpoint, signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** Options of {@link createRedisGate}. */
export interface RedisGateOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…`. Credentials never appear in messages. */
  readonly url: string;
  /**
   * Calls per second allowed on each endpoint, shared by every process using the same Redis and prefix.
   * @default 200
   */
  readonly rate?: number;
  /**
   * Fraction of `rate` aimed at, as in limiters.ts: starts are spaced `1000 / (rate × headroom)` ms apart.
   * @default 0.97
   */
  readonly headroom?: number;
  /** Prefix of the Redis keys (one TAT key and one run key per endpoint). @default 'cgsync:budget' */
  readonly keyPrefix?: string;
  /** How far ahead of Redis' clock a slot may be reserved. @default 250 */
  readonly maxAheadMs?: number;
  /**
   * How long Redis may stay unreachable (or failing) before waiting calls reject with `TRANSPORT`;
   * also how long {@link createRedisGate} waits for the first connection.
   * @default 30000
   */
  readonly unavailableAfterMs?: number;
  /**
   * A slot is dropped (and another reserved) when its call would start more than this after the slot,
   * beyond the usual Redis round trip: a slot used late crowds the next window.
   * @default 10
   */
  readonly maxLateMs?: number;
  /** Reservation requests in flight per endpoint (pipelined on the one connection). @default 4 */
  readonly maxInFlight?: number;
  /** @default the system clock */
  readonly clock?: Clock;
}

/**
 * GCRA ("virtual scheduling") over one key per endpoint holding the theoretical arrival time (TAT) of
 * its next free slot, in µs of Redis' own clock (`TIME`: one clock for every process, so no skew).
 * KEYS[1] TAT, KEYS[2] run_id of the Redis process that wrote it; ARGV interval µs, maxAhead µs, TAT TTL ms,
 * run key TTL ms. Returns {1, µs until the slot} or {0, µs before asking again}.
 * A run key that is missing or names another Redis process means this Redis is fresh (restarted, restored
 * from a snapshot, promoted replica, flushed): slots granted by its predecessor may lie up to maxAhead
 * ahead, so TAT starts past them (see the restart argument on {@link createRedisGate}).
 */
const BUDGET_SCRIPT = `
local interval = tonumber(ARGV[1])
local maxAhead = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local info = redis.pcall('INFO', 'server')
local run = type(info) == 'string' and string.match(info, 'run_id:(%x+)') or 'unknown'
local tat = tonumber(redis.call('GET', KEYS[1]))
if redis.call('GET', KEYS[2]) ~= run then
  tat = math.max(tat or 0, now + maxAhead + interval)
  redis.call('SET', KEYS[2], run, 'PX', ARGV[4])
  redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', ARGV[3])
elseif tat == nil then
  tat = now
end
local ahead = math.max(tat - now, 0)
if ahead > maxAhead then
  return {0, ahead - maxAhead}
end
redis.call('SET', KEYS[1], string.format('%.0f', now + ahead + interval), 'PX', ARGV[3])
return {1, ahead}
`;

type BudgetRedis = Redis & {
  cgsyncReserveSlot(tatKey: string, runKey: string, ...args: number[]): Promise<unknown>;
};

/** Narrows the script's answer (µs) to a {@link Reservation} (ms). */
export function parseReservation(answer: unknown): Reservation {
  if (Array.isArray(answer) && answer.length === 2) {
    const [flag, micros]: unknown[] = answer;
    if ((flag === 0 || flag === 1) && typeof micros === 'number' && micros >= 0) {
      return flag === 1
        ? { granted: true, delayMs: micros / 1000 }
        : { granted: false, retryInMs: micros / 1000 };
    }
  }
  throw new SyncError(
    'TRANSPORT',
    `Unexpected answer from the Redis budget script: ${JSON.stringify(answer)}`,
  );
}

/** What {@link createRedisGate} does for a URL: where to connect, and how to name it without secrets. */
export function describeRedisUrl(url: string): { where: string; secrets: string[] } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SyncError('CONFIG', 'Invalid Redis URL: expected redis://host:port or rediss://host:port');
  }
  if ((parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') || parsed.hostname === '') {
    throw new SyncError(
      'CONFIG',
      `Invalid Redis URL: expected redis://host:port or rediss://host:port, got protocol ${parsed.protocol}`,
    );
  }
  const secrets = [parsed.password, safeDecode(parsed.password)].filter((s) => s.length > 0);
  return { where: `${parsed.hostname}:${parsed.port === '' ? '6379' : parsed.port}`, secrets };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * A budget of `rate` calls per second per endpoint, shared through Redis by every process using the
 * same Redis and `keyPrefix`. Each `acquire` takes one slot reserved by {@link BUDGET_SCRIPT}; slots are
 * `interval = 1000 / (rate × headroom)` ms apart across all processes.
 *
 * Why no server window of 1000 ms sees more than `rate` calls, Redis restarts included:
 * - Steady state: each grant moves TAT forward by `interval`, so granted slots are ≥ `interval` apart and
 *   a window of 1000 ms holds at most 1 + 1000 / interval of them (195 at the defaults). A call reaches
 *   the server E ms after its slot, E varying with the answer's transit, timer lateness and any longer
 *   than usual round trip (a slot later than `maxLateMs` is dropped), sending and the network; spread E
 *   adds E / interval, so the server sees ≤ `rate` while E varies by less than ~25 ms at the defaults:
 *   the same slack limiters.ts relies on.
 * - Restart (or failover) at time R: the script never grants a slot more than `maxAheadMs` ahead, so every
 *   slot granted before R is ≤ R + maxAheadMs. After R a slot comes either (a) from a process that saw
 *   its connection drop: after 'ready' (≥ R) it waits `maxAheadMs + interval` on its own clock before
 *   asking, so its slots are ≥ R + maxAheadMs + interval whatever the new Redis' clock says; or (b) from
 *   a fresh Redis: its run key is missing or names the old process, so the script starts TAT at
 *   now + maxAheadMs + interval ≥ R + maxAheadMs + interval, which covers processes that connect for the
 *   first time after R and never saw the drop. Either way the first new slot is ≥ `interval` after the
 *   last old one, so the merged sequence keeps its spacing and the steady-state bound holds across R.
 *   Commands are never resent after a reconnect (no offline queue, no auto-resend), so no reservation
 *   made before R is replayed on the new Redis outside this argument.
 *
 * While Redis is unreachable, `acquire` waits (ioredis reconnects with a bounded backoff) and, once it
 * has been unreachable for `unavailableAfterMs`, rejects with `SyncError('TRANSPORT')`. Needs Redis ≥ 5.
 */
export async function createRedisGate(options: RedisGateOptions): Promise<SlotGate> {
  const rate = options.rate ?? LIMITS.callsPerSecond;
  const headroom = options.headroom ?? 0.97;
  const maxAheadMs = options.maxAheadMs ?? 250;
  const unavailableAfterMs = options.unavailableAfterMs ?? 30_000;
  const maxLateMs = options.maxLateMs ?? 10;
  const maxInFlight = options.maxInFlight ?? 4;
  const keyPrefix = options.keyPrefix ?? 'cgsync:budget';
  const clock = options.clock ?? systemClock;
  validate({ rate, headroom, maxAheadMs, unavailableAfterMs, maxLateMs, maxInFlight });
  const { where, secrets } = describeRedisUrl(options.url);
  const clean = (text: string) => secrets.reduce((t, s) => t.split(s).join('***'), text);
  const unreachable = (detail: string) =>
    new SyncError('TRANSPORT', `Redis at ${where} is unreachable: ${clean(detail)}`);

  const intervalMs = 1000 / (rate * headroom);
  // Whole µs, rounded up: the spacing never shrinks below `interval`.
  const scriptArgs = [
    Math.ceil(intervalMs * 1000),
    Math.floor(maxAheadMs * 1000),
    Math.ceil(maxAheadMs + intervalMs) + 5000,
    86_400_000,
  ];
  const redis = new Redis(options.url, {
    // A reservation is either answered by the Redis it was sent to or lost: never queued or replayed.
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    connectTimeout: Math.min(2000, unavailableAfterMs),
    commandTimeout: 1000,
    retryStrategy: (times) => Math.min(1000, 50 * 2 ** Math.min(times - 1, 5)),
    connectionName: 'cgsync-budget',
  }) as BudgetRedis;
  redis.defineCommand('cgsyncReserveSlot', { lua: BUDGET_SCRIPT, numberOfKeys: 2 });

  const pump = new SlotPump({
    clock,
    maxInFlight,
    maxLateMs,
    unavailableAfterMs,
    unreachable,
    reserve: async (endpoint) =>
      parseReservation(
        await redis.cgsyncReserveSlot(
          `${keyPrefix}:{${endpoint}}`,
          `${keyPrefix}:{${endpoint}}:run`,
          ...scriptArgs,
        ),
      ),
  });
  // Settles once: undefined when first ready, else the error createRedisGate rejects with.
  let started: (error: SyncError | undefined) => void = () => {};
  const start = new Promise<SyncError | undefined>((resolve) => {
    started = resolve;
  });
  let everReady = false;
  // ioredis emits 'error' for every failed (re)connection; an unhandled one would crash the process.
  redis.on('error', (error: unknown) => {
    const detail = error instanceof Error ? error.message : String(error);
    pump.note(detail);
    // Wrong credentials do not get better by waiting: say so at once (later, they count as unreachable).
    if (!everReady && /^(WRONGPASS|NOAUTH|NOPERM)\b/.test(detail)) {
      started(new SyncError('CONFIG', `Redis at ${where} refused the credentials: ${clean(detail)}`));
    }
  });
  redis.on('close', () => pump.down('connection closed'));
  redis.on('ready', () => {
    pump.up(everReady ? maxAheadMs + intervalMs : 0);
    everReady = true;
    started(undefined);
  });
  const giveUp = new AbortController();
  clock.sleep(unavailableAfterMs, giveUp.signal).then(
    () => started(pump.unreachableError()),
    () => {},
  );
  const error = await start;
  giveUp.abort();
  if (error !== undefined) {
    pump.close();
    redis.disconnect();
    throw error;
  }
  return {
    acquire: (endpoint, signal) => pump.acquire(endpoint, signal),
    async close() {
      pump.close();
      if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
      else redis.disconnect();
    },
  };
}

function validate(o: Record<string, number>): void {
  const problems: string[] = [];
  const need = (name: string, ok: (v: number) => boolean, what: string) => {
    const value = o[name] as number;
    if (!ok(value)) problems.push(`Expected \`${name}\` to be ${what}, got \`${String(value)}\``);
  };
  need('rate', (v) => Number.isFinite(v) && v > 0, 'a number above 0');
  need('headroom', (v) => v > 0 && v <= 1, 'a number in (0, 1]');
  need('maxAheadMs', (v) => Number.isFinite(v) && v >= 0, 'a number >= 0');
  need('unavailableAfterMs', (v) => Number.isFinite(v) && v > 0, 'a number above 0');
  need('maxLateMs', (v) => v >= 0, 'a number >= 0');
  need('maxInFlight', (v) => Number.isInteger(v) && v >= 1, 'an integer from 1');
  if (problems.length > 0) throw new SyncError('USAGE', problems.join('; '));
}
