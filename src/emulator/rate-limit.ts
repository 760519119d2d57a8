/**
 * A sliding-window limiter: a call is accepted when fewer than `limit` calls were accepted in the
 * window `(t - windowMs, t]`, t being the call's arrival time (given, or read from the clock).
 * Rejected calls do not count. The clock is injected (milliseconds, monotonic), so tests never sleep.
 */
export class SlidingWindowLimiter {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  /** Timestamps of accepted calls still inside the window, oldest first, from index `#head`. */
  #times: number[] = [];
  #head = 0;
  #accepted = 0;
  #rejected = 0;
  #maxInWindow = 0;

  constructor(options: { limit: number; windowMs: number; now: () => number }) {
    this.#limit = options.limit;
    this.#windowMs = options.windowMs;
    this.#now = options.now;
  }

  /**
   * Accepts (and counts) the call, or refuses it. `arrivedAt` (same clock) is when the call arrived,
   * if that was measured apart from now; calls are taken in arrival order, and a time earlier than
   * the last accepted call's (two threads' clocks a microsecond apart) counts as that call's.
   */
  tryAcquire(arrivedAt?: number): boolean {
    const last = this.#times.length > this.#head ? (this.#times[this.#times.length - 1] as number) : 0;
    const now = Math.max(arrivedAt ?? this.#now(), last);
    const floor = now - this.#windowMs;
    while (this.#head < this.#times.length && (this.#times[this.#head] as number) <= floor) this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#times.length) {
      this.#times = this.#times.slice(this.#head);
      this.#head = 0;
    }
    const inWindow = this.#times.length - this.#head;
    if (inWindow >= this.#limit) {
      this.#rejected++;
      return false;
    }
    this.#times.push(now);
    this.#accepted++;
    // Every window's count is at most the count of the window ending at its last accepted call,
    // so checking at each acceptance gives the exact maximum over all windows.
    if (inWindow + 1 > this.#maxInWindow) this.#maxInWindow = inWindow + 1;
    return true;
  }

  get accepted(): number {
    return this.#accepted;
  }

  get rejected(): number {
    return this.#rejected;
  }

  /** The most accepted calls in any window of `windowMs`. */
  get maxInWindow(): number {
    return this.#maxInWindow;
  }

  reset(): void {
    this.#times = [];
    this.#head = 0;
    this.#accepted = 0;
    this.#rejected = 0;
    this.#maxInWindow = 0;
  }
}
