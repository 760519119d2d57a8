import { SyncError } from '../errors.js';
import { isLoopbackHost } from '../tencent/regions.js';
import { ENDPOINTS, type Endpoint } from '../tencent/wire.js';
import { codeRates, got, sumOf } from './option-checks.js';

/** What creating (or renaming to) a group name the user already has does. The docs are silent. */
export type DuplicateNames = 'reject' | 'allow';

/** What adding a conversation already in the group, or removing one that is not, does. The docs are silent. */
export type ExistingMember = 'ok' | 'error';

/**
 * Options of {@link startEmulator}: a plain object (no durations to parse), so the CLI maps its
 * flags onto it one to one. Optional fields also accept `undefined`, meaning "the default".
 */
export interface EmulatorOptions {
  /** The SDKAppID the emulator serves; requests and UserSigs must carry it. */
  sdkAppId: number;
  /** The app's SecretKey, used to verify UserSigs. Never logged, never written to the state file. */
  secretKey: string;
  /** The app admin identifier; any other `identifier` is answered with 60010. @default 'administrator' */
  admin?: string | undefined;
  /** Interface to bind. A non-loopback address also needs `allowNonLoopback`. @default '127.0.0.1' */
  host?: string | undefined;
  /** Port to bind; 0 picks a free port (read it back from `RunningEmulator.port`). @default 0 */
  port?: number | undefined;
  /** Allow binding a non-loopback host (the emulator has no TLS and its `/__emulator/*` routes no auth). @default false */
  allowNonLoopback?: boolean | undefined;
  /** Accepted calls per endpoint in any sliding window of `rateLimitWindowMs`; `Infinity` disables the limit. @default 200 */
  rateLimit?: number | undefined;
  /** Length of the rate-limit window in milliseconds. @default 1000 */
  rateLimitWindowMs?: number | undefined;
  /** Delay before answering, in milliseconds. @default 0 */
  latencyMs?: number | undefined;
  /** The delay is drawn uniformly from `latencyMs ± jitterMs` (never below 0). @default 0 */
  jitterMs?: number | undefined;
  /** Probability that an accepted call is answered 50004 or 50005 without being applied. @default 0 */
  faultRate?: number | undefined;
  /** Probability that an accepted call is answered HTTP 502 without being applied. @default 0 */
  http502Rate?: number | undefined;
  /** Probability that an accepted call is applied and then its socket destroyed without an answer. @default 0 */
  lostRate?: number | undefined;
  /**
   * Probability that an accepted call is applied (a write changes the state) and then answered 50004
   * or HTTP 502, half each: the service did the work and said it failed. @default 0
   */
  appliedFaultRate?: number | undefined;
  /**
   * Probability that an accepted call is answered HTTP 200 with a body that is not the documented
   * shape: an HTML page echoing the request URL, an empty body (both not applied), the real answer
   * cut in half, or with `ErrorCode` as a string (both applied). A quarter each. @default 0
   */
  malformedRate?: number | undefined;
  /**
   * Whole-call faults by ErrorCode: `{ 51007: 0.01 }` answers 1% of accepted calls with ErrorCode
   * 51007, unapplied. Any code, so every code the pages document can be played. @default {}
   */
  faultMix?: Readonly<Record<number, number>> | undefined;
  /**
   * Per-item faults of create and update: each item gets ResultCode 50004 or 50005 with this
   * probability, inside an otherwise successful answer; half of these items were applied anyway. @default 0
   */
  itemFaultRate?: number | undefined;
  /** Per-item faults by ResultCode, `{ 51007: 0.02 }`; such items are not applied. @default {} */
  itemFaultMix?: Readonly<Record<number, number>> | undefined;
  /**
   * Apply the items of a create or update one by one, in the order they were sent, checking the
   * 1000-conversation limit after each: an item that would pass it gets ResultCode 51008 and the
   * others go on. Off: the limit is checked once for the whole call (51008 refuses it all). @default false
   */
  itemsOneByOne?: boolean | undefined;
  /**
   * Every user has this many conversations that carry only a mark (no group): get_contact_group and
   * search_contact_group list them without `ContactGroupId`, and they count toward the
   * 1000-conversation limit. Not part of the state. @default 0
   */
  markedPerUser?: number | undefined;
  /** Refuse a create without `ContactItem` (50002), the older page's reading. @default false */
  contactItemRequired?: boolean | undefined;
  /**
   * Longest `OldGroupName` of an update, in UTF-8 bytes (51011 past it), the update page's 32-byte
   * reading. @default unlimited (64-byte names are created and updated)
   */
  oldGroupNameMaxBytes?: number | undefined;
  /** Seed of the fault PRNG: the same seed and the same sequence of calls give the same faults. @default 1 */
  seed?: number | undefined;
  /** Endpoints that faults (not latency) apply to. @default every endpoint */
  faultEndpoints?: readonly Endpoint[] | undefined;
  /** Conversations per get_contact_group page. @default 100 */
  pageSize?: number | undefined;
  /** @default 'reject' */
  duplicateNames?: DuplicateNames | undefined;
  /** @default 'ok' */
  existingMember?: ExistingMember | undefined;
  /** When given, only these UserIDs are "imported": others get 50001. @default every UserID is imported */
  knownUsers?: ReadonlySet<string> | undefined;
  /** JSON file the state is loaded from at start and saved to (atomically) while running and on close. */
  stateFile?: string | undefined;
  /** How long a change may stay unsaved before the state file is written, in milliseconds. @default 200 */
  persistDebounceMs?: number | undefined;
  /**
   * Serve HTTP (sockets, arrival times, answer delays) on a worker thread, apart from the store (run
   * from the TypeScript sources, the thread runs the built file: see src/threads.ts).
   * @default true
   */
  httpThread?: boolean | undefined;
}

/** {@link EmulatorOptions} after validation, with every default filled in. */
export interface ResolvedEmulatorOptions {
  readonly sdkAppId: number;
  readonly secretKey: string;
  readonly admin: string;
  readonly host: string;
  readonly port: number;
  readonly allowNonLoopback: boolean;
  readonly rateLimit: number;
  readonly rateLimitWindowMs: number;
  readonly latencyMs: number;
  readonly jitterMs: number;
  readonly faultRate: number;
  readonly http502Rate: number;
  readonly lostRate: number;
  readonly appliedFaultRate: number;
  readonly malformedRate: number;
  readonly faultMix: Readonly<Record<number, number>>;
  readonly itemFaultRate: number;
  readonly itemFaultMix: Readonly<Record<number, number>>;
  readonly itemsOneByOne: boolean;
  readonly markedPerUser: number;
  readonly contactItemRequired: boolean;
  readonly oldGroupNameMaxBytes: number | undefined;
  readonly seed: number;
  readonly faultEndpoints: readonly Endpoint[];
  readonly pageSize: number;
  readonly duplicateNames: DuplicateNames;
  readonly existingMember: ExistingMember;
  readonly knownUsers: ReadonlySet<string> | undefined;
  readonly stateFile: string | undefined;
  readonly persistDebounceMs: number;
}

export const EMULATOR_DEFAULTS = {
  admin: 'administrator',
  host: '127.0.0.1',
  port: 0,
  allowNonLoopback: false,
  rateLimit: 200,
  rateLimitWindowMs: 1000,
  latencyMs: 0,
  jitterMs: 0,
  faultRate: 0,
  http502Rate: 0,
  lostRate: 0,
  appliedFaultRate: 0,
  malformedRate: 0,
  itemFaultRate: 0,
  itemsOneByOne: false,
  markedPerUser: 0,
  contactItemRequired: false,
  seed: 1,
  pageSize: 100,
  duplicateNames: 'reject',
  existingMember: 'ok',
  persistDebounceMs: 200,
} as const;

export { isLoopbackHost } from '../tencent/regions.js';

/**
 * Validates every option at once and fills in the defaults. Throws one `SyncError` of code `CONFIG`
 * listing every problem, in the style `Expected \`latencyMs\` to be a number >= 0, got \`-1\` (number)`.
 */
export function resolveEmulatorOptions(options: EmulatorOptions): ResolvedEmulatorOptions {
  const problems: string[] = [];
  const o = options;
  const D = EMULATOR_DEFAULTS;

  const integer = (name: string, value: unknown, min: number, max: number, fallback: number): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      problems.push(`Expected \`${name}\` to be an integer from ${min} to ${max}, ${got(value)}`);
      return fallback;
    }
    return value;
  };
  const nonNegative = (name: string, value: unknown, fallback: number): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      problems.push(`Expected \`${name}\` to be a number >= 0, ${got(value)}`);
      return fallback;
    }
    return value;
  };
  const probability = (name: string, value: unknown): number => {
    if (value === undefined) return 0;
    if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
      problems.push(`Expected \`${name}\` to be a number from 0 to 1, ${got(value)}`);
      return 0;
    }
    return value;
  };
  const oneOf = <T extends string>(name: string, value: unknown, allowed: readonly T[], fallback: T): T => {
    if (value === undefined) return fallback;
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      problems.push(
        `Expected \`${name}\` to be one of ${allowed.map((a) => `'${a}'`).join(', ')}, ${got(value)}`,
      );
      return fallback;
    }
    return value as T;
  };
  const nonEmptyString = (name: string, value: unknown, fallback: string): string => {
    if (value === undefined) return fallback;
    if (typeof value !== 'string' || value.length === 0) {
      problems.push(`Expected \`${name}\` to be a non-empty string, ${got(value)}`);
      return fallback;
    }
    return value;
  };

  const sdkAppId = integer('sdkAppId', o.sdkAppId ?? Number.NaN, 1, 0xffff_ffff, 0);
  // The key itself must never appear in a message.
  if (typeof o.secretKey !== 'string' || o.secretKey.length === 0) {
    problems.push(
      `Expected \`secretKey\` to be a non-empty string, got ${typeof o.secretKey === 'string' ? 'an empty string' : `a value of type ${typeof o.secretKey}`}`,
    );
  }
  const admin = nonEmptyString('admin', o.admin, D.admin);
  const host = nonEmptyString('host', o.host, D.host);
  const allowNonLoopback = o.allowNonLoopback ?? D.allowNonLoopback;
  if (typeof allowNonLoopback !== 'boolean') {
    problems.push(`Expected \`allowNonLoopback\` to be a boolean, ${got(allowNonLoopback)}`);
  } else if (!allowNonLoopback && !isLoopbackHost(host)) {
    problems.push(
      `Expected \`host\` to be a loopback address unless \`allowNonLoopback\` is true, ${got(host)}`,
    );
  }
  const port = integer('port', o.port, 0, 65_535, D.port);

  let rateLimit: number = D.rateLimit;
  if (o.rateLimit !== undefined) {
    if (
      typeof o.rateLimit !== 'number' ||
      !(o.rateLimit === Number.POSITIVE_INFINITY || (Number.isInteger(o.rateLimit) && o.rateLimit >= 1))
    ) {
      problems.push(
        `Expected \`rateLimit\` to be an integer from 1 and up, or Infinity, ${got(o.rateLimit)}`,
      );
    } else {
      rateLimit = o.rateLimit;
    }
  }
  const rateLimitWindowMs = nonNegative('rateLimitWindowMs', o.rateLimitWindowMs, D.rateLimitWindowMs);
  if (rateLimitWindowMs === 0) problems.push(`Expected \`rateLimitWindowMs\` to be a number > 0, ${got(0)}`);
  const latencyMs = nonNegative('latencyMs', o.latencyMs, D.latencyMs);
  const jitterMs = nonNegative('jitterMs', o.jitterMs, D.jitterMs);
  const faultRate = probability('faultRate', o.faultRate);
  const http502Rate = probability('http502Rate', o.http502Rate);
  const lostRate = probability('lostRate', o.lostRate);
  const appliedFaultRate = probability('appliedFaultRate', o.appliedFaultRate);
  const malformedRate = probability('malformedRate', o.malformedRate);
  const faultMix = codeRates('faultMix', o.faultMix, problems);
  const callRates = faultRate + http502Rate + lostRate + appliedFaultRate + malformedRate + sumOf(faultMix);
  if (callRates > 1 + 1e-9) {
    problems.push(
      `Expected the call fault rates (\`faultRate + http502Rate + lostRate + appliedFaultRate + malformedRate\` and \`faultMix\`) to add up to at most 1, got \`${callRates}\` (number)`,
    );
  }
  const itemFaultRate = probability('itemFaultRate', o.itemFaultRate);
  const itemFaultMix = codeRates('itemFaultMix', o.itemFaultMix, problems);
  if (itemFaultRate + sumOf(itemFaultMix) > 1 + 1e-9) {
    problems.push(
      `Expected \`itemFaultRate\` and \`itemFaultMix\` to add up to at most 1, got \`${itemFaultRate + sumOf(itemFaultMix)}\` (number)`,
    );
  }
  const boolean = (name: string, value: unknown, fallback: boolean): boolean => {
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') {
      problems.push(`Expected \`${name}\` to be a boolean, ${got(value)}`);
      return fallback;
    }
    return value;
  };
  const itemsOneByOne = boolean('itemsOneByOne', o.itemsOneByOne, D.itemsOneByOne);
  const contactItemRequired = boolean('contactItemRequired', o.contactItemRequired, D.contactItemRequired);
  const markedPerUser = integer('markedPerUser', o.markedPerUser, 0, 10_000, D.markedPerUser);
  const oldGroupNameMaxBytes =
    o.oldGroupNameMaxBytes === undefined
      ? undefined
      : integer('oldGroupNameMaxBytes', o.oldGroupNameMaxBytes, 1, 1024, 64);
  const seed = integer('seed', o.seed, -0x8000_0000, 0xffff_ffff, D.seed);
  let faultEndpoints: readonly Endpoint[] = ENDPOINTS;
  if (o.faultEndpoints !== undefined) {
    if (
      !Array.isArray(o.faultEndpoints) ||
      !o.faultEndpoints.every((e: unknown) => (ENDPOINTS as readonly unknown[]).includes(e))
    ) {
      problems.push(
        `Expected \`faultEndpoints\` to be an array of ${ENDPOINTS.join(', ')}, ${got(o.faultEndpoints)}`,
      );
    } else {
      faultEndpoints = [...o.faultEndpoints];
    }
  }
  const pageSize = integer('pageSize', o.pageSize, 1, 1_000_000, D.pageSize);
  const duplicateNames = oneOf<DuplicateNames>(
    'duplicateNames',
    o.duplicateNames,
    ['reject', 'allow'],
    D.duplicateNames,
  );
  const existingMember = oneOf<ExistingMember>(
    'existingMember',
    o.existingMember,
    ['ok', 'error'],
    D.existingMember,
  );
  if (o.knownUsers !== undefined && !(o.knownUsers instanceof Set)) {
    problems.push(`Expected \`knownUsers\` to be a Set of UserIDs, ${got(o.knownUsers)}`);
  }
  const stateFile = o.stateFile === undefined ? undefined : nonEmptyString('stateFile', o.stateFile, '');
  const persistDebounceMs = nonNegative('persistDebounceMs', o.persistDebounceMs, D.persistDebounceMs);

  if (problems.length > 0) {
    throw new SyncError('CONFIG', `Invalid emulator options: ${problems.join('; ')}`);
  }
  return {
    sdkAppId,
    secretKey: o.secretKey,
    admin,
    host,
    port,
    allowNonLoopback: allowNonLoopback === true,
    rateLimit,
    rateLimitWindowMs,
    latencyMs,
    jitterMs,
    faultRate,
    http502Rate,
    lostRate,
    appliedFaultRate,
    malformedRate,
    faultMix,
    itemFaultRate,
    itemFaultMix,
    itemsOneByOne,
    markedPerUser,
    contactItemRequired,
    oldGroupNameMaxBytes,
    seed,
    faultEndpoints,
    pageSize,
    duplicateNames,
    existingMember,
    knownUsers: o.knownUsers,
    stateFile,
    persistDebounceMs,
  };
}

/** Parses a known-users file: one UserID per line; blank lines and lines starting with `#` are skipped. */
export function parseKnownUsers(text: string): Set<string> {
  const users = new Set<string>();
  for (const raw of text.replace(/^\uFEFF/, '').split(/\r?\n/)) {
    const line = raw.trim();
    if (line.length > 0 && !line.startsWith('#')) users.add(line);
  }
  return users;
}
