import { setMaxListeners } from 'node:events';
import { SyncError } from '../../errors.js';
import type { Endpoint } from '../../tencent/wire.js';
import { abortReason, type Clock } from '../clock.js';

/** One answer of the budget script: a slot `delayMs` from now, or none before `retryInMs`. */
export type Reservation =
  | { readonly granted: true; readonly delayMs: number }
  | { readonly granted: false; readonly retryInMs: number };

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
    // Never sooner than a refusal of another reservation asked: that would only poll for another refusal.
    const backoff = Math.min(1000, 50 * 2 ** Math.min(lane.errors++, 5));
    lane.pausedUntil = Math.max(lane.pausedUntil, this.#o.clock.now() + backoff);
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
