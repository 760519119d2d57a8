import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { isSyncError } from '../../src/errors.js';
import { decodeUserSig, signUserSig, verifyUserSig } from '../../src/tencent/usersig.js';

// What a UserSig that is not right gets: the AUTH error of decodeUserSig, and the service's error
// code and reason from verifyUserSig (the emulator answers with them). Never prints a key or a sig.

const KEY = '5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e';
const SDK_APP_ID = 1400000000;
const T0 = 1700000000;
const OPTS = { sdkAppId: SDK_APP_ID, secretKey: KEY, identifier: 'administrator', now: T0 + 10 };

/** A UserSig of any JSON document, encoded the way the service's are (deflate, url-safe base64). */
function encode(doc: unknown): string {
  return deflateSync(Buffer.from(JSON.stringify(doc)))
    .toString('base64')
    .replace(/\+/g, '*')
    .replace(/\//g, '-')
    .replace(/=/g, '_');
}

const GOOD = decodeUserSig(
  signUserSig({
    sdkAppId: SDK_APP_ID,
    secretKey: KEY,
    identifier: 'administrator',
    expireSeconds: 600,
    now: T0,
  }),
);

function authMessage(userSig: string): string {
  try {
    decodeUserSig(userSig);
  } catch (err) {
    if (isSyncError(err, 'AUTH')) return err.message;
    throw err;
  }
  throw new Error('expected decodeUserSig to refuse');
}

describe('decodeUserSig refuses what is not a UserSig', () => {
  it('text that does not inflate to JSON', () => {
    expect(authMessage('not-a-usersig')).toBe('UserSig could not be decoded');
    expect(authMessage(deflateSync(Buffer.from('{"TLS.ver"')).toString('base64'))).toBe(
      'UserSig could not be decoded',
    );
  });

  const missing = (field: string) => Object.fromEntries(Object.entries(GOOD).filter(([k]) => k !== field));
  it.each([
    ['null', null],
    ['a number', 5],
    ['a string', 'TLS.identifier'],
    ['an array', [GOOD]],
    ['no TLS.identifier', missing('TLS.identifier')],
    ['no TLS.sdkappid', missing('TLS.sdkappid')],
    ['no TLS.time', missing('TLS.time')],
    ['no TLS.expire', missing('TLS.expire')],
    ['no TLS.sig', missing('TLS.sig')],
    ['TLS.identifier a number', { ...GOOD, 'TLS.identifier': 1 }],
    ['TLS.sdkappid a string', { ...GOOD, 'TLS.sdkappid': String(SDK_APP_ID) }],
    ['TLS.time a string', { ...GOOD, 'TLS.time': String(T0) }],
    ['TLS.expire a string', { ...GOOD, 'TLS.expire': '600' }],
    ['TLS.sig a number', { ...GOOD, 'TLS.sig': 1 }],
  ])('a document that is %s', (_name, doc) => {
    const sig = encode(doc);
    expect(authMessage(sig)).toBe('UserSig document is missing fields');
    expect(verifyUserSig(sig, OPTS)).toEqual({
      ok: false,
      errorCode: 70003,
      reason: 'UserSig could not be parsed',
    });
  });

  it('the complete document decodes', () => {
    expect(decodeUserSig(encode(GOOD))).toEqual(GOOD);
  });
});

describe('verifyUserSig: each refusal with its code and reason', () => {
  const sig = encode(GOOD);
  it.each([
    [{ sdkAppId: 1400000001 }, 70014, 'SDKAppID in the request does not match the UserSig'],
    [{ identifier: 'someone' }, 70013, 'identifier in the request does not match the UserSig'],
    [{ now: T0 + 601 }, 70001, 'UserSig expired'],
    [{ secretKey: `${KEY.slice(0, -1)}f` }, 70009, 'UserSig signature check failed'],
  ])('%j', (override, errorCode, reason) => {
    expect(verifyUserSig(sig, { ...OPTS, ...override })).toEqual({ ok: false, errorCode, reason });
  });

  it('a signature of another length is refused as a failed check, not thrown', () => {
    for (const bad of ['', 'c2hvcnQ=', `${GOOD['TLS.sig']}AAAA`]) {
      expect(verifyUserSig(encode({ ...GOOD, 'TLS.sig': bad }), OPTS)).toEqual({
        ok: false,
        errorCode: 70009,
        reason: 'UserSig signature check failed',
      });
    }
  });
});

describe('signUserSig', () => {
  it('keeps the base64 padding (as _): every UserSig is a whole number of base64 quads', () => {
    const sigs = ['a', 'ab', 'abc', 'abcd', 'abcde', 'abcdef'].map((identifier) =>
      signUserSig({ sdkAppId: SDK_APP_ID, secretKey: KEY, identifier, now: T0 }),
    );
    expect(sigs.some((s) => s.endsWith('_'))).toBe(true);
    for (const s of sigs) expect(s.length % 4).toBe(0);
  });

  it('signs at the current time when no time is given', () => {
    const before = Math.floor(Date.now() / 1000);
    const doc = decodeUserSig(signUserSig({ sdkAppId: SDK_APP_ID, secretKey: KEY, identifier: 'a' }));
    const after = Math.floor(Date.now() / 1000);
    expect(doc['TLS.time']).toBeGreaterThanOrEqual(before);
    expect(doc['TLS.time']).toBeLessThanOrEqual(after);
    expect(
      // …and verifying without a time checks against the current time too.
      verifyUserSig(signUserSig({ sdkAppId: SDK_APP_ID, secretKey: KEY, identifier: 'a' }), {
        sdkAppId: SDK_APP_ID,
        secretKey: KEY,
        identifier: 'a',
      }).ok,
    ).toBe(true);
  });
});
