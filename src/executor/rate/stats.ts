import { ENDPOINTS, type Endpoint } from '../../tencent/wire.js';

/** What happened on one endpoint during a run. */
export interface EndpointCounts {
  /** Calls actually started (every attempt, including retries and reconciliation reads). */
  calls: number;
  /** Attempts that were repeats of a failed attempt. */
  retries: number;
  /** Rate-limit answers (60007, 60011, 60018, 60019, HTTP 429). */
  rateLimited: number;
  /** Attempts that failed for any reason. */
  failures: number;
}

/** Mutable per-endpoint counters, shared by the limiters (calls) and the retry loop (the rest). */
export class CallStats {
  readonly #counts = new Map<Endpoint, EndpointCounts>();

  constructor() {
    for (const endpoint of ENDPOINTS)
      this.#counts.set(endpoint, { calls: 0, retries: 0, rateLimited: 0, failures: 0 });
  }

  /** The live counters of one endpoint (mutate them in place). */
  of(endpoint: Endpoint): EndpointCounts {
    return this.#counts.get(endpoint) as EndpointCounts;
  }

  /** A copy of every endpoint's counters. */
  snapshot(): Record<Endpoint, EndpointCounts> {
    const out = {} as Record<Endpoint, EndpointCounts>;
    for (const [endpoint, counts] of this.#counts) out[endpoint] = { ...counts };
    return out;
  }

  /** Calls started per endpoint. */
  callsByEndpoint(): Record<Endpoint, number> {
    const out = {} as Record<Endpoint, number>;
    for (const [endpoint, counts] of this.#counts) out[endpoint] = counts.calls;
    return out;
  }

  /** Calls started on all endpoints together. */
  totalCalls(): number {
    let total = 0;
    for (const counts of this.#counts.values()) total += counts.calls;
    return total;
  }

  /** Failed attempts on all endpoints together. */
  totalFailures(): number {
    let total = 0;
    for (const counts of this.#counts.values()) total += counts.failures;
    return total;
  }
}
