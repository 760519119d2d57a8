import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmulatorStats, type RunningEmulator, startEmulator } from '../../src/emulator/server.js';
import { isSyncError } from '../../src/errors.js';
import { signUserSig } from '../../src/tencent/usersig.js';
import { c2c, createBody } from './builders.js';
import { ADMIN, apiUrl, type CallOptions, call, SDK_APP_ID, SECRET_KEY } from './http.js';

let emu: RunningEmulator;

beforeAll(async () => {
  emu = await startEmulator({ sdkAppId: SDK_APP_ID, secretKey: SECRET_KEY });
});
afterAll(async () => {
  await emu.close();
});

const sig = (identifier: string, sdkAppId = SDK_APP_ID, secretKey = SECRET_KEY): string =>
  signUserSig({ sdkAppId, secretKey, identifier });

describe('HTTP front', () => {
  it('listens on 127.0.0.1 with the real port in the URL', () => {
    expect(emu.host).toBe('127.0.0.1');
    expect(emu.port).toBeGreaterThan(0);
    expect(emu.url).toBe(`http://127.0.0.1:${emu.port}`);
  });

  it('serves a signed call and applies it', async () => {
    emu.reset();
    const res = await call(emu.url, 'create_contact_group', createBody('u', 'g', [c2c('a')]));
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ ActionStatus: 'OK', ErrorCode: 0 });
    expect(emu.store.state().users.u?.[0]?.name).toBe('g');
  });

  it.each<[string, CallOptions, number]>([
    ['a missing sdkappid', { sdkappid: null }, 60012],
    ['a non-numeric sdkappid', { sdkappid: 'abc' }, 60002],
    ['another sdkappid', { sdkappid: '1400000001' }, 60006],
    ['a missing identifier', { identifier: null }, 60002],
    ['a missing random', { random: null }, 60002],
    ['a random above 2^32-1', { random: '4294967296' }, 60002],
    ['a negative random', { random: '-1' }, 60002],
    ['contenttype xml', { contenttype: 'xml' }, 60002],
    ['a missing usersig', { usersig: null }, 70002],
    ['an unparsable usersig', { usersig: 'not-a-sig' }, 70003],
    ['a usersig signed with another key', { usersig: sig(ADMIN, SDK_APP_ID, 'other-key') }, 70009],
    ['a usersig of another identifier', { usersig: sig('someone') }, 70013],
    ['a usersig of another SDKAppID', { usersig: sig(ADMIN, 1400000001) }, 70014],
    ['a non-admin identifier with its own valid usersig', { identifier: 'bob', usersig: sig('bob') }, 60010],
    ['a GET', { method: 'GET' }, 60002],
    ['a body that is not JSON', { rawBody: '{"From_Account":' }, 60003],
    ['an empty body', { rawBody: '' }, 60003],
  ])('answers %s with HTTP 200 and ErrorCode %i, applying nothing', async (_, options, code) => {
    emu.reset();
    const res = await call(emu.url, 'create_contact_group', createBody('u', 'g'), options);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ ActionStatus: 'FAIL', ErrorCode: code });
    expect(typeof res.json.ErrorInfo).toBe('string');
    expect(emu.store.state()).toEqual({ users: {} });
  });

  it('answers an unknown command or service with 60009', async () => {
    expect((await call(emu.url, 'mark_contact', {})).json).toMatchObject({ ErrorCode: 60009 });
    const res = await fetch(apiUrl(emu.url, 'get_contact_group', {}, 'openim'), {
      method: 'POST',
      body: '{}',
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ErrorCode: 60009 });
  });

  it('answers 404 outside /v4 and /__emulator', async () => {
    expect((await fetch(`${emu.url}/other`)).status).toBe(404);
    expect((await fetch(`${emu.url}/__emulator/nope`)).status).toBe(404);
  });

  it('never echoes the UserSig or the key', async () => {
    const usersig = sig(ADMIN, SDK_APP_ID, 'other-key');
    const res = await call(emu.url, 'create_contact_group', createBody('u', 'g'), { usersig });
    expect(JSON.stringify(res.json)).not.toContain(usersig);
    expect(JSON.stringify(res.json)).not.toContain(SECRET_KEY);
  });
});

describe('observability routes', () => {
  it('GET /__emulator/state shows the full state; PUT replaces it; POST reset clears state and counters', async () => {
    emu.reset();
    await call(emu.url, 'create_contact_group', createBody('u', 'g', [c2c('a')]));
    const state = await (await fetch(`${emu.url}/__emulator/state`)).json();
    expect(state).toEqual({ users: { u: [{ groupId: 1, name: 'g', members: [{ type: 1, id: 'a' }] }] } });

    const seeded = { users: { v: [{ groupId: 4, name: 'h', members: [] }] } };
    const put = await fetch(`${emu.url}/__emulator/state`, { method: 'PUT', body: JSON.stringify(seeded) });
    expect(put.status).toBe(200);
    expect(emu.store.state()).toEqual(seeded);
    const bad = await fetch(`${emu.url}/__emulator/state`, { method: 'PUT', body: '{"users":3}' });
    expect(bad.status).toBe(400);
    expect(emu.store.state()).toEqual(seeded);

    expect(emu.stats().endpoints.create_contact_group.accepted).toBe(1);
    expect((await fetch(`${emu.url}/__emulator/reset`, { method: 'POST' })).status).toBe(200);
    expect(emu.store.state()).toEqual({ users: {} });
    expect(emu.stats().endpoints.create_contact_group.accepted).toBe(0);
  });

  it('GET /__emulator/stats counts accepted calls per endpoint, and the same as stats()', async () => {
    emu.reset();
    await call(emu.url, 'get_contact_group', { From_Account: 'u', StartIndex: 0 });
    await call(emu.url, 'get_contact_group', { From_Account: 'u', StartIndex: 0 });
    await call(emu.url, 'get_contact_group', {}, { usersig: 'bad' }); // refused before the limiter
    const stats = (await (await fetch(`${emu.url}/__emulator/stats`)).json()) as EmulatorStats;
    expect(stats).toEqual(emu.stats());
    expect(stats.endpoints.get_contact_group).toEqual({
      accepted: 2,
      rateLimited: 0,
      faults: { transient: 0, http502: 0, lost: 0, applied: 0, malformed: 0, mix: 0 },
      maxInWindow: 2,
    });
    expect(stats.endpoints.create_contact_group.accepted).toBe(0);
  });
});

describe('lifecycle', () => {
  it('refuses a non-loopback host unless allowed', async () => {
    await expect(
      startEmulator({ sdkAppId: SDK_APP_ID, secretKey: SECRET_KEY, host: '0.0.0.0' }),
    ).rejects.toSatisfy((e: unknown) => isSyncError(e, 'CONFIG') && /loopback/.test((e as Error).message));
  });

  it('reports a port in use as CONFIG', async () => {
    await expect(
      startEmulator({ sdkAppId: SDK_APP_ID, secretKey: SECRET_KEY, port: emu.port }),
    ).rejects.toSatisfy((e: unknown) => isSyncError(e, 'CONFIG'));
  });

  it('close() drops idle keep-alive connections instead of waiting for them', async () => {
    const other = await startEmulator({ sdkAppId: SDK_APP_ID, secretKey: SECRET_KEY });
    const res = await call(other.url, 'get_contact_group', { From_Account: 'u', StartIndex: 0 });
    expect(res.json).toMatchObject({ ErrorCode: 0 });
    // Node keeps the idle socket for 5 s by default; close must not wait for it.
    const outcome = await Promise.race([
      other.close().then(() => 'closed'),
      new Promise((resolve) => setTimeout(() => resolve('still open'), 2500).unref()),
    ]);
    expect(outcome).toBe('closed');
    await expect(fetch(`${other.url}/__emulator/stats`)).rejects.toMatchObject({
      message: 'fetch failed',
      cause: { code: 'ECONNREFUSED' },
    });
  });

  it('close() answers no delayed response and is idempotent', async () => {
    const slow = await startEmulator({ sdkAppId: SDK_APP_ID, secretKey: SECRET_KEY, latencyMs: 60_000 });
    // Looked at from the start: the call may fail while close() is still under way.
    const pending = call(slow.url, 'get_contact_group', { From_Account: 'u', StartIndex: 0 }).then(
      () => undefined,
      (error: unknown) => error,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    await Promise.all([slow.close(), slow.close()]);
    expect(await pending).toMatchObject({
      message: 'fetch failed',
      cause: { code: expect.stringMatching(/^(UND_ERR_SOCKET|ECONNRESET)$/) },
    });
  });

  it('delays answers by latencyMs', async () => {
    const slow = await startEmulator({ sdkAppId: SDK_APP_ID, secretKey: SECRET_KEY, latencyMs: 150 });
    try {
      const started = performance.now();
      await call(slow.url, 'get_contact_group', { From_Account: 'u', StartIndex: 0 });
      expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    } finally {
      await slow.close();
    }
  });
});
