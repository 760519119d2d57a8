import { verifyUserSig } from '../tencent/usersig.js';
import { ENDPOINTS, type Endpoint } from '../tencent/wire.js';
import { FaultInjector, type FaultKind, type MalformedVariant, malformedApplies } from './faults.js';
import {
  type EmulatorRequest,
  type HttpServing,
  monotonicMs,
  type Reply,
  serveHttp,
  serveOnThread,
} from './http-front.js';
import { type EmulatorOptions, type ResolvedEmulatorOptions, resolveEmulatorOptions } from './options.js';
import { readStateFile, StateFileWriter } from './persistence.js';
import { SlidingWindowLimiter } from './rate-limit.js';
import { ContactGroupStore } from './store.js';

/** Counters of one endpoint. Not part of the Tencent API. */
export interface EndpointStats {
  /** Calls that passed URL, auth and the rate limiter (whatever they were answered). */
  readonly accepted: number;
  /** Calls answered 60007. */
  readonly rateLimited: number;
  /** Accepted calls hit by each injected fault. */
  readonly faults: Readonly<Record<FaultKind, number>>;
  /** The most accepted calls in any sliding window of `rateLimitWindowMs`, computed exactly. */
  readonly maxInWindow: number;
}

export interface EmulatorStats {
  readonly endpoints: Readonly<Record<Endpoint, EndpointStats>>;
}

export interface RunningEmulator {
  /** Base URL, e.g. `http://127.0.0.1:45678`: a client's endpoint. */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  /** The live store, for in-process tests (seed with `store.load`, read with `store.state()`). */
  readonly store: ContactGroupStore;
  stats(): EmulatorStats;
  /** Forgets all state and counters and restarts the fault sequence from the seed. */
  reset(): void;
  /** Stops listening, drops keep-alive connections and pending answers, saves the state file. */
  close(): Promise<void>;
}

const UINT32 = /^\d{1,10}$/;

const JSON_TYPE = 'application/json; charset=utf-8';
const BAD_GATEWAY = '<html><body>502 Bad Gateway</body></html>';

type Answer = { errorCode: number; info: string };

function json(status: number, value: unknown): Reply {
  return { kind: 'http', status, type: JSON_TYPE, text: JSON.stringify(value), delayMs: 0 };
}

function apiError(errorCode: number, info: string, delayMs: number): Reply {
  const text = JSON.stringify({ ActionStatus: 'FAIL', ErrorCode: errorCode, ErrorInfo: info });
  return { kind: 'http', status: 200, type: JSON_TYPE, text, delayMs };
}

/**
 * Starts a local Tencent Cloud Chat server for the five conversation-group endpoints on node:http.
 * Every business error is HTTP 200 with the envelope, as the real service does. Checks, in order:
 * POST (60002) → `/v4/recentcontact/{known command}` (60009) → sdkappid present (60012), numeric
 * (60002), the configured one (60006) → identifier present, random a uint32, contenttype=json
 * (60002) → usersig present (70002) and valid (70003/70014/70013/70001/70009) → identifier is the
 * admin (60010) → rate limiter (60007) → fault draw → JSON body (60003) → the store.
 * Only calls that reach the limiter count; only accepted calls draw faults.
 *
 * A call counts in the rate-limit window from when its headers arrived, and is answered its latency
 * after that. The HTTP side runs on its own thread (`httpThread`, src/emulator/http-front.ts): a
 * garbage collection of the store (millions of memberships: pauses of 20–30 ms) then holds up
 * answers but does not bunch the arrival times of the calls that came in meanwhile, so the limiter
 * sees the calls as they were sent.
 */
export async function startEmulator(options: EmulatorOptions): Promise<RunningEmulator> {
  const o = resolveEmulatorOptions(options);
  const faults = new FaultInjector(o);
  // Item faults are drawn only for the items of a call whose endpoint faults apply to.
  let itemFaults = false;
  const store = new ContactGroupStore({
    duplicateNames: o.duplicateNames,
    existingMember: o.existingMember,
    knownUsers: o.knownUsers,
    pageSize: o.pageSize,
    nowSeconds: () => Math.floor(Date.now() / 1000),
    itemsOneByOne: o.itemsOneByOne,
    markedPerUser: o.markedPerUser,
    contactItemRequired: o.contactItemRequired,
    oldGroupNameMaxBytes: o.oldGroupNameMaxBytes,
    itemFault: () => (itemFaults ? faults.decideItem() : undefined),
  });
  let writer: StateFileWriter | undefined;
  if (o.stateFile !== undefined) {
    const data = await readStateFile(o.stateFile);
    if (data !== undefined) store.load(data);
    writer = new StateFileWriter(o.stateFile, () => store.snapshot(), o.persistDebounceMs);
  }
  let savedRevision = store.revision;
  const noteChanges = (): void => {
    if (store.revision === savedRevision) return;
    savedRevision = store.revision;
    writer?.markDirty();
  };

  const limiters = new Map<Endpoint, SlidingWindowLimiter>();
  const faultCounts = new Map<Endpoint, Record<FaultKind, number>>();
  const resetCounters = (): void => {
    for (const e of ENDPOINTS) {
      limiters.set(
        e,
        new SlidingWindowLimiter({
          limit: o.rateLimit,
          windowMs: o.rateLimitWindowMs,
          now: monotonicMs,
        }),
      );
      faultCounts.set(e, { transient: 0, http502: 0, lost: 0, applied: 0, malformed: 0, mix: 0 });
    }
  };
  resetCounters();
  const faultEndpoints = new Set(o.faultEndpoints);

  const stats = (): EmulatorStats => {
    const endpoints = {} as Record<Endpoint, EndpointStats>;
    for (const e of ENDPOINTS) {
      const l = limiters.get(e) as SlidingWindowLimiter;
      endpoints[e] = {
        accepted: l.accepted,
        rateLimited: l.rejected,
        faults: { ...(faultCounts.get(e) as Record<FaultKind, number>) },
        maxInWindow: l.maxInWindow,
      };
    }
    return { endpoints };
  };
  const reset = (): void => {
    store.reset();
    resetCounters();
    faults.reset();
    noteChanges();
  };

  const answerApi = (
    method: string | undefined,
    url: URL,
    body: Uint8Array | undefined,
    arrivedAt: number,
  ): Reply => {
    // Calls refused before the rate limiter draw nothing from the fault sequence: they get the base latency.
    if (method !== 'POST') return apiError(60002, `HTTP method must be POST, got ${method}`, o.latencyMs);
    const match = /^\/v4\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    const command = match?.[2] ?? '';
    if (match?.[1] !== 'recentcontact' || !(ENDPOINTS as readonly string[]).includes(command)) {
      return apiError(60009, `unknown API ${url.pathname}`, o.latencyMs);
    }
    const endpoint = command as Endpoint;
    const refused = checkQuery(url.searchParams, o);
    if (refused !== undefined) return apiError(refused.errorCode, refused.info, o.latencyMs);
    if (!(limiters.get(endpoint) as SlidingWindowLimiter).tryAcquire(arrivedAt)) {
      return apiError(60007, 'REST API call frequency exceeds the limit', o.latencyMs);
    }
    const faultsApply = faultEndpoints.has(endpoint);
    const decision = faults.decide(faultsApply);
    const { delayMs } = decision;
    if (decision.kind !== 'none') (faultCounts.get(endpoint) as Record<FaultKind, number>)[decision.kind]++;
    if (decision.kind === 'http502')
      return { kind: 'http', status: 502, type: 'text/html', text: BAD_GATEWAY, delayMs };
    if (decision.kind === 'transient') {
      const info = decision.errorCode === 50004 ? 'internal server error' : 'network timeout';
      return apiError(decision.errorCode, info, delayMs);
    }
    if (decision.kind === 'mix') return apiError(decision.errorCode, 'emulated fault (fault mix)', delayMs);
    if (decision.kind === 'malformed' && !malformedApplies(decision.variant)) {
      return malformedReply(decision.variant, '', url, delayMs);
    }
    let parsed: unknown;
    try {
      if (body === undefined) throw new Error('body too large');
      parsed = JSON.parse(utf8(body));
    } catch {
      return apiError(60003, 'request body is not valid JSON', delayMs);
    }
    itemFaults = faultsApply;
    let text: string;
    try {
      text = JSON.stringify(store.handle(endpoint, parsed));
    } finally {
      itemFaults = false;
    }
    noteChanges();
    // A lost answer: the change is applied, then the connection dies without a response.
    if (decision.kind === 'lost') return { kind: 'drop', delayMs };
    // Applied, then answered as if it failed.
    if (decision.kind === 'applied') {
      return decision.answer === 'http502'
        ? { kind: 'http', status: 502, type: 'text/html', text: BAD_GATEWAY, delayMs }
        : apiError(50004, 'internal server error', delayMs);
    }
    if (decision.kind === 'malformed') return malformedReply(decision.variant, text, url, delayMs);
    return { kind: 'http', status: 200, type: JSON_TYPE, text, delayMs };
  };

  const answerAdmin = (method: string | undefined, path: string, body: Uint8Array | undefined): Reply => {
    const route = `${method} ${path}`;
    if (route === 'GET /__emulator/stats') return json(200, stats());
    if (route === 'GET /__emulator/state') return json(200, store.state());
    if (route === 'POST /__emulator/reset') {
      reset();
      return json(200, { ok: true });
    }
    if (route === 'PUT /__emulator/state') {
      try {
        store.load(JSON.parse(body === undefined ? '' : utf8(body)));
      } catch (error) {
        return json(400, { ok: false, error: error instanceof Error ? error.message : String(error) });
      }
      noteChanges();
      return json(200, { ok: true });
    }
    return json(404, { ok: false, error: `no route ${route}` });
  };

  const answer = (request: EmulatorRequest): Reply => {
    const url = new URL(request.url, 'http://emulator.invalid');
    if (url.pathname.startsWith('/__emulator/'))
      return answerAdmin(request.method, url.pathname, request.body);
    if (url.pathname.startsWith('/v4/'))
      return answerApi(request.method, url, request.body, request.arrivedAt);
    return { kind: 'http', status: 404, type: 'text/plain', text: 'not found', delayMs: 0 };
  };

  const http: HttpServing = await (options.httpThread === false ? serveHttp : serveOnThread)(
    o.host,
    o.port,
    answer,
  );
  const port = http.port;
  const urlHost = o.host.includes(':') ? `[${o.host}]` : o.host;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await http.close();
      noteChanges();
      await writer?.flush();
    })();
    return closing;
  };

  return { url: `http://${urlHost}:${port}`, port, host: o.host, store, stats, reset, close };
}

/**
 * An HTTP 200 answer that is not the documented shape. The HTML page echoes the request target,
 * query string included, as some proxies do: a client must mask the UserSig in what it quotes.
 */
function malformedReply(variant: MalformedVariant, text: string, url: URL, delayMs: number): Reply {
  switch (variant) {
    case 'html':
      return {
        kind: 'http',
        status: 200,
        type: 'text/html',
        text: `<html><head><title>Service Unavailable</title></head><body><h1>Service Unavailable</h1><p>${url.pathname}${url.search}</p></body></html>`,
        delayMs,
      };
    case 'empty':
      return { kind: 'http', status: 200, type: JSON_TYPE, text: '', delayMs };
    case 'truncated':
      return {
        kind: 'http',
        status: 200,
        type: JSON_TYPE,
        text: text.slice(0, Math.floor(text.length / 2)),
        delayMs,
      };
    case 'string-code':
      return {
        kind: 'http',
        status: 200,
        type: JSON_TYPE,
        text: text.replace('"ErrorCode":0', '"ErrorCode":"0"'),
        delayMs,
      };
  }
}

function checkQuery(q: URLSearchParams, o: ResolvedEmulatorOptions): Answer | undefined {
  const sdkappid = q.get('sdkappid');
  if (sdkappid === null || sdkappid === '')
    return { errorCode: 60012, info: 'sdkappid is missing from the URL' };
  if (!UINT32.test(sdkappid)) return { errorCode: 60002, info: 'sdkappid must be an unsigned integer' };
  if (Number(sdkappid) !== o.sdkAppId) {
    return { errorCode: 60006, info: `SDKAppID ${sdkappid} is invalid (this emulator serves ${o.sdkAppId})` };
  }
  const identifier = q.get('identifier');
  if (identifier === null || identifier === '')
    return { errorCode: 60002, info: 'identifier is missing from the URL' };
  const random = q.get('random');
  if (random === null || !UINT32.test(random) || Number(random) > 0xffff_ffff) {
    return { errorCode: 60002, info: 'random must be a 32-bit unsigned integer' };
  }
  if (q.get('contenttype') !== 'json') return { errorCode: 60002, info: 'contenttype must be json' };
  const usersig = q.get('usersig');
  if (usersig === null || usersig === '') return { errorCode: 70002, info: 'usersig is empty' };
  const verdict = verifyUserSig(usersig, { sdkAppId: o.sdkAppId, secretKey: o.secretKey, identifier });
  if (!verdict.ok) return { errorCode: verdict.errorCode, info: verdict.reason };
  if (identifier !== o.admin)
    return { errorCode: 60010, info: `identifier ${identifier} is not an app admin` };
  return undefined;
}

function utf8(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}
