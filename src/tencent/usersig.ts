import { createHmac, timingSafeEqual } from 'node:crypto';
import { deflateSync, inflateSync } from 'node:zlib';
import { SyncError } from '../errors.js';

/**
 * TLS sig v2 (UserSig), as Tencent's official tls-sig-api-v2 libraries compute it:
 * HMAC-SHA256 over four `\n`-terminated lines, a JSON document, zlib, base64 with `+/=` → `*-_`.
 */

/** The decoded JSON document inside a UserSig. */
export interface UserSigDocument {
  'TLS.ver': string;
  'TLS.identifier': string;
  'TLS.sdkappid': number;
  'TLS.time': number;
  'TLS.expire': number;
  'TLS.sig': string;
}

export interface SignOptions {
  sdkAppId: number;
  secretKey: string;
  identifier: string;
  /** Validity in seconds from `now`. @default 86400 */
  expireSeconds?: number;
  /** Unix time in seconds. @default the current time */
  now?: number;
}

function hmacBase64(
  secretKey: string,
  identifier: string,
  sdkAppId: number,
  time: number,
  expire: number,
): string {
  const content =
    `TLS.identifier:${identifier}\n` +
    `TLS.sdkappid:${sdkAppId}\n` +
    `TLS.time:${time}\n` +
    `TLS.expire:${expire}\n`;
  return createHmac('sha256', secretKey).update(content).digest('base64');
}

export function signUserSig(options: SignOptions): string {
  const time = options.now ?? Math.floor(Date.now() / 1000);
  const expire = options.expireSeconds ?? 86_400;
  const doc: UserSigDocument = {
    'TLS.ver': '2.0',
    'TLS.identifier': options.identifier,
    'TLS.sdkappid': options.sdkAppId,
    'TLS.time': time,
    'TLS.expire': expire,
    'TLS.sig': hmacBase64(options.secretKey, options.identifier, options.sdkAppId, time, expire),
  };
  const compressed = deflateSync(Buffer.from(JSON.stringify(doc)));
  return compressed.toString('base64').replace(/\+/g, '*').replace(/\//g, '-').replace(/=/g, '_');
}

/** Decodes a UserSig without checking it. Throws `AUTH` when it is not a well-formed UserSig. */
export function decodeUserSig(userSig: string): UserSigDocument {
  let parsed: unknown;
  try {
    const raw = Buffer.from(userSig.replace(/\*/g, '+').replace(/-/g, '/').replace(/_/g, '='), 'base64');
    parsed = JSON.parse(inflateSync(raw).toString('utf8'));
  } catch {
    throw new SyncError('AUTH', 'UserSig could not be decoded');
  }
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    typeof (parsed as Record<string, unknown>)['TLS.identifier'] !== 'string' ||
    typeof (parsed as Record<string, unknown>)['TLS.sdkappid'] !== 'number' ||
    typeof (parsed as Record<string, unknown>)['TLS.time'] !== 'number' ||
    typeof (parsed as Record<string, unknown>)['TLS.expire'] !== 'number' ||
    typeof (parsed as Record<string, unknown>)['TLS.sig'] !== 'string'
  ) {
    throw new SyncError('AUTH', 'UserSig document is missing fields');
  }
  return parsed as UserSigDocument;
}

/** Why a UserSig was refused, as the service's error codes say it. */
export type UserSigVerdict =
  | { ok: true; document: UserSigDocument }
  | { ok: false; errorCode: 70001 | 70003 | 70009 | 70013 | 70014; reason: string };

export interface VerifyOptions {
  sdkAppId: number;
  secretKey: string;
  identifier: string;
  /** Unix time in seconds. @default the current time */
  now?: number;
}

/** Verifies a UserSig the way the official Go library's `verify` does, with the service's error codes. */
export function verifyUserSig(userSig: string, options: VerifyOptions): UserSigVerdict {
  let doc: UserSigDocument;
  try {
    doc = decodeUserSig(userSig);
  } catch {
    return { ok: false, errorCode: 70003, reason: 'UserSig could not be parsed' };
  }
  if (doc['TLS.sdkappid'] !== options.sdkAppId) {
    return { ok: false, errorCode: 70014, reason: 'SDKAppID in the request does not match the UserSig' };
  }
  if (doc['TLS.identifier'] !== options.identifier) {
    return { ok: false, errorCode: 70013, reason: 'identifier in the request does not match the UserSig' };
  }
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (now > doc['TLS.time'] + doc['TLS.expire']) {
    return { ok: false, errorCode: 70001, reason: 'UserSig expired' };
  }
  const expected = Buffer.from(
    hmacBase64(
      options.secretKey,
      doc['TLS.identifier'],
      doc['TLS.sdkappid'],
      doc['TLS.time'],
      doc['TLS.expire'],
    ),
  );
  const given = Buffer.from(doc['TLS.sig']);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return { ok: false, errorCode: 70009, reason: 'UserSig signature check failed' };
  }
  return { ok: true, document: doc };
}

/**
 * Caches the admin UserSig and renews it before it expires (at 80% of its validity, and at least
 * `renewBeforeSeconds` early), so a long run never sends an expired signature.
 */
export class UserSigCache {
  readonly #options: Omit<SignOptions, 'now'>;
  readonly #nowSeconds: () => number;
  #sig: string | undefined;
  #renewAt = 0;

  constructor(
    options: Omit<SignOptions, 'now'>,
    nowSeconds: () => number = () => Math.floor(Date.now() / 1000),
  ) {
    if (!Number.isInteger(options.sdkAppId) || options.sdkAppId <= 0) {
      throw new SyncError(
        'CONFIG',
        `Expected SDKAppID to be a positive integer, got ${String(options.sdkAppId)}`,
      );
    }
    if (options.secretKey.length === 0) throw new SyncError('CONFIG', 'Expected a non-empty SecretKey');
    this.#options = options;
    this.#nowSeconds = nowSeconds;
  }

  /** The current UserSig, signing a new one when the cached one is near expiry. */
  get(): string {
    const now = this.#nowSeconds();
    if (this.#sig === undefined || now >= this.#renewAt) this.#renew(now);
    return this.#sig as string;
  }

  /** Drops the cached UserSig (after the service answered 70001/70052) so the next `get` re-signs. */
  invalidate(): void {
    this.#sig = undefined;
  }

  #renew(now: number): void {
    const expire = this.#options.expireSeconds ?? 86_400;
    this.#sig = signUserSig({ ...this.#options, now });
    this.#renewAt = now + Math.max(1, Math.min(Math.floor(expire * 0.8), expire - 300));
  }
}
