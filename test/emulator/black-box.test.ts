import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../src/emulator/server.js';

/**
 * The emulator driven by a client that is not ours: UserSigs from Tencent's official
 * `tls-sig-api-v2` package, requests with Node's global fetch, bodies written out by hand.
 */

interface OfficialApi {
  genUserSig(identifier: string, expire: number): string;
}
const require = createRequire(import.meta.url);
const { Api } = require('tls-sig-api-v2') as { Api: new (sdkAppId: number, key: string) => OfficialApi };

const SDK_APP_ID = 1400000123;
const KEY = '5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e';
const ADMIN = 'administrator';
const official = new Api(SDK_APP_ID, KEY);

interface Envelope {
  ActionStatus: string;
  ErrorCode: number;
  ErrorInfo: string;
  [key: string]: unknown;
}

async function post(
  base: string,
  command: string,
  body: unknown,
  auth: { sdkappid?: number; identifier?: string; usersig?: string } = {},
): Promise<Envelope> {
  const q = new URLSearchParams({
    sdkappid: String(auth.sdkappid ?? SDK_APP_ID),
    identifier: auth.identifier ?? ADMIN,
    usersig: auth.usersig ?? official.genUserSig(ADMIN, 86_400),
    random: String(Math.floor(Math.random() * 4_294_967_296)),
    contenttype: 'json',
  });
  const res = await fetch(`${base}/v4/recentcontact/${command}?${q}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Envelope;
}

const create = (user: string, name: string, accounts: string[] = []) => ({
  From_Account: user,
  GroupContactItem: [{ GroupName: name, ContactItem: accounts.map((a) => ({ Type: 1, To_Account: a })) }],
});
const accounts = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

let emu: RunningEmulator;
beforeAll(async () => {
  emu = await startEmulator({ sdkAppId: SDK_APP_ID, secretKey: KEY });
});
afterAll(async () => {
  await emu.close();
});

describe('documented limits, through an independent client', () => {
  it('50002: two groups in one create, or a name that exists', async () => {
    const two = { From_Account: 'u50002', GroupContactItem: [{ GroupName: 'a' }, { GroupName: 'b' }] };
    expect((await post(emu.url, 'create_contact_group', two)).ErrorCode).toBe(50002);
    expect((await post(emu.url, 'create_contact_group', create('u50002', 'a'))).ErrorCode).toBe(0);
    const dup = await post(emu.url, 'create_contact_group', create('u50002', 'a'));
    expect(dup).toMatchObject({ ActionStatus: 'FAIL', ErrorCode: 50002 });
  });

  it('51006: 101 conversations in one create', async () => {
    const res = await post(emu.url, 'create_contact_group', create('u51006', 'g', accounts(101, 'p')));
    expect(res.ErrorCode).toBe(51006);
  });

  it('51010: a 21st group', async () => {
    for (let i = 0; i < 20; i++) {
      expect((await post(emu.url, 'create_contact_group', create('u51010', `g${i}`))).ErrorCode).toBe(0);
    }
    expect((await post(emu.url, 'create_contact_group', create('u51010', 'g20'))).ErrorCode).toBe(51010);
  });

  it('51008: the 1001st grouped conversation', async () => {
    for (let i = 0; i < 10; i++) {
      const res = await post(
        emu.url,
        'create_contact_group',
        create('u51008', `g${i}`, accounts(100, `g${i}-`)),
      );
      expect(res.ErrorCode).toBe(0);
    }
    const add = {
      From_Account: 'u51008',
      UpdateType: 1,
      UpdateGroup: {
        UpdateGroupType: 2,
        OldGroupName: 'g0',
        ContactUpdateItem: [{ ContactOptType: 1, ContactItem: { Type: 2, ToGroupId: '@TGS#new' } }],
      },
    };
    expect((await post(emu.url, 'update_contact_group', add)).ErrorCode).toBe(51008);
  });

  it('51011: a 65-byte name on create, a 33-byte name on rename', async () => {
    expect((await post(emu.url, 'create_contact_group', create('u51011', 'n'.repeat(65)))).ErrorCode).toBe(
      51011,
    );
    expect((await post(emu.url, 'create_contact_group', create('u51011', 'n'.repeat(64)))).ErrorCode).toBe(0);
    const rename = (to: string) => ({
      From_Account: 'u51011',
      UpdateType: 1,
      UpdateGroup: { UpdateGroupType: 1, OldGroupName: 'n'.repeat(64), NewGroupName: to },
    });
    expect((await post(emu.url, 'update_contact_group', rename('r'.repeat(33)))).ErrorCode).toBe(51011);
    expect((await post(emu.url, 'update_contact_group', rename('r'.repeat(32)))).ErrorCode).toBe(0);
  });

  it('51009: deleting a group that does not exist', async () => {
    const res = await post(emu.url, 'del_contact_group', { From_Account: 'u51009', GroupName: ['missing'] });
    expect(res.ErrorCode).toBe(51009);
  });

  it('50001: users not imported, with knownUsers', async () => {
    const strict = await startEmulator({
      sdkAppId: SDK_APP_ID,
      secretKey: KEY,
      knownUsers: new Set(['alice', 'bob']),
    });
    try {
      expect((await post(strict.url, 'create_contact_group', create('mallory', 'g'))).ErrorCode).toBe(50001);
      const res = await post(strict.url, 'create_contact_group', create('alice', 'g', ['bob', 'ghost']));
      expect(res.ErrorCode).toBe(0);
      const items = (res.GroupResultItem as { ResultItem: { ResultCode: number }[] }[])[0]?.ResultItem;
      expect(items?.map((r) => r.ResultCode)).toEqual([0, 50001]);
    } finally {
      await strict.close();
    }
  });
});

describe('UserSig checks, with signatures from the official library', () => {
  const get = { From_Account: 'u', StartIndex: 0 };

  it('accepts a valid admin signature', async () => {
    expect((await post(emu.url, 'get_contact_group', get)).ErrorCode).toBe(0);
  });

  it('70001: an expired signature', async () => {
    const usersig = official.genUserSig(ADMIN, -10);
    expect((await post(emu.url, 'get_contact_group', get, { usersig })).ErrorCode).toBe(70001);
  });

  it('70013: a signature of another identifier', async () => {
    const usersig = official.genUserSig('someone-else', 86_400);
    expect((await post(emu.url, 'get_contact_group', get, { usersig })).ErrorCode).toBe(70013);
  });

  it('70014: a signature of another SDKAppID', async () => {
    const usersig = new Api(SDK_APP_ID + 1, KEY).genUserSig(ADMIN, 86_400);
    expect((await post(emu.url, 'get_contact_group', get, { usersig })).ErrorCode).toBe(70014);
  });
});

describe('rate limit, 300 calls sent at once to one endpoint', () => {
  async function burst(extra: { rateLimitWindowMs?: number }) {
    const e = await startEmulator({ sdkAppId: SDK_APP_ID, secretKey: KEY, ...extra });
    try {
      const usersig = official.genUserSig(ADMIN, 86_400);
      const answers = await Promise.all(
        Array.from({ length: 300 }, () =>
          post(e.url, 'get_contact_group', { From_Account: 'u', StartIndex: 0 }, { usersig }),
        ),
      );
      return { codes: answers.map((a) => a.ErrorCode), stats: e.stats().endpoints.get_contact_group };
    } finally {
      await e.close();
    }
  }

  it('accepts exactly 200 and answers 60007 to the rest (window long enough to hold the burst)', async () => {
    const { codes, stats } = await burst({ rateLimitWindowMs: 60_000 });
    expect(codes.filter((c) => c === 0)).toHaveLength(200);
    expect(codes.filter((c) => c === 60007)).toHaveLength(100);
    expect(stats).toMatchObject({ accepted: 200, rateLimited: 100, maxInWindow: 200 });
  });

  it('with the default 1000 ms window: never more than 200 in any window, everything else 60007', async () => {
    const { codes, stats } = await burst({});
    const ok = codes.filter((c) => c === 0).length;
    expect(ok + codes.filter((c) => c === 60007).length).toBe(300);
    expect(stats.accepted).toBe(ok);
    expect(stats.rateLimited).toBe(300 - ok);
    expect(stats.maxInWindow).toBeLessThanOrEqual(200);
  });
});
