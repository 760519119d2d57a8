import type { Dispatcher } from 'undici';

/** Where calls go: a base URL and the dispatcher that reaches it. */
export interface Route {
  readonly origin: URL;
  readonly dispatcher: Dispatcher;
}

/** A switch to the backup route, for the log. Holds no secret. */
export interface RouteSwitchEvent {
  /** The origin given up, e.g. `https://adminapisgp.im.qcloud.com`. */
  readonly from: string;
  /** The origin used from now on. */
  readonly to: string;
  /** Connection failures in a row that led to the switch. */
  readonly failures: number;
  /** The last failure's code, e.g. `ECONNREFUSED`. */
  readonly cause: string;
}

/** Errors that mean the service was not reached at all (no answer, nothing sent or nothing trusted). */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'UND_ERR_CONNECT_TIMEOUT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
]);

/**
 * Whether a network error code is a connection-level failure: the host could not be resolved,
 * reached or trusted (a hijacked DNS answer, the reason the pages give for the backup domains).
 * HTTP answers, resets and timeouts after connecting are not.
 */
export function isConnectionFailure(code: string): boolean {
  return (
    CONNECTION_CODES.has(code) ||
    code.startsWith('ERR_TLS_') ||
    code.startsWith('ERR_SSL_') ||
    code.startsWith('CERT_')
  );
}

/**
 * The main route and, when there is one, the backup route (the region's documented backup domain,
 * or a given backup endpoint). After `threshold` connection failures in a row on the main route the
 * calls switch to the backup, for good, and `onSwitch` is told. Anything that reaches the service
 * (any HTTP answer) resets the count.
 */
export class Routes {
  #current: Route;
  readonly #backup: (() => Route) | undefined;
  readonly #threshold: number;
  readonly #onSwitch: ((event: RouteSwitchEvent) => void) | undefined;
  #failures = 0;
  #switched = false;

  constructor(
    main: Route,
    options: {
      backup?: (() => Route) | undefined;
      threshold: number;
      onSwitch?: ((event: RouteSwitchEvent) => void) | undefined;
    },
  ) {
    this.#current = main;
    this.#backup = options.backup;
    this.#threshold = options.threshold;
    this.#onSwitch = options.onSwitch;
  }

  get current(): Route {
    return this.#current;
  }

  /** True once the calls go to the backup route. */
  get switched(): boolean {
    return this.#switched;
  }

  /** Whether a switch is still possible. */
  get canSwitch(): boolean {
    return !this.#switched && this.#backup !== undefined && this.#threshold > 0;
  }

  /** A call on `route` failed to connect with `code`. */
  connectFailed(route: Route, code: string): void {
    if (route !== this.#current || !this.canSwitch) return;
    this.#failures++;
    if (this.#failures < this.#threshold) return;
    const from = this.#current.origin.origin;
    this.#current = (this.#backup as () => Route)();
    this.#switched = true;
    const event = { from, to: this.#current.origin.origin, failures: this.#failures, cause: code };
    try {
      this.#onSwitch?.(event);
    } catch {
      // A log hook never changes where calls go.
    }
  }

  /** A call on `route` got an HTTP answer. */
  reached(route: Route): void {
    if (route === this.#current) this.#failures = 0;
  }
}
