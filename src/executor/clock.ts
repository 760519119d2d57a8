/**
 * Time as the executor sees it. Injected so tests never sleep: backoff waits, the group-commit
 * timer's callers and the decay of rate-limit slow-downs all read this clock.
 */
export interface Clock {
  /** Milliseconds since an arbitrary origin, monotonic enough for measuring intervals. */
  now(): number;
  /** Resolves after `ms`; rejects with the signal's reason when `signal` aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock: `Date.now` and `setTimeout`. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep(ms, signal) {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortReason(signal));
        return;
      }
      const onAbort = () => {
        clearTimeout(timer);
        reject(abortReason(signal as AbortSignal));
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  },
};

/** The error an aborted wait rejects with: the signal's reason when it is an Error. */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const error = new Error('The operation was aborted');
  error.name = 'AbortError';
  return error;
}

/** The longest delay `setTimeout` takes (2^31 - 1 ms, about 24.8 days); longer ones fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A signal that aborts after a delay; `cancel` stops the timer. */
export interface DelayedAbort {
  readonly signal: AbortSignal;
  cancel(): void;
}

/**
 * Aborts `signal` with `reason()` after `ms`, however long: a delay beyond {@link MAX_TIMER_MS} is
 * waited out in steps (`AbortSignal.timeout` and `setTimeout` would fire at once, or throw). The timer
 * never keeps the process alive.
 */
export function abortAfter(ms: number, reason: () => Error): DelayedAbort {
  if (!(Number.isFinite(ms) && ms >= 0)) {
    throw new RangeError(`Expected \`ms\` to be a finite number from 0, got ${String(ms)}`);
  }
  const controller = new AbortController();
  const deadline = Date.now() + ms;
  let timer: NodeJS.Timeout | undefined;
  const arm = (left: number) => {
    timer = setTimeout(
      () => {
        const rest = deadline - Date.now();
        if (rest > 0) arm(rest);
        else controller.abort(reason());
      },
      Math.min(left, MAX_TIMER_MS),
    );
    timer.unref();
  };
  arm(ms);
  return {
    signal: controller.signal,
    cancel() {
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}
