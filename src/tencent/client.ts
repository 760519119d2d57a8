import type { Dispatcher } from 'undici';
import { SyncError } from '../errors.js';
import type { Conversation } from '../model.js';
import type { ChatApi, GroupsPage, GroupWriteResult, MemberChanges, SearchResult } from './api.js';
import { type CallEvent, type CallSubject, type ResponseParser, Transport } from './http.js';
import { resolveBaseUrl } from './regions.js';
import { type Route, type RouteSwitchEvent, Routes } from './routes.js';
import { Pool } from './undici-lite.js';
import { UserSigCache } from './usersig.js';
import type {
  CreateContactGroupRequest,
  DelContactGroupRequest,
  Endpoint,
  GetContactGroupRequest,
  SearchContactGroupRequest,
  UpdateContactGroupRequest,
} from './wire.js';
import {
  parseDeletedGroup,
  parseGroupResult,
  parseGroupsPage,
  parseSearchResult,
  parseUpdateResult,
  toWireItem,
} from './wire-parse.js';

export { type CallEvent, type CallOutcome, errorForFailure, failureOf } from './http.js';
export type { RouteSwitchEvent } from './routes.js';

/** Options of {@link TencentClient}. Validated when the client is constructed. */
export interface TencentClientOptions {
  /** The app's SDKAppID. */
  sdkAppId: number;
  /** The app's SecretKey; used only to sign UserSigs, never sent or logged. */
  secretKey: string;
  /** The app admin account the calls are made as. @default 'administrator' */
  admin?: string;
  /** One of the eight regions (regions.ts). Give `region` or `endpoint`, not both. @default 'singapore' */
  region?: string;
  /** Use the region's documented backup domain from the start (no switching then). @default false */
  backup?: boolean;
  /** A base URL instead of a region, e.g. the emulator's; plain http only to loopback. */
  endpoint?: string;
  /**
   * With `endpoint`: a base URL to switch to when the endpoint keeps failing to connect (the
   * region's backup domain plays this part for a region).
   */
  backupEndpoint?: string;
  /**
   * Connection failures in a row (refused, unresolved, unreachable, connect timeout, untrusted
   * certificate) on the main domain after which calls go to the backup domain for good; 0 never
   * switches. HTTP answers reset the count.
   * @default 3
   */
  switchToBackupAfter?: number;
  /** Told when calls switch to the backup domain (for the log). */
  onBackupSwitch?: (event: RouteSwitchEvent) => void;
  /**
   * Unexpected answers in a row (HTTP 200 whose body is not the documented shape) after which the
   * next ones are fatal (`UNEXPECTED_RESPONSE`, class `fatal`): the run stops with an excerpt.
   * @default 5
   */
  unexpectedLimit?: number;
  /** Most connections kept open to the service (keep-alive). @default 64 */
  connections?: number;
  /**
   * Headers and body timeout of one call, in ms. Must exceed the service's own 3 s timeout.
   * @default 10000
   */
  timeoutMs?: number;
  /** Validity of the admin UserSig, in seconds (renewed before it expires). @default 86400 */
  userSigExpireSeconds?: number;
  /** An undici dispatcher to send through instead of the client's own Pool; `close()` leaves it open. */
  dispatcher?: Dispatcher;
  /** Called after every HTTP call (a re-signed retry is a second call), for metrics. */
  onCall?: (event: CallEvent) => void;
  /** Current Unix time in seconds, for UserSig signing. @default the system clock */
  nowSeconds?: () => number;
}

const SERVER_TIMEOUT_MS = 3000;

/**
 * `ChatApi` over HTTP: one keep-alive undici Pool, a cached admin UserSig, and strict success
 * criteria (HTTP 200, ActionStatus OK, ErrorCode 0). It does not retry, except once after a
 * UserSig refusal; retrying is the executor's job (`failureOf` + `classifyFailure`).
 */
export class TencentClient implements ChatApi {
  readonly #transport: Transport;
  readonly #routes: Routes;
  readonly #pools: Pool[] = [];
  #closed = false;

  constructor(options: TencentClientOptions) {
    const { main, backup } = validateOptions(options);
    const { sdkAppId, secretKey, admin = 'administrator', timeoutMs = 10_000, dispatcher, onCall } = options;
    const routeTo = (origin: URL): Route => {
      if (dispatcher !== undefined) return { origin, dispatcher };
      const pool = new Pool(origin, {
        connections: options.connections ?? 64,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        connectTimeout: timeoutMs,
      });
      this.#pools.push(pool);
      return { origin, dispatcher: pool };
    };
    this.#routes = new Routes(routeTo(main), {
      ...(backup === undefined ? {} : { backup: () => routeTo(backup) }),
      threshold: options.switchToBackupAfter ?? 3,
      onSwitch: options.onBackupSwitch,
    });
    const userSigs = new UserSigCache(
      { sdkAppId, secretKey, identifier: admin, expireSeconds: options.userSigExpireSeconds ?? 86_400 },
      options.nowSeconds,
    );
    this.#transport = new Transport({
      routes: this.#routes,
      sdkAppId,
      admin,
      secretKey,
      userSigs,
      timeoutMs,
      ...(onCall === undefined ? {} : { onCall }),
      ...(options.unexpectedLimit === undefined ? {} : { unexpectedLimit: options.unexpectedLimit }),
    });
  }

  /** The base URL calls go to now (origin only): the backup one after a switch. */
  get baseUrl(): URL {
    return this.#routes.current.origin;
  }

  /** Whether calls may still switch to a backup domain (one is known and no switch happened). */
  get canSwitchToBackup(): boolean {
    return this.#routes.canSwitch;
  }

  createGroup(
    user: string,
    group: string,
    conversations: readonly Conversation[],
    signal?: AbortSignal,
  ): Promise<GroupWriteResult> {
    // ContactItem is optional on the newer page and required on the older one: `[]` for an empty
    // group satisfies both readings.
    const item: CreateContactGroupRequest['GroupContactItem'][0] = {
      GroupName: group,
      ContactItem: conversations.map(toWireItem),
    };
    const body: CreateContactGroupRequest = { From_Account: user, GroupContactItem: [item] };
    return this.#call('create_contact_group', body, { user, group }, parseGroupResult, signal);
  }

  updateGroupMembers(
    user: string,
    group: string,
    changes: MemberChanges,
    signal?: AbortSignal,
  ): Promise<GroupWriteResult> {
    const body: UpdateContactGroupRequest = {
      From_Account: user,
      UpdateType: 1,
      UpdateGroup: {
        UpdateGroupType: 2,
        OldGroupName: group,
        // Removals first: a service that applies items one by one never passes the
        // 1000-conversation limit in the middle of a call that swaps conversations.
        ContactUpdateItem: [
          ...changes.remove.map((c) => ({ ContactOptType: 2 as const, ContactItem: toWireItem(c) })),
          ...changes.add.map((c) => ({ ContactOptType: 1 as const, ContactItem: toWireItem(c) })),
        ],
      },
    };
    return this.#call('update_contact_group', body, { user, group }, parseUpdateResult, signal);
  }

  async renameGroup(
    user: string,
    oldName: string,
    newName: string,
    signal?: AbortSignal,
  ): Promise<{ groupId: number }> {
    const body: UpdateContactGroupRequest = {
      From_Account: user,
      UpdateType: 1,
      UpdateGroup: { UpdateGroupType: 1, OldGroupName: oldName, NewGroupName: newName },
    };
    const result = await this.#call(
      'update_contact_group',
      body,
      { user, group: oldName },
      parseUpdateResult,
      signal,
    );
    return { groupId: result.groupId };
  }

  deleteGroup(user: string, group: string, signal?: AbortSignal): Promise<{ groupId: number }> {
    const body: DelContactGroupRequest = { From_Account: user, GroupName: [group] };
    return this.#call('del_contact_group', body, { user, group }, (b) => parseDeletedGroup(b, group), signal);
  }

  getGroupsPage(user: string, startIndex: number, signal?: AbortSignal): Promise<GroupsPage> {
    const body: GetContactGroupRequest = { From_Account: user, StartIndex: startIndex };
    return this.#call('get_contact_group', body, { user }, parseGroupsPage, signal);
  }

  searchGroups(
    user: string,
    conversations: readonly Conversation[],
    signal?: AbortSignal,
  ): Promise<SearchResult> {
    const body: SearchContactGroupRequest = {
      From_Account: user,
      ContactItem: conversations.map(toWireItem),
    };
    return this.#call('search_contact_group', body, { user }, parseSearchResult, signal);
  }

  /** Closes the client's own Pools (waiting for calls in flight). An injected dispatcher stays open. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.#pools.map((p) => p.close()));
  }

  #call<T>(
    endpoint: Endpoint,
    body: unknown,
    subject: CallSubject,
    parse: ResponseParser<T>,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    if (this.#closed) {
      return Promise.reject(
        new SyncError('USAGE', `${endpoint} called after the client was closed`, { user: subject.user }),
      );
    }
    return this.#transport.call(endpoint, body, subject, parse, signal);
  }
}

/**
 * Validates the options eagerly and resolves the base URL; every problem found is reported in one
 * `CONFIG` error.
 */
function validateOptions(options: TencentClientOptions): { main: URL; backup: URL | undefined } {
  const problems: string[] = [];
  const expect = (name: string, wanted: string, value: unknown) =>
    problems.push(`Expected \`${name}\` to be ${wanted}, got \`${String(value)}\` (${typeof value})`);
  const isInt = (v: unknown, min: number) => typeof v === 'number' && Number.isInteger(v) && v >= min;

  if (!isInt(options.sdkAppId, 1)) expect('sdkAppId', 'an integer from 1 and up', options.sdkAppId);
  if (typeof options.secretKey !== 'string' || options.secretKey.length === 0) {
    // Never echo the key, even a malformed one.
    problems.push(`Expected \`secretKey\` to be a non-empty string, got a ${typeof options.secretKey}`);
  }
  if (options.admin !== undefined && (typeof options.admin !== 'string' || options.admin.length === 0)) {
    expect('admin', 'a non-empty string', options.admin);
  }
  if (options.region !== undefined && options.endpoint !== undefined) {
    problems.push('Expected either `region` or `endpoint`, got both');
  }
  if (options.connections !== undefined && !isInt(options.connections, 1)) {
    expect('connections', 'an integer from 1 and up', options.connections);
  }
  const t = options.timeoutMs;
  if (t !== undefined && !(typeof t === 'number' && Number.isFinite(t) && t > SERVER_TIMEOUT_MS)) {
    expect('timeoutMs', `a number of ms above the service's own ${SERVER_TIMEOUT_MS} ms timeout`, t);
  }
  if (options.userSigExpireSeconds !== undefined && !isInt(options.userSigExpireSeconds, 60)) {
    expect('userSigExpireSeconds', 'an integer from 60 and up', options.userSigExpireSeconds);
  }
  if (options.onCall !== undefined && typeof options.onCall !== 'function') {
    expect('onCall', 'a function', options.onCall);
  }
  if (options.onBackupSwitch !== undefined && typeof options.onBackupSwitch !== 'function') {
    expect('onBackupSwitch', 'a function', options.onBackupSwitch);
  }
  if (options.switchToBackupAfter !== undefined && !isInt(options.switchToBackupAfter, 0)) {
    expect('switchToBackupAfter', 'an integer from 0 and up', options.switchToBackupAfter);
  }
  if (options.unexpectedLimit !== undefined && !isInt(options.unexpectedLimit, 1)) {
    expect('unexpectedLimit', 'an integer from 1 and up', options.unexpectedLimit);
  }
  if (options.backupEndpoint !== undefined && options.endpoint === undefined) {
    problems.push('Expected `backupEndpoint` only with `endpoint` (a region has its own backup domain)');
  }
  const resolve = (target: Parameters<typeof resolveBaseUrl>[0]): URL | undefined => {
    try {
      return resolveBaseUrl(target);
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
      return undefined;
    }
  };
  let main: URL | undefined;
  let backup: URL | undefined;
  if (options.endpoint === undefined) {
    const region = options.region ?? 'singapore';
    main = resolve({ region, backup: options.backup === true });
    // Already on the backup domain: nowhere else to go.
    if (options.backup !== true && main !== undefined) backup = resolve({ region, backup: true });
  } else {
    main = resolve({ endpoint: options.endpoint });
    if (options.backupEndpoint !== undefined) backup = resolve({ endpoint: options.backupEndpoint });
  }
  if (problems.length > 0 || main === undefined) {
    throw new SyncError('CONFIG', `Invalid client options: ${problems.join('; ')}`);
  }
  return { main, backup };
}
