import { getRandomValues } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import { SyncError, type SyncErrorContext } from '../errors.js';
import { redactSecrets } from '../log.js';
import { classifyFailure, describeErrorCode, type Failure } from './error-codes.js';
import { isConnectionFailure, type Route, type Routes } from './routes.js';
import { expectSend } from './send-hook.js';
import { request } from './undici-lite.js';
import type { UserSigCache } from './usersig.js';
import type { Endpoint } from './wire.js';

/** How one HTTP call ended, as the `onCall` hook sees it. */
export type CallOutcome =
  | 'ok'
  | 'api_error'
  | 'http_error'
  | 'network_error'
  | 'timeout'
  /** HTTP 200 with a body that is not the documented shape. */
  | 'unexpected_response';

/** One HTTP call to the service, for metrics. Holds no URL, query string, UserSig or key. */
export interface CallEvent {
  readonly endpoint: Endpoint;
  /** Wall time from sending the request to the end of the response body (or the failure). */
  readonly durationMs: number;
  /** Present when a response arrived. */
  readonly httpStatus?: number;
  /** Present when the service answered with a non-zero ErrorCode. */
  readonly errorCode?: number;
  /** A call aborted by the caller counts as `network_error`. */
  readonly outcome: CallOutcome;
}

/** What a call is about, for error messages and `SyncError.context`. Never secrets. */
export interface CallSubject {
  readonly user: string;
  readonly group?: string;
}

// Failures of errors built here. A WeakMap keeps the error's own shape (and JSON) unchanged.
const failures = new WeakMap<SyncError, Failure>();

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * The classifier's view of an error a `ChatApi` call rejected with, for `classifyFailure`.
 * `undefined` for anything that is not a service failure (e.g. `INTERRUPTED`: the caller aborted;
 * an abort whose reason is a `TimeoutError`, as from `AbortSignal.timeout`, is a `timeout` failure).
 * Works for errors this module built and, by code and context, for `SyncError`s built elsewhere
 * (fakes in tests): `API` + `errorCode` → api; `TRANSPORT` + `httpStatus` → http; other `TRANSPORT` → network.
 */
export function failureOf(err: unknown): Failure | undefined {
  if (!(err instanceof SyncError)) return undefined;
  const known = failures.get(err);
  if (known !== undefined) return known;
  if (err.code === 'API' && err.context.errorCode !== undefined) {
    return { kind: 'api', errorCode: err.context.errorCode };
  }
  if (err.code === 'TRANSPORT') {
    if (err.context.httpStatus !== undefined) return { kind: 'http', status: err.context.httpStatus };
    return { kind: 'network', cause: 'unknown' };
  }
  if (err.code === 'UNEXPECTED_RESPONSE') return { kind: 'unexpected', repeated: false };
  return undefined;
}

/**
 * Builds the `SyncError` a `ChatApi` call rejects with for `failure`, so that `failureOf` returns
 * `failure` for it. Fakes of `ChatApi` in tests use it to script timeouts and network errors.
 */
export function errorForFailure(
  failure: Failure,
  message: string,
  context: SyncErrorContext = {},
  options?: ErrorOptions,
): SyncError {
  const ctx: SyncErrorContext = { ...context };
  if (failure.kind === 'api') ctx.errorCode = failure.errorCode;
  if (failure.kind === 'http') ctx.httpStatus = failure.status;
  const code =
    failure.kind === 'api' ? 'API' : failure.kind === 'unexpected' ? 'UNEXPECTED_RESPONSE' : 'TRANSPORT';
  const err = new SyncError(code, message, ctx, options);
  failures.set(err, failure);
  return err;
}

/** Thrown by response parsers; becomes an `unexpected` failure (`UNEXPECTED_RESPONSE`). */
export class MalformedResponse extends Error {
  override readonly name = 'MalformedResponse';
}

/** A body parser: returns the domain value or throws `MalformedResponse`. */
export type ResponseParser<T> = (body: Readonly<Record<string, unknown>>) => T;

export interface TransportOptions {
  /** Where calls go (the main route, and the backup one after connection failures). */
  readonly routes: Routes;
  readonly sdkAppId: number;
  readonly admin: string;
  readonly secretKey: string;
  readonly userSigs: UserSigCache;
  readonly timeoutMs: number;
  readonly onCall?: (event: CallEvent) => void;
  /**
   * Unexpected answers in a row (HTTP 200, not the documented shape) after which each further one is
   * `repeated`: the run stops instead of going on against a service it does not understand.
   * @default 5
   */
  readonly unexpectedLimit?: number;
}

/** Longest part of an unexpected body quoted in an error message. */
const EXCERPT_CHARS = 160;

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A fresh uint32 from the system CSPRNG, for the `random` query parameter. */
export function randomUint32(): number {
  return getRandomValues(new Uint32Array(1))[0] as number;
}

/**
 * POSTs JSON to one endpoint and returns the parsed body of a successful answer. Success means
 * HTTP 200, `ActionStatus` "OK" and `ErrorCode` 0; anything else rejects with a `SyncError`.
 * On a `resign` answer (70001, 70052, …) the UserSig is re-signed and the call sent once more.
 */
export class Transport {
  readonly #o: TransportOptions;
  /**
   * Per endpoint, unexpected answers since its last well-formed one: an endpoint that always answers
   * garbage stops the run even when calls to another endpoint (reads settling the writes) go well.
   */
  readonly #unexpectedInARow = new Map<Endpoint, number>();

  constructor(options: TransportOptions) {
    this.#o = options;
  }

  async call<T>(
    endpoint: Endpoint,
    body: unknown,
    subject: CallSubject,
    parse: ResponseParser<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    try {
      return await this.#send(endpoint, body, subject, parse, signal);
    } catch (err) {
      const failure = failureOf(err);
      if (failure === undefined || classifyFailure(failure) !== 'resign') throw err;
      this.#o.userSigs.invalidate();
      return this.#send(endpoint, body, subject, parse, signal);
    }
  }

  async #send<T>(
    endpoint: Endpoint,
    body: unknown,
    subject: CallSubject,
    parse: ResponseParser<T>,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    const o = this.#o;
    const userSig = o.userSigs.get();
    const query = new URLSearchParams({
      sdkappid: String(o.sdkAppId),
      identifier: o.admin,
      usersig: userSig,
      random: String(randomUint32()),
      contenttype: 'json',
    });
    const call: CallState = { endpoint, subject, userSig, started: performance.now() };
    const route = o.routes.current;

    let response: Dispatcher.ResponseData;
    const path = `/v4/recentcontact/${endpoint}?${query.toString()}`;
    const sent = expectSend(path);
    try {
      response = await request(route.dispatcher, {
        origin: route.origin,
        path,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        headersTimeout: o.timeoutMs,
        bodyTimeout: o.timeoutMs,
        signal: signal ?? null,
      });
    } catch (err) {
      throw this.#thrown(call, err, signal, route);
    } finally {
      sent();
    }
    o.routes.reached(route);

    const status = response.statusCode;
    if (status !== 200) {
      // Always drain, or the connection stays busy and a small pool stalls.
      await response.body.dump().catch(() => undefined);
      throw this.#fail(call, { kind: 'http', status }, 'http_error', `HTTP ${status}`, {
        httpStatus: status,
      });
    }
    let text: string;
    try {
      text = await response.body.text();
    } catch (err) {
      throw this.#thrown(call, err, signal);
    }
    const malformed = (reason: string) => this.#unexpected(call, reason, text);

    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw malformed('the body is not JSON');
    }
    if (!isRecord(parsed)) throw malformed('the body is not a JSON object');
    const { ActionStatus: action, ErrorCode: code, ErrorInfo: info } = parsed;
    if ((action !== 'OK' && action !== 'FAIL') || typeof code !== 'number' || !Number.isInteger(code)) {
      throw malformed('ActionStatus or ErrorCode missing or invalid');
    }
    if (code !== 0) {
      // A well-formed refusal: the service is the one we know.
      this.#unexpectedInARow.delete(endpoint);
      const serverText = typeof info === 'string' && info.length > 0 ? `: ${info.slice(0, 500)}` : '';
      const detail = `ErrorCode ${code} (${describeErrorCode(code)})${serverText}`;
      throw this.#fail(call, { kind: 'api', errorCode: code }, 'api_error', detail, { httpStatus: 200 });
    }
    if (action !== 'OK') throw malformed('ActionStatus FAIL with ErrorCode 0');
    let result: T;
    try {
      result = parse(parsed);
    } catch (err) {
      if (err instanceof MalformedResponse) throw malformed(err.message);
      throw err;
    }
    this.#unexpectedInARow.delete(endpoint);
    this.#emit(call, 'ok', { httpStatus: 200 });
    return result;
  }

  /**
   * An HTTP 200 answer that is not the documented shape: an `UNEXPECTED_RESPONSE` error quoting the
   * start of the body (secrets masked). From the `unexpectedLimit`-th in a row, `repeated`: fatal.
   */
  #unexpected(call: CallState, reason: string, text: string): SyncError {
    const inARow = (this.#unexpectedInARow.get(call.endpoint) ?? 0) + 1;
    this.#unexpectedInARow.set(call.endpoint, inARow);
    const repeated = inARow >= (this.#o.unexpectedLimit ?? 5);
    const excerpt = excerptOf(text);
    const detail =
      `unexpected response (HTTP 200, not the documented shape): ${reason}; the body ` +
      (excerpt === '' ? 'is empty' : `starts ${JSON.stringify(excerpt)}`) +
      (repeated ? ` (${inARow} unexpected answers in a row from ${call.endpoint}: stopping)` : '');
    return this.#fail(call, { kind: 'unexpected', repeated }, 'unexpected_response', detail, {
      httpStatus: 200,
    });
  }

  /** Turns what undici threw (or a body read that broke off) into a SyncError. */
  #thrown(call: CallState, err: unknown, signal: AbortSignal | undefined, route?: Route): SyncError {
    if (signal?.aborted === true) {
      // A deadline the caller set (AbortSignal.timeout) is a timeout; any other abort stops the run.
      if (isRecord(signal.reason) && signal.reason.name === 'TimeoutError') {
        const detail = "no response before the caller's deadline";
        return this.#fail(call, { kind: 'timeout' }, 'timeout', detail, { cause: signal.reason });
      }
      this.#emit(call, 'network_error', {});
      return new SyncError(
        'INTERRUPTED',
        `${call.endpoint} for ${describeSubject(call.subject)} was aborted`,
        contextOf(call.subject),
      );
    }
    const code = errorCodeOf(err);
    if (code !== undefined && TIMEOUT_CODES.has(code)) {
      if (route !== undefined && isConnectionFailure(code)) this.#o.routes.connectFailed(route, code);
      const detail = `no response within ${this.#o.timeoutMs} ms (${code})`;
      return this.#fail(call, { kind: 'timeout' }, 'timeout', detail, { cause: err });
    }
    if (route !== undefined && code !== undefined && isConnectionFailure(code)) {
      this.#o.routes.connectFailed(route, code);
    }
    const name = code ?? (err instanceof Error ? err.name : 'unknown');
    const detail = `network error (${name}${err instanceof Error ? `: ${err.message}` : ''})`;
    return this.#fail(call, { kind: 'network', cause: name }, 'network_error', detail, { cause: err });
  }

  #fail(
    call: CallState,
    failure: Failure,
    outcome: CallOutcome,
    detail: string,
    extra: { httpStatus?: number; cause?: unknown },
  ): SyncError {
    const errorCode = failure.kind === 'api' ? failure.errorCode : undefined;
    this.#emit(call, outcome, { httpStatus: extra.httpStatus, errorCode });
    const clean = (text: string) => this.#scrub(text, call.userSig);
    return errorForFailure(
      failure,
      clean(`${call.endpoint} failed for ${describeSubject(call.subject)}: ${detail}`),
      contextOf(call.subject),
      extra.cause === undefined ? undefined : { cause: sanitizedCause(extra.cause, clean) },
    );
  }

  #emit(
    call: CallState,
    outcome: CallOutcome,
    extra: { httpStatus?: number | undefined; errorCode?: number | undefined },
  ): void {
    const hook = this.#o.onCall;
    if (hook === undefined) return;
    const event: { -readonly [K in keyof CallEvent]: CallEvent[K] } = {
      endpoint: call.endpoint,
      durationMs: performance.now() - call.started,
      outcome,
    };
    if (extra.httpStatus !== undefined) event.httpStatus = extra.httpStatus;
    if (extra.errorCode !== undefined) event.errorCode = extra.errorCode;
    try {
      hook(event);
    } catch {
      // A metrics hook must never change the outcome of a call.
    }
  }

  /** Removes the key and the UserSig (also URL-encoded) from any text that may reach a message. */
  #scrub(text: string, userSig: string): string {
    let out = text;
    for (const secret of [this.#o.secretKey, userSig, encodeURIComponent(userSig)]) {
      if (secret.length > 0) out = out.split(secret).join('[Redacted]');
    }
    return redactSecrets(out);
  }
}

interface CallState {
  readonly endpoint: Endpoint;
  readonly subject: CallSubject;
  readonly userSig: string;
  readonly started: number;
}

/** The start of a body for an error message: whitespace runs and control characters as one space. */
function excerptOf(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
  const flat = text.replace(/[\s\u0000-\u001f\u007f]+/g, ' ').trim();
  return flat.length > EXCERPT_CHARS ? `${flat.slice(0, EXCERPT_CHARS)}…` : flat;
}

function contextOf(subject: CallSubject): SyncErrorContext {
  return subject.group === undefined ? { user: subject.user } : { user: subject.user, group: subject.group };
}

function describeSubject(subject: CallSubject): string {
  return subject.group === undefined
    ? `user "${subject.user}"`
    : `user "${subject.user}", group "${subject.group}"`;
}

function errorCodeOf(err: unknown): string | undefined {
  return isRecord(err) && typeof err.code === 'string' ? err.code : undefined;
}

/** A copy of an undici error that keeps its name and code and a scrubbed message, nothing else. */
function sanitizedCause(err: unknown, clean: (text: string) => string): Error {
  const copy = new Error(clean(err instanceof Error ? err.message : String(err)));
  copy.name = err instanceof Error ? err.name : 'Error';
  const code = errorCodeOf(err);
  if (code !== undefined) Object.assign(copy, { code });
  return copy;
}
