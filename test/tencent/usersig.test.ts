import { createRequire } from 'node:module';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeUserSig, signUserSig, UserSigCache, verifyUserSig } from '../../src/tencent/usersig.js';

// The official library (no types): new Api(sdkappid, key).genUserSig(identifier, expire), time from Date.now().
const require = createRequire(import.meta.url);
const { Api } = require('tls-sig-api-v2') as {
  Api: new (sdkAppId: number, key: string) => { genUserSig(identifier: string, expire: number): string };
};

const KEY = '5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e';
const SDK_APP_ID = 1400000000;
const T0 = 1700000000;

function officialSig(
  sdkAppId: number,
  key: string,
  identifier: string,
  expire: number,
  nowSeconds: number,
): string {
  const spy = vi.spyOn(Date, 'now').mockReturnValue(nowSeconds * 1000);
  try {
    return new Api(sdkAppId, key).genUserSig(identifier, expire);
  } finally {
    spy.mockRestore();
  }
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('signUserSig', () => {
  it('decodes to the same document as the official tls-sig-api-v2 package', () => {
    const cases = [
      { identifier: 'administrator', expire: 86_400, now: T0 },
      { identifier: 'xiaojun', expire: 15_552_000, now: T0 + 12_345 },
      { identifier: '管理员 admin/+=', expire: 60, now: 1 },
    ];
    for (const c of cases) {
      const ours = signUserSig({
        sdkAppId: SDK_APP_ID,
        secretKey: KEY,
        identifier: c.identifier,
        expireSeconds: c.expire,
        now: c.now,
      });
      const theirs = officialSig(SDK_APP_ID, KEY, c.identifier, c.expire, c.now);
      expect(decodeUserSig(ours)).toEqual(decodeUserSig(theirs));
      expect(decodeUserSig(ours)['TLS.time']).toBe(c.now);
    }
  });

  it('agrees with the official package on arbitrary inputs (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.string({ minLength: 1, maxLength: 64 }),
        fc.integer({ min: 1, max: 10 * 365 * 86_400 }),
        fc.integer({ min: 0, max: 2 ** 32 }),
        (sdkAppId, key, identifier, expire, now) => {
          const ours = signUserSig({ sdkAppId, secretKey: key, identifier, expireSeconds: expire, now });
          expect(decodeUserSig(ours)).toEqual(
            decodeUserSig(officialSig(sdkAppId, key, identifier, expire, now)),
          );
        },
      ),
      { numRuns: 100 },
    );
  });

  it('matches the fixed vectors of reference §4.3', () => {
    const xiaojun = signUserSig({
      sdkAppId: SDK_APP_ID,
      secretKey: KEY,
      identifier: 'xiaojun',
      expireSeconds: 15_552_000,
      now: T0,
    });
    expect(decodeUserSig(xiaojun)).toEqual({
      'TLS.ver': '2.0',
      'TLS.identifier': 'xiaojun',
      'TLS.sdkappid': SDK_APP_ID,
      'TLS.time': T0,
      'TLS.expire': 15_552_000,
      'TLS.sig': 'LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4=',
    });
    // The published Node output decodes to the same document.
    const published =
      'eJyrVgrxCdYrSy1SslIy0jNQ0gHzM1NS80oy0zLBwhWZiflZpXlQqeKU7MSCgswUJStDEwMogMiUZOamKlkZmqOKplYUZBaBxE1NTY3gosWZ6UpWSj5ljuYp*p7l5unBxXnF2WVhVU4uAf7Ozi5JpX7O5SbuHuUhzgZJmQXaTia2SrUAohcx8g__';
    expect(decodeUserSig(published)).toEqual(decodeUserSig(xiaojun));
    const admin = signUserSig({
      sdkAppId: SDK_APP_ID,
      secretKey: KEY,
      identifier: 'administrator',
      expireSeconds: 86_400,
      now: T0,
    });
    expect(decodeUserSig(admin)['TLS.sig']).toBe('yLAe+w7WUeUuqbV9h/TX78u21oTGi+i9Zp1u3PpnY60=');
  });

  it('uses the url-safe alphabet with padding kept as _', () => {
    const sig = signUserSig({ sdkAppId: SDK_APP_ID, secretKey: KEY, identifier: 'administrator', now: T0 });
    expect(sig).toMatch(/^[A-Za-z0-9*\-_]+$/);
    expect(decodeUserSig(sig)['TLS.expire']).toBe(86_400);
  });
});

describe('verifyUserSig', () => {
  const sig = signUserSig({
    sdkAppId: SDK_APP_ID,
    secretKey: KEY,
    identifier: 'administrator',
    expireSeconds: 600,
    now: T0,
  });
  const opts = { sdkAppId: SDK_APP_ID, secretKey: KEY, identifier: 'administrator', now: T0 + 10 };

  it('accepts a valid UserSig, up to and including its last second', () => {
    expect(verifyUserSig(sig, opts)).toMatchObject({
      ok: true,
      document: { 'TLS.identifier': 'administrator' },
    });
    expect(verifyUserSig(sig, { ...opts, now: T0 + 600 }).ok).toBe(true);
  });

  it('accepts a UserSig made by the official package', () => {
    expect(verifyUserSig(officialSig(SDK_APP_ID, KEY, 'administrator', 600, T0), opts).ok).toBe(true);
  });

  it.each([
    ['expired', sig, { now: T0 + 601 }, 70001],
    ['identifier mismatch', sig, { identifier: 'someone' }, 70013],
    ['sdkappid mismatch', sig, { sdkAppId: 1400000001 }, 70014],
    ['wrong key', sig, { secretKey: `${KEY.slice(0, -1)}f` }, 70009],
    ['garbage', 'not-a-usersig', {}, 70003],
    ['empty', '', {}, 70003],
    // {"TLS.ver":"2.0","TLS.identifier":"administrator"}: well-formed, but no sig, time or expire.
    [
      'a document missing fields',
      'eJyrVgrxCdYrSy1SslIy0jNQ0gHzM1NS80oy0zLBwokpuZl5mcUlRYkl*UVKtQCAfBBs',
      {},
      70003,
    ],
  ])('refuses %s with %s', (_name, candidate, override, errorCode) => {
    expect(verifyUserSig(candidate, { ...opts, ...override })).toMatchObject({ ok: false, errorCode });
  });
});

describe('UserSigCache', () => {
  const options = { sdkAppId: SDK_APP_ID, secretKey: KEY, identifier: 'administrator' };

  it('reuses the UserSig until 80% of its validity, then renews', () => {
    let now = T0;
    const cache = new UserSigCache({ ...options, expireSeconds: 86_400 }, () => now);
    const first = cache.get();
    now = T0 + 69_119;
    expect(cache.get()).toBe(first);
    now = T0 + 69_120;
    const second = cache.get();
    expect(second).not.toBe(first);
    expect(decodeUserSig(second)['TLS.time']).toBe(T0 + 69_120);
  });

  it('renews at least 300 s before expiry for short validities', () => {
    let now = T0;
    const cache = new UserSigCache({ ...options, expireSeconds: 600 }, () => now);
    const first = cache.get();
    now = T0 + 299;
    expect(cache.get()).toBe(first);
    now = T0 + 300;
    expect(cache.get()).not.toBe(first);
  });

  it('never hands out a UserSig with less than 300 s left (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 600, max: 400 * 86_400 }),
        fc.array(fc.integer({ min: 0, max: 100_000 }), { minLength: 1, maxLength: 30 }),
        (expire, steps) => {
          let now = T0;
          const cache = new UserSigCache({ ...options, expireSeconds: expire }, () => now);
          for (const step of steps) {
            now += step;
            const doc = decodeUserSig(cache.get());
            expect(doc['TLS.time'] + doc['TLS.expire'] - now).toBeGreaterThanOrEqual(300);
            expect(verifyUserSig(cache.get(), { ...options, now: now + 299 }).ok).toBe(true);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('re-signs after invalidate', () => {
    let now = T0;
    const cache = new UserSigCache(options, () => now);
    const first = cache.get();
    now += 5;
    expect(cache.get()).toBe(first);
    cache.invalidate();
    const second = cache.get();
    expect(decodeUserSig(second)['TLS.time']).toBe(T0 + 5);
  });

  it.each([
    [{ sdkAppId: 0 }, 'Expected SDKAppID to be a positive integer, got 0'],
    [{ sdkAppId: 1.5 }, 'Expected SDKAppID to be a positive integer, got 1.5'],
    [{ secretKey: '' }, 'Expected a non-empty SecretKey'],
  ])('refuses %j', (override, message) => {
    expect(() => new UserSigCache({ ...options, ...override })).toThrow(message);
  });
});
