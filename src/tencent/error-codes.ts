/**
 * Every known Tencent error code for the conversation-group endpoints, and the one function that
 * decides what a failure means. Sources: the official pages of the five endpoints (Tencent Cloud Chat
 * REST API, https://www.tencentcloud.com/document/product/1047) and its public 60000-79999 table; the
 * README's "Error codes" says what cgsync does with each class.
 */

/**
 * - `transient`: retry the call with backoff (internal errors, timeouts, HTTP 5xx, network errors).
 * - `unexpected`: an HTTP 200 answer that is not the documented shape: retried a few times (a read),
 *   or settled by reading the state (a write); never for as long as a transient failure.
 * - `rate_limited`: retry, and slow the whole endpoint down.
 * - `resign`: regenerate the UserSig once, then retry.
 * - `fatal`: configuration or account problem; stop the run before more calls fail the same way.
 * - `permanent`: this call (or this row) cannot succeed as sent; report it, go on with the rest.
 */
export type ErrorClass = 'transient' | 'unexpected' | 'rate_limited' | 'resign' | 'fatal' | 'permanent';

export interface ErrorCodeInfo {
  readonly class: ErrorClass;
  readonly meaning: string;
}

export const ERROR_CODES: ReadonlyMap<number, ErrorCodeInfo> = new Map<number, ErrorCodeInfo>([
  // Endpoint-specific codes (official pages).
  [50001, { class: 'permanent', meaning: 'UserID not imported into Chat' }],
  [50002, { class: 'permanent', meaning: 'incorrect request parameter' }],
  [50003, { class: 'fatal', meaning: 'the request requires app admin permissions' }],
  [50004, { class: 'transient', meaning: 'internal server error' }],
  [50005, { class: 'transient', meaning: 'network timeout' }],
  [51006, { class: 'permanent', meaning: 'more than 100 conversations in one request' }],
  [
    51007,
    {
      class: 'permanent',
      meaning: 'group conversation could not be resolved (internal error or group disbanded)',
    },
  ],
  [51008, { class: 'permanent', meaning: 'more than 1000 grouped conversations for this user' }],
  [51009, { class: 'permanent', meaning: 'conversation group not found' }],
  [51010, { class: 'permanent', meaning: 'more than 20 conversation groups for this user' }],
  [51011, { class: 'permanent', meaning: 'conversation group name too long' }],
  [51012, { class: 'permanent', meaning: 'too many pinned conversations' }],
  [51013, { class: 'fatal', meaning: 'the app edition does not support conversation groups' }],
  // Public REST codes.
  [60002, { class: 'fatal', meaning: 'HTTP parse error: check the request URL' }],
  [60003, { class: 'permanent', meaning: 'request JSON parse error' }],
  [60004, { class: 'resign', meaning: 'account or signature error in the request' }],
  [60005, { class: 'resign', meaning: 'account or signature error in the request' }],
  [60006, { class: 'fatal', meaning: 'SDKAppID invalid' }],
  [60007, { class: 'rate_limited', meaning: 'REST API call frequency exceeds the limit' }],
  [60008, { class: 'transient', meaning: 'service request timeout' }],
  [60009, { class: 'fatal', meaning: 'request resource error: check the URL' }],
  [60010, { class: 'fatal', meaning: 'the identifier is not an app admin' }],
  [60011, { class: 'rate_limited', meaning: 'SDKAppID request frequency exceeds the limit' }],
  [60012, { class: 'fatal', meaning: 'SDKAppID missing from the URL' }],
  [60013, { class: 'transient', meaning: 'HTTP response JSON parse error' }],
  [60014, { class: 'transient', meaning: 'account exchange timeout' }],
  [60015, { class: 'permanent', meaning: 'account type in the body must be a string' }],
  [60016, { class: 'fatal', meaning: 'SDKAppID disabled' }],
  [60017, { class: 'fatal', meaning: 'request disabled' }],
  [60018, { class: 'rate_limited', meaning: 'too many requests' }],
  [60019, { class: 'rate_limited', meaning: 'too many requests' }],
  [60020, { class: 'fatal', meaning: 'Pro package expired or not yet effective' }],
  [60021, { class: 'fatal', meaning: 'source IP not allowed' }],
  [70001, { class: 'resign', meaning: 'UserSig expired' }],
  [70002, { class: 'fatal', meaning: 'UserSig is empty' }],
  [70003, { class: 'fatal', meaning: 'UserSig could not be parsed' }],
  [70005, { class: 'fatal', meaning: 'UserSig check failed' }],
  [70009, { class: 'fatal', meaning: "UserSig signed with another SDKAppID's key" }],
  [70013, { class: 'fatal', meaning: 'identifier does not match the UserSig' }],
  [70014, { class: 'fatal', meaning: 'SDKAppID does not match the UserSig' }],
  [70016, { class: 'fatal', meaning: 'key not found: check the SDKAppID against the region' }],
  [70020, { class: 'fatal', meaning: 'SDKAppID not found: check the SDKAppID against the region' }],
  [
    70050,
    { class: 'fatal', meaning: 'UserSig failures are rate limited: fix the key, retry after a minute' },
  ],
  [70051, { class: 'fatal', meaning: 'account blocklisted' }],
  [70052, { class: 'resign', meaning: 'UserSig invalid' }],
  [70107, { class: 'permanent', meaning: 'user account not imported' }],
  [70114, { class: 'fatal', meaning: 'restricted for security reasons' }],
  [70169, { class: 'transient', meaning: 'server internal timeout' }],
  [70206, { class: 'permanent', meaning: 'invalid batch count' }],
  [70398, { class: 'fatal', meaning: 'account count exceeds the free-edition limit' }],
  [70402, { class: 'permanent', meaning: 'invalid parameter' }],
  [70403, { class: 'fatal', meaning: 'the request requires app admin permissions' }],
  [70500, { class: 'transient', meaning: 'internal server error' }],
]);

/** A failure as the classifier sees it: an API error code, an HTTP status, or a network error. */
export type Failure =
  | { kind: 'api'; errorCode: number }
  | { kind: 'http'; status: number }
  | { kind: 'network'; cause: string }
  | { kind: 'timeout' }
  /**
   * HTTP 200 with a body that is not the documented envelope or shape. `repeated`: the client has
   * seen several such answers in a row (the service, or something in between, is not what we think).
   */
  | { kind: 'unexpected'; repeated: boolean };

/**
 * The one place that decides whether and how a failure is retried.
 * Unknown API codes are permanent for that call and reported with their code.
 */
export function classifyFailure(failure: Failure): ErrorClass {
  switch (failure.kind) {
    case 'api':
      return ERROR_CODES.get(failure.errorCode)?.class ?? 'permanent';
    case 'http':
      if (failure.status === 429) return 'rate_limited';
      if (failure.status >= 500 || failure.status === 408) return 'transient';
      return 'fatal';
    case 'network':
    case 'timeout':
      return 'transient';
    case 'unexpected':
      return failure.repeated ? 'fatal' : 'unexpected';
  }
}

/** A human description of an API error code, for reports. */
export function describeErrorCode(errorCode: number): string {
  return ERROR_CODES.get(errorCode)?.meaning ?? 'unknown error code';
}
