import { setMaxListeners } from 'node:events';
import { Redis } from 'ioredis';
import { SyncError } from '../errors.js';
import { LIMITS } from '../model.js';
import type { Endpoint } from '../tencent/wire.js';
import { abortReason, type Clock, systemClock } from './clock.js';

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

/** One answer of the budget script: a slot `delayMs` from now, or none before `retryInMs`. */
export type Reservation =
  | { readonly granted: true; readonly delayMs: number }
  | { readonly granted: false; readonly retryInMs: number };

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

/** Options of {@link SlotPump}. */
export interface SlotPumpOptions {
  /** Asks the shared budget for one slot of `endpoint`. */
  reserve(endpoint: Endpoint): Promise<Reservation>;
  readonly clock: Clock;
  readonly maxInFlight: number;
  readonly maxLateMs: number;
  readonly unavailableAfterMs: number;
  /** The error waiting calls reject with once the budget has been unreachable for `unavailableAfterMs`. */
  unreachable(detail: string): SyncError;
}

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
  detach(): void;
}

class Lane {
  waiters: Waiter[] = [];
  /** Granted slots whose time has not come yet. */
  held = 0;
  inFlight = 0;
  pausedUntil = Number.NEGATIVE_INFINITY;
  wakeAt: number | undefined;
  errors = 0;
}

/**
 * The process-local half of the gate, free of Redis so it runs on an injected clock: waiting calls queue
 * per endpoint (FIFO), and at most `maxInFlight` reservations per endpoint are asked for, only as many as
 * there are waiting calls, so a crowd of waiting jobs never polls the budget. A granted slot goes to the
 * first call still waiting when the slot's time comes; a call aborted meanwhile just leaves its slot unused.
 */
export class SlotPump {
  readonly #o: SlotPumpOptions;
  readonly #lanes = new Map<Endpoint, Lane>();
  readonly #stop = new AbortController();
  #available = false;
  #pausedUntil = Number.NEGATIVE_INFINITY;
  #failingSince: number | undefined;
  #lastError = 'no connection yet';
  /** An error was noted since the last 'ready': it says more than "connection closed". */
  #noted = false;
  #deadlineArmed = false;
  #closed = false;
  /** The usual round trip to the budget: the lowest seen, rising slowly when round trips get longer. */
  #rttFloor = Number.POSITIVE_INFINITY;

  constructor(options: SlotPumpOptions) {
    this.#o = options;
    this.#failingSince = options.clock.now();
    // One listener per slot or wake timer waiting on it: hundreds are normal.
    setMaxListeners(0, this.#stop.signal);
  }

  acquire(endpoint: Endpoint, signal?: AbortSignal): Promise<void> {
    if (this.#closed) return Promise.reject(new SyncError('INTERRUPTED', 'The Redis rate budget is closed'));
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    // Known to be unreachable: the caller learns it at once (until the connection is back).
    if (!this.#available && this.#expired()) return Promise.reject(this.unreachableError());
    const lane = this.#lane(endpoint);
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const at = lane.waiters.indexOf(waiter);
        if (at >= 0) lane.waiters.splice(at, 1);
        reject(abortReason(signal as AbortSignal));
      };
      const waiter: Waiter = { resolve, reject, detach: () => signal?.removeEventListener('abort', onAbort) };
      signal?.addEventListener('abort', onAbort, { once: true });
      lane.waiters.push(waiter);
      this.#armDeadline();
      this.#pump(endpoint, lane);
    });
  }

  /** The budget is reachable; reserve nothing for `waitMs` (after a reconnect). */
  up(waitMs: number): void {
    this.#available = true;
    this.#noted = false;
    this.#failingSince = undefined;
    this.#pausedUntil = Math.max(this.#pausedUntil, this.#o.clock.now() + waitMs);
    for (const [endpoint, lane] of this.#lanes) this.#pump(endpoint, lane);
  }

  /** The connection to the budget is lost. */
  down(detail: string): void {
    this.#available = false;
    this.#fail(this.#noted ? this.#lastError : detail);
  }

  /** Remembers the latest error, for the message of a later rejection. */
  note(detail: string): void {
    this.#lastError = detail;
    this.#noted = true;
  }

  unreachableError(): SyncError {
    return this.#o.unreachable(this.#lastError);
  }

  /** Rejects every waiting call; later calls reject at once. */
  close(): void {
    this.#closed = true;
    this.#stop.abort();
    this.#rejectAll(new SyncError('INTERRUPTED', 'The Redis rate budget was closed'));
  }

  #lane(endpoint: Endpoint): Lane {
    let lane = this.#lanes.get(endpoint);
    if (lane === undefined) {
      lane = new Lane();
      this.#lanes.set(endpoint, lane);
    }
    return lane;
  }

  #pump(endpoint: Endpoint, lane: Lane): void {
    if (this.#closed || !this.#available) return;
    const now = this.#o.clock.now();
    const pausedUntil = Math.max(this.#pausedUntil, lane.pausedUntil);
    const wanted = () => lane.waiters.length > lane.held + lane.inFlight;
    if (now < pausedUntil) {
      if (wanted()) this.#wake(endpoint, lane, pausedUntil, now);
      return;
    }
    while (wanted() && lane.inFlight < this.#o.maxInFlight) {
      lane.inFlight++;
      const sentAt = this.#o.clock.now();
      this.#o.reserve(endpoint).then(
        (answer) => this.#answered(endpoint, lane, answer, sentAt),
        (error: unknown) => this.#failed(endpoint, lane, error),
      );
    }
  }

  #answered(endpoint: Endpoint, lane: Lane, answer: Reservation, sentAt: number): void {
    lane.inFlight--;
    lane.errors = 0;
    this.#failingSince = undefined;
    if (this.#closed) return;
    const { clock } = this.#o;
    if (answer.granted) {
      lane.held++;
      // The slot is somewhere between sending and answer + delay. A round trip longer than usual (a busy
      // event loop, a slow Redis) or a late timer shifts this call's start after its slot, towards the
      // next ones: past maxLateMs, drop the slot rather than crowd a window.
      const now = clock.now();
      const rtt = now - sentAt;
      this.#rttFloor = rtt <= this.#rttFloor ? rtt : this.#rttFloor + (rtt - this.#rttFloor) * 0.02;
      const latest = sentAt + this.#rttFloor + answer.delayMs + this.#o.maxLateMs;
      clock.sleep(answer.delayMs, this.#stop.signal).then(
        () => {
          lane.held--;
          if (clock.now() <= latest) {
            const waiter = lane.waiters.shift();
            waiter?.detach();
            waiter?.resolve();
          }
          this.#pump(endpoint, lane);
        },
        () => {},
      );
    } else {
      lane.pausedUntil = Math.max(lane.pausedUntil, clock.now() + answer.retryInMs);
    }
    this.#pump(endpoint, lane);
  }

  #failed(endpoint: Endpoint, lane: Lane, error: unknown): void {
    lane.inFlight--;
    this.note(error instanceof Error ? error.message : String(error));
    this.#fail(this.#lastError);
    lane.pausedUntil = this.#o.clock.now() + Math.min(1000, 50 * 2 ** Math.min(lane.errors++, 5));
    this.#pump(endpoint, lane);
  }

  #wake(endpoint: Endpoint, lane: Lane, at: number, now: number): void {
    if (lane.wakeAt !== undefined && lane.wakeAt <= at) return;
    lane.wakeAt = at;
    this.#o.clock.sleep(at - now, this.#stop.signal).then(
      () => {
        if (lane.wakeAt === at) lane.wakeAt = undefined;
        this.#pump(endpoint, lane);
      },
      () => {},
    );
  }

  #fail(detail: string): void {
    this.#lastError = detail;
    this.#failingSince ??= this.#o.clock.now();
    this.#armDeadline();
  }

  #expired(): boolean {
    return (
      this.#failingSince !== undefined &&
      this.#o.clock.now() - this.#failingSince >= this.#o.unavailableAfterMs
    );
  }

  #armDeadline(): void {
    if (this.#failingSince === undefined || this.#deadlineArmed || this.#closed) return;
    if (![...this.#lanes.values()].some((lane) => lane.waiters.length > 0)) return;
    this.#deadlineArmed = true;
    const left = this.#failingSince + this.#o.unavailableAfterMs - this.#o.clock.now();
    this.#o.clock.sleep(Math.max(0, left), this.#stop.signal).then(
      () => {
        this.#deadlineArmed = false;
        if (!this.#expired()) return this.#armDeadline();
        this.#rejectAll(this.unreachableError());
        // Connected but every reservation failing: keep trying, and give later calls a full period.
        if (this.#available) this.#failingSince = this.#o.clock.now();
      },
      () => {},
    );
  }

  #rejectAll(error: Error): void {
    for (const lane of this.#lanes.values()) {
      const waiters = lane.waiters;
      lane.waiters = [];
      for (const waiter of waiters) {
        waiter.detach();
        waiter.reject(error);
      }
    }
  }
}
