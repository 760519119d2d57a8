import { SyncError } from '../../errors.js';
import { ENDPOINTS, type Endpoint } from '../../tencent/wire.js';
import { type Clock, systemClock } from '../clock.js';
import type { CallGate } from './limiters.js';

/** Options of {@link SlidingWindowGate}. */
export interface WindowGateOptions {
  /** Calls allowed per window on each endpoint. */
  readonly limit: number;
  /** Window length in ms: the service's window plus a margin for the time between our start and its arrival. */
  readonly windowMs: number;
  /** @default the system clock */
  readonly clock?: Clock;
}

/**
 * The hard cap: at most `limit` call starts on an endpoint in any sliding `windowMs`, counted exactly
 * from the start times of this process's calls (a ring buffer of the last `limit` starts per endpoint).
 *
 * Why on top of Bottleneck's spacing: `minTime` spaces *scheduled* starts, but timers fire late and a
 * late call lets the next ones bunch up, and what the service counts is arrivals. Measured against the
 * emulator's exact window, spacing alone drew a few 60007 per thousand calls. The window cap cannot be
 * passed, and Bottleneck's spacing keeps calls smooth inside it. Waiters are served first come, first served.
 *
 * A start is recorded when the gate releases the call, then moved to when its request is really
 * written to the socket ({@link SlidingWindowGate.acquireSlot}'s `restamp`, fed by
 * src/tencent/send-hook.ts): a pause between the two (a GC, a busy event loop: 15-25 ms seen on a
 * loaded 2-core machine) would otherwise make the call arrive late, together with calls released
 * after it, and draw a rate-limit answer.
 */
export class SlidingWindowGate implements CallGate {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #clock: Clock;
  readonly #lanes = new Map<
    Endpoint,
    { starts: Float64Array; uses: Uint32Array; next: number; tail: Promise<void> }
  >();

  constructor(options: WindowGateOptions) {
    if (!Number.isInteger(options.limit) || options.limit < 1) {
      throw new SyncError(
        'USAGE',
        `Expected \`limit\` to be an integer from 1, got ${String(options.limit)}`,
      );
    }
    if (!(Number.isFinite(options.windowMs) && options.windowMs > 0)) {
      throw new SyncError(
        'USAGE',
        `Expected \`windowMs\` to be a number above 0, got ${String(options.windowMs)}`,
      );
    }
    this.#limit = options.limit;
    this.#windowMs = options.windowMs;
    this.#clock = options.clock ?? systemClock;
    for (const endpoint of ENDPOINTS) {
      this.#lanes.set(endpoint, {
        starts: new Float64Array(options.limit).fill(Number.NEGATIVE_INFINITY),
        uses: new Uint32Array(options.limit),
        next: 0,
        tail: Promise.resolve(),
      });
    }
  }

  async acquire(endpoint: Endpoint, signal?: AbortSignal): Promise<void> {
    await this.acquireSlot(endpoint, signal);
  }

  /**
   * As `acquire`, and returns `restamp`: call it when the call really leaves (its bytes hit the
   * socket) to move its recorded start to that moment. A call held up between its release and its
   * send (a GC pause, a busy event loop) then still counts from when it left, so the calls after it
   * cannot bunch up with it at the service. Later than the slot's reuse it does nothing.
   */
  async acquireSlot(endpoint: Endpoint, signal?: AbortSignal): Promise<() => void> {
    const lane = this.#lanes.get(endpoint);
    if (lane === undefined) throw new SyncError('USAGE', `unknown endpoint ${endpoint}`);
    const previous = lane.tail;
    let release!: () => void;
    lane.tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    try {
      await previous;
      // The slot to reuse holds the oldest of the last `limit` starts.
      for (;;) {
        const wait = (lane.starts[lane.next] as number) + this.#windowMs - this.#clock.now();
        if (wait <= 0) break;
        await this.#clock.sleep(Math.ceil(wait), signal);
      }
      const slot = lane.next;
      lane.starts[slot] = this.#clock.now();
      const use = ++lane.uses[slot]!;
      lane.next = (slot + 1) % this.#limit;
      return () => {
        if (lane.uses[slot] !== use) return;
        const now = this.#clock.now();
        if (now > (lane.starts[slot] as number)) lane.starts[slot] = now;
      };
    } finally {
      release();
    }
  }
}
