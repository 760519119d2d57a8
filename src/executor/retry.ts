import { isSyncError } from '../errors.js';
import { failureOf } from '../tencent/client.js';
import { classifyFailure, type Failure } from '../tencent/error-codes.js';
import type { Endpoint } from '../tencent/wire.js';
import { type Clock, systemClock } from './clock.js';
import { type EndpointScheduler, isGateFailure } from './rate/limiters.js';

/** How often and how patiently a call is retried. */
export interface RetryPolicy {
  /**
   * Attempts per call, the first included. A call gives up only when both this and `retryForMs` are
   * used up, so a short outage (a restart, a failover) is waited out however the jitter draws fall.
   * @default 8
   */
  readonly maxAttempts?: number;
  /**
   * How long a call keeps retrying, from its first attempt, whatever the number of attempts.
   * @default 60000
   */
  readonly retryForMs?: number;
  /**
   * Backoff base: attempt n waits a random time in [0, min(capMs, baseMs × 2^(n-1))) (full jitter).
   * Rate-limit answers use at least 500 ms as the base, since the service counts over 1 s windows.
   * @default 250
   */
  readonly baseMs?: number;
  /**
   * Longest backoff wait.
   * @default 30000
   */
  readonly capMs?: number;
  /** Source of randomness for jitter, in [0, 1). @default Math.random */
  readonly random?: () => number;
  /** @default the system clock */
  readonly clock?: Clock;
}

/** Options of one {@link callWithRetry}. */
export interface CallOptions extends RetryPolicy {
  /** Aborts the call in flight (passed to `fn`). */
  readonly signal?: AbortSignal;
  /**
   * Stops starting attempts: a call still waiting for the limiter is dropped and a backoff wait ends.
   * @default signal
   */
  readonly stopSignal?: AbortSignal;
  /**
   * The call writes. A failure after which the write may or may not have been applied (timeout, lost
   * response, server-side timeout) is then not retried blindly: it is thrown, and the caller reconciles.
   * @default false
   */
  readonly write?: boolean;
}

/** What a failed call means for the caller. */
export type Verdict =
  /**
   * Not applied and worth repeating (transient, or the service asked us to slow down). `maxAttempts`:
   * this kind of failure is tried at most that often, whatever the time budget (an unexpected answer).
   */
  | { readonly kind: 'retry'; readonly rateLimited: boolean; readonly maxAttempts?: number }
  /** A write that may have been applied: read the state and redo only what is missing. */
  | { readonly kind: 'unknown_outcome' }
  /** This call cannot succeed as sent: an outcome, not an error of the run. */
  | { readonly kind: 'permanent' }
  /** Configuration, account or unexpected failure: stop the run. */
  | { readonly kind: 'fatal' }
  /** The run is stopping and aborted the call. */
  | { readonly kind: 'aborted' };

/** Attempts of a read answered with an unexpected shape (HTTP 200, not the documented body). */
export const UNEXPECTED_ATTEMPTS = 3;

/** Network errors raised before the request could reach the service: never applied. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * The executor's reading of a rejected `ChatApi` call, built on the one classifier
 * (`classifyFailure(failureOf(err))`). `resign` is fatal here: the client has already re-signed once.
 * A failure of the shared gate (Redis unreachable) is fatal: the run stops and can be resumed.
 */
export function judgeFailure(err: unknown, options: { write?: boolean; signal?: AbortSignal } = {}): Verdict {
  if (options.signal?.aborted === true || isAbort(err)) return { kind: 'aborted' };
  if (isGateFailure(err)) return { kind: 'fatal' };
  const failure = failureOf(err);
  if (failure === undefined) return { kind: 'fatal' };
  switch (classifyFailure(failure)) {
    case 'rate_limited':
      return { kind: 'retry', rateLimited: true };
    case 'transient':
      return options.write === true && mayHaveApplied(failure)
        ? { kind: 'unknown_outcome' }
        : { kind: 'retry', rateLimited: false };
    case 'unexpected':
      // The service answered 200: a write was probably applied. A read is tried a few more times.
      return options.write === true
        ? { kind: 'unknown_outcome' }
        : { kind: 'retry', rateLimited: false, maxAttempts: UNEXPECTED_ATTEMPTS };
    case 'permanent':
      return { kind: 'permanent' };
    case 'resign':
    case 'fatal':
      return { kind: 'fatal' };
  }
}

/**
 * Whether a failed read of one user's state is that user's own problem, to be reported as a failed
 * user while the run goes on: a permanent refusal (50001 not imported, and any other per-user code),
 * or answers of an unexpected shape after their few attempts. Systemic failures (fatal codes, the
 * run stopping, a service that stays down past the retry budget) are not: they stop the run.
 */
export function isUserReadFailure(err: unknown): boolean {
  const verdict = judgeFailure(err);
  if (verdict.kind === 'permanent') return true;
  return verdict.kind === 'retry' && failureOf(err)?.kind === 'unexpected';
}

function mayHaveApplied(failure: Failure): boolean {
  return !(failure.kind === 'network' && NOT_SENT.has(failure.cause));
}

function isAbort(err: unknown): boolean {
  if (isSyncError(err, 'INTERRUPTED')) return true;
  return err instanceof Error && err.name === 'AbortError';
}

/** A short code for reports: the API ErrorCode, `HTTP 502`, `TIMEOUT`, a network error name, or the SyncError code. */
export function failureCode(err: unknown): number | string {
  const failure = failureOf(err);
  if (failure !== undefined) {
    switch (failure.kind) {
      case 'api':
        return failure.errorCode;
      case 'http':
        return `HTTP ${failure.status}`;
      case 'timeout':
        return 'TIMEOUT';
      case 'network':
        return failure.cause === 'unknown' ? 'NETWORK' : failure.cause;
      case 'unexpected':
        return 'UNEXPECTED_RESPONSE';
    }
  }
  if (isSyncError(err)) return err.code;
  return 'UNEXPECTED';
}

/** The message of an error, for reports. */
export function failureMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Full-jitter backoff before attempt `attempt + 1`. */
export function backoffMs(attempt: number, rateLimited: boolean, policy: RetryPolicy = {}): number {
  const base = rateLimited ? Math.max(500, policy.baseMs ?? 250) : (policy.baseMs ?? 250);
  const cap = policy.capMs ?? 30_000;
  const ceiling = Math.min(cap, base * 2 ** Math.min(30, attempt - 1));
  return Math.floor((policy.random ?? Math.random)() * ceiling);
}

/**
 * Runs `fn` through `endpoint`'s limiter, retrying what {@link judgeFailure} calls `retry` with capped
 * exponential backoff and full jitter; every attempt goes back through the limiter. Rate-limit answers
 * also slow the whole endpoint down. Anything else, and the last failure when attempts run out, is
 * rethrown unchanged: the caller judges it again.
 */
export async function callWithRetry<T>(
  scheduler: EndpointScheduler,
  endpoint: Endpoint,
  fn: (signal?: AbortSignal) => Promise<T>,
  options: CallOptions = {},
): Promise<T> {
  const maxAttempts = options.maxAttempts ?? 8;
  const retryForMs = options.retryForMs ?? 60_000;
  const clock = options.clock ?? systemClock;
  const startedAt = clock.now();
  const stopSignal = options.stopSignal ?? options.signal;
  const counts = scheduler.stats.of(endpoint);
  for (let attempt = 1; ; attempt++) {
    try {
      const value = await scheduler.schedule(endpoint, () => fn(options.signal), stopSignal);
      scheduler.reportSuccess(endpoint);
      return value;
    } catch (err) {
      const verdict = judgeFailure(err, { write: options.write ?? false, ...signalOption(options.signal) });
      if (verdict.kind === 'aborted') throw err;
      counts.failures++;
      if (verdict.kind !== 'retry') throw err;
      if (verdict.rateLimited) {
        counts.rateLimited++;
        scheduler.reportRateLimited(endpoint);
      }
      const elapsed = clock.now() - startedAt;
      if (verdict.maxAttempts !== undefined && attempt >= verdict.maxAttempts) throw err;
      if (attempt >= maxAttempts && elapsed >= retryForMs) throw err;
      // Past the attempts, wait no longer than the time budget left (but never spin).
      const wait = backoffMs(attempt, verdict.rateLimited, options);
      await clock.sleep(attempt >= maxAttempts ? Math.max(wait, 100) : wait, stopSignal);
      counts.retries++;
    }
  }
}

function signalOption(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal === undefined ? {} : { signal };
}
