import Bottleneck from 'bottleneck';
import { SyncError } from '../../errors.js';
import { LIMITS, MAX_RATE } from '../../model.js';
import { withSendHook } from '../../tencent/send-hook.js';
import { ENDPOINTS, type Endpoint } from '../../tencent/wire.js';
import { abortReason, type Clock, systemClock } from '../clock.js';
import { CallStats } from './stats.js';
import { SlidingWindowGate } from './window-gate.js';

/** Options of {@link createEndpointLimiters}. */
export interface LimiterOptions {
  /**
   * Calls per second allowed on each endpoint (the documented limit is per endpoint).
   * @default 200
   */
  readonly rate?: number;
  /**
   * Fraction of `rate` Bottleneck's start spacing aims at. Spacing alone cannot keep an exact sliding
   * window at `rate` (timers fire late, late calls bunch up: 0.97 drew an occasional 60007), so the hard
   * cap is the window gate (window-gate.ts); the spacing only keeps calls smooth inside it.
   * @default 0.99
   */
  readonly headroom?: number;
  /**
   * Calls in flight per endpoint. With `rate` in flight, latencies up to one second still reach the rate.
   * @default rate
   */
  readonly maxConcurrent?: number;
  /**
   * Largest slow-down factor applied to an endpoint's call spacing after rate-limit answers.
   * @default 16
   */
  readonly maxSlowdown?: number;
  /**
   * What a rate-limit answer multiplies an endpoint's spacing by (and a quiet period divides it by).
   * Gentle by default: the window cap already keeps the rate, so an occasional answer is arrival jitter,
   * and halving the rate for it cost more calls than the answer itself.
   * @default 1.25
   */
  readonly slowdownStep?: number;
  /**
   * Quiet time (no rate-limit answer) after which an endpoint's slow-down factor is divided by `slowdownStep`.
   * @default 1000
   */
  readonly recoverAfterMs?: number;
  /** Counters to update; a fresh set when absent. */
  readonly stats?: CallStats;
  /**
   * A budget shared with other processes (the Redis gate, redis-gate.ts), awaited inside each scheduled
   * job just before the call. A gate failure other than an abort is fatal for the run ({@link isGateFailure}).
   */
  readonly gate?: CallGate;
  /**
   * The hard cap's margin: at most `rate` call starts in any window of 1000 ms plus this many ms
   * (window-gate.ts), covering the time between a start here and its arrival at the service.
   * @default 25
   */
  readonly windowMarginMs?: number;
  /** @default the system clock */
  readonly clock?: Clock;
}

/** A shared budget: resolves when this process may start one call on `endpoint`; rejects on abort. */
export interface CallGate {
  acquire(endpoint: Endpoint, signal?: AbortSignal): Promise<void>;
}

const gateFailures = new WeakSet<object>();

/** Whether `err` came from the shared gate (e.g. Redis unreachable) rather than from the call itself. */
export function isGateFailure(err: unknown): boolean {
  return typeof err === 'object' && err !== null && gateFailures.has(err);
}

/**
 * The per-endpoint rate budget. Every API call goes through {@link EndpointScheduler.schedule}, retries
 * included, so no call ever bypasses the budget.
 */
export interface EndpointScheduler {
  /** Calls per second per endpoint this budget allows: the one owner of `--rate`. */
  readonly rate: number;
  /**
   * Runs `fn` when the endpoint's budget allows. If `signal` aborts while the call still waits its turn,
   * the returned promise rejects at once and `fn` never runs; once started, `fn` runs to its end.
   */
  schedule<T>(endpoint: Endpoint, fn: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** A rate-limit answer came back: slow the whole endpoint down. */
  reportRateLimited(endpoint: Endpoint): void;
  /** A call succeeded: lets a slowed-down endpoint recover. */
  reportSuccess(endpoint: Endpoint): void;
  /** The current call spacing of an endpoint, in ms. */
  spacingMs(endpoint: Endpoint): number;
  readonly stats: CallStats;
  /** Drops calls still waiting and waits for running ones. */
  stop(): Promise<void>;
}

/** Spacing between call starts for a rate with headroom. Fractional ms are fine for Bottleneck. */
export function spacingFor(rate: number, headroom: number): number {
  return 1000 / (rate * headroom);
}

/**
 * Calls per second one Bottleneck limiter is given at most. Bottleneck's local datastore passes every
 * job through `setTimeout(0)` steps under one lock, which caps a limiter near 400 jobs/s on a 2-core
 * machine whatever its `minTime` and `maxConcurrent` (`node .bench-build/bench/limiter-rate.js`:
 * 10,000 jobs at `minTime: 0` ran at 370-410/s; 16 limiters side by side at about 3,400/s). So an
 * endpoint's budget above this rate is split over several limiters, its lanes; at the documented
 * 200 calls/s it is one.
 */
export const MAX_LANE_RATE = 200;

/** Bottleneck limiters behind one endpoint's budget: one per {@link MAX_LANE_RATE} calls/s, at most one per call in flight. */
export function lanesFor(rate: number, maxConcurrent: number): number {
  return Math.max(1, Math.min(Math.ceil(rate / MAX_LANE_RATE), maxConcurrent));
}

/**
 * The Bottleneck settings of one endpoint's limiter: the only place limiters are configured. (A budget
 * shared by several processes is not Bottleneck's Redis datastore but the Redis gate, redis-gate.ts,
 * awaited inside each scheduled job: see `LimiterOptions.gate`.) With several lanes, `lane` of `lanes`
 * gets its id's suffix, `lanes` times the spacing and its share of the calls in flight.
 */
export function bottleneckSettings(
  endpoint: Endpoint,
  spacingMs: number,
  maxConcurrent: number,
  lane = 0,
  lanes = 1,
): Bottleneck.ConstructorOptions {
  const share = Math.floor(maxConcurrent / lanes) + (lane < maxConcurrent % lanes ? 1 : 0);
  return {
    id: lanes === 1 ? `cgsync-${endpoint}` : `cgsync-${endpoint}-${lane}`,
    minTime: spacingMs * lanes,
    maxConcurrent: share,
  };
}

class EndpointLimiter {
  /** The lanes, taken in turn: each spaces its own starts by lanes × the spacing. */
  readonly lanes: readonly Bottleneck[];
  readonly baseSpacing: number;
  factor = 1;
  lastRateLimitAt = Number.NEGATIVE_INFINITY;
  lastChangeAt = Number.NEGATIVE_INFINITY;
  #next = 0;

  constructor(endpoint: Endpoint, baseSpacing: number, maxConcurrent: number, lanes: number) {
    this.baseSpacing = baseSpacing;
    this.lanes = Array.from({ length: lanes }, (_, lane) => {
      const limiter = new Bottleneck(bottleneckSettings(endpoint, baseSpacing, maxConcurrent, lane, lanes));
      // Bottleneck emits 'error' for failures inside its own machinery; never let that crash the process.
      limiter.on('error', () => {});
      return limiter;
    });
  }

  /** The lane of the next call. */
  next(): Bottleneck {
    const lane = this.lanes[this.#next] as Bottleneck;
    this.#next = (this.#next + 1) % this.lanes.length;
    return lane;
  }

  spacing(): number {
    return this.baseSpacing * this.factor;
  }

  setFactor(factor: number, now: number): void {
    this.factor = factor;
    this.lastChangeAt = now;
    for (const lane of this.lanes) lane.updateSettings({ minTime: this.spacing() * this.lanes.length });
  }
}

function validateOptions(rate: number, headroom: number, maxConcurrent: number, maxSlowdown: number): void {
  const check = (ok: boolean, what: string, value: number) => {
    if (!ok) throw new SyncError('USAGE', `Expected ${what}, got ${String(value)}`, { value: String(value) });
  };
  check(
    Number.isFinite(rate) && rate > 0 && rate <= MAX_RATE,
    `\`rate\` to be a number above 0 and at most ${MAX_RATE}`,
    rate,
  );
  check(Number.isFinite(headroom) && headroom > 0 && headroom <= 1, '`headroom` to be in (0, 1]', headroom);
  check(
    Number.isInteger(maxConcurrent) && maxConcurrent >= 1,
    '`maxConcurrent` to be an integer from 1',
    maxConcurrent,
  );
  check(Number.isFinite(maxSlowdown) && maxSlowdown >= 1, '`maxSlowdown` to be a number from 1', maxSlowdown);
}

/** Slots of the window gate's ring per endpoint, whatever the rate: its memory does not follow the rate. */
export const MAX_WINDOW_SLOTS = 1000;

/**
 * The window gate's shape for a rate: `limit` starts per `windowMs`. Up to 1000 calls/s, `floor(rate)`
 * starts per 1000 ms (plus the margin); above, the ring stays at {@link MAX_WINDOW_SLOTS} and the window
 * shrinks in proportion (the margin too), so a high `--rate` costs no more memory than 1000.
 */
export function windowShape(rate: number, marginMs: number): { limit: number; windowMs: number } {
  const perSecond = Math.max(1, Math.floor(rate));
  const limit = Math.min(perSecond, MAX_WINDOW_SLOTS);
  return { limit, windowMs: (1000 * limit) / rate + (marginMs * limit) / perSecond };
}

/**
 * One Bottleneck limiter per endpoint (several lanes above {@link MAX_LANE_RATE} calls/s), spacing call
 * starts by `1000 / (rate × headroom)` ms and capping calls in flight; the window gate caps every
 * window exactly, lanes or not. Rate-limit answers multiply an endpoint's spacing by `slowdownStep` (at most
 * once per 250 ms, up to `maxSlowdown`); after `recoverAfterMs` without one, successes divide it back.
 * Bottleneck's own retry (`failed` event) is never used: it would bypass the spacing.
 */
export function createEndpointLimiters(options: LimiterOptions = {}): EndpointScheduler {
  const rate = options.rate ?? LIMITS.callsPerSecond;
  const headroom = options.headroom ?? 0.99;
  const maxConcurrent = options.maxConcurrent ?? Math.max(1, Math.ceil(rate));
  const maxSlowdown = options.maxSlowdown ?? 16;
  const slowdownStep = options.slowdownStep ?? 1.25;
  if (!(Number.isFinite(slowdownStep) && slowdownStep > 1)) {
    throw new SyncError(
      'USAGE',
      `Expected \`slowdownStep\` to be a number above 1, got ${String(slowdownStep)}`,
    );
  }
  const recoverAfterMs = options.recoverAfterMs ?? 1000;
  const clock = options.clock ?? systemClock;
  const stats = options.stats ?? new CallStats();
  validateOptions(rate, headroom, maxConcurrent, maxSlowdown);

  const limiters = new Map<Endpoint, EndpointLimiter>();
  const lanes = lanesFor(rate, maxConcurrent);
  for (const endpoint of ENDPOINTS) {
    limiters.set(endpoint, new EndpointLimiter(endpoint, spacingFor(rate, headroom), maxConcurrent, lanes));
  }
  const get = (endpoint: Endpoint) => limiters.get(endpoint) as EndpointLimiter;
  const windowGate = new SlidingWindowGate({ ...windowShape(rate, options.windowMarginMs ?? 25), clock });

  return {
    rate,
    stats,
    schedule<T>(endpoint: Endpoint, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
      if (signal?.aborted) return Promise.reject(abortReason(signal));
      let state: 'waiting' | 'running' | 'cancelled' = 'waiting';
      const gate = options.gate;
      const job = get(endpoint)
        .next()
        .schedule(async (): Promise<T | undefined> => {
          if (state === 'cancelled') return undefined;
          state = 'running';
          if (gate !== undefined) {
            try {
              await gate.acquire(endpoint, signal);
            } catch (err) {
              if (typeof err === 'object' && err !== null && !signal?.aborted) gateFailures.add(err);
              throw err;
            }
          }
          // Last, so the recorded start is as close as it gets to the call itself; and moved to when
          // the request really leaves (send-hook.ts), should it be held up after its release.
          const restamp = await windowGate.acquireSlot(endpoint, signal);
          stats.of(endpoint).calls++;
          return withSendHook(restamp, fn);
        });
      if (signal === undefined) return job as Promise<T>;
      return new Promise<T>((resolve, reject) => {
        const onAbort = () => {
          if (state !== 'waiting') return;
          state = 'cancelled';
          reject(abortReason(signal));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        job.then(
          (value) => {
            signal.removeEventListener('abort', onAbort);
            if (state === 'running') resolve(value as T);
          },
          (error: unknown) => {
            signal.removeEventListener('abort', onAbort);
            if (state !== 'cancelled') reject(error);
          },
        );
      });
    },
    reportRateLimited(endpoint) {
      const limiter = get(endpoint);
      const now = clock.now();
      limiter.lastRateLimitAt = now;
      // Many calls in flight learn of the same overload together: slow down once per burst.
      if (now - limiter.lastChangeAt < 250 || limiter.factor >= maxSlowdown) return;
      limiter.setFactor(Math.min(maxSlowdown, limiter.factor * slowdownStep), now);
    },
    reportSuccess(endpoint) {
      const limiter = get(endpoint);
      if (limiter.factor === 1) return;
      const now = clock.now();
      if (now - limiter.lastRateLimitAt < recoverAfterMs || now - limiter.lastChangeAt < recoverAfterMs)
        return;
      limiter.setFactor(Math.max(1, limiter.factor / slowdownStep), now);
    },
    spacingMs(endpoint) {
      return get(endpoint).spacing();
    },
    async stop() {
      await Promise.all(
        [...limiters.values()].flatMap((l) =>
          l.lanes.map((lane) => lane.stop({ dropWaitingJobs: true }).catch(() => undefined)),
        ),
      );
    },
  };
}

/** `scheduler` with another `schedule` and counters; everything else is the budget's own. */
export function reschedule(
  scheduler: EndpointScheduler,
  own: Pick<EndpointScheduler, 'schedule' | 'stats'>,
): EndpointScheduler {
  return {
    rate: scheduler.rate,
    reportRateLimited: (endpoint) => scheduler.reportRateLimited(endpoint),
    reportSuccess: (endpoint) => scheduler.reportSuccess(endpoint),
    spacingMs: (endpoint) => scheduler.spacingMs(endpoint),
    stop: () => scheduler.stop(),
    schedule: own.schedule,
    stats: own.stats,
  };
}

/**
 * The same budget with counters of its own: `stats` counts the calls started through this one only
 * (the retry loop counts retries and failures into it). For each job on a client whose budget other
 * jobs share, at the same time or one after another.
 */
export function countingApart(scheduler: EndpointScheduler): EndpointScheduler {
  const stats = new CallStats();
  return reschedule(scheduler, {
    stats,
    // Counted when the call starts, as the budget counts its own (just before `fn`).
    schedule: (endpoint, fn, signal) =>
      scheduler.schedule(
        endpoint,
        () => {
          stats.of(endpoint).calls++;
          return fn();
        },
        signal,
      ),
  });
}
