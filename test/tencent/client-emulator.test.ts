import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../src/emulator/server.js';
import { isSyncError, type SyncError } from '../../src/errors.js';
import type { Conversation } from '../../src/model.js';
import { readUserState } from '../../src/tencent/api.js';
import { failureOf, TencentClient, type TencentClientOptions } from '../../src/tencent/client.js';
import { classifyFailure, type ErrorClass } from '../../src/tencent/error-codes.js';
import { rejection, SDK_APP_ID, SECRET_KEY } from './stub-clients.js';

const bob: Conversation = { type: 1, id: 'bob' };
const carol: Conversation = { type: 1, id: 'carol' };
const team: Conversation = { type: 2, id: '@TGS#1B2AUI7RZ' };

let emulator: RunningEmulator;
const clients: TencentClient[] = [];

function client(extra: Partial<TencentClientOptions> = {}): TencentClient {
  const c = new TencentClient({
    sdkAppId: SDK_APP_ID,
    secretKey: SECRET_KEY,
    endpoint: emulator.url,
    ...extra,
  });
  clients.push(c);
  return c;
}

function classOf(err: SyncError): ErrorClass | undefined {
  const failure = failureOf(err);
  return failure === undefined ? undefined : classifyFailure(failure);
}

beforeAll(async () => {
  emulator = await startEmulator({
    port: 0,
    host: '127.0.0.1',
    sdkAppId: SDK_APP_ID,
    secretKey: SECRET_KEY,
    pageSize: 2,
  });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await emulator.close();
});

describe('TencentClient against the emulator', () => {
  it('create, search, update, rename, get and delete round-trip', async () => {
    emulator.reset();
    const c = client();
    const created = await c.createGroup('alice', 'work', [bob, team]);
    expect(created).toMatchObject({ groupName: 'work', failed: [] });
    expect(created.items.map((i) => [i.conversation, i.op, i.resultCode])).toEqual([
      [bob, 'add', 0],
      [team, 'add', 0],
    ]);
    const workId = created.groupId;

    const found = await c.searchGroups('alice', [bob, team]);
    expect(found.groups).toEqual([{ name: 'work', groupId: workId }]);
    expect(found.conversations).toEqual([
      { conversation: bob, groupIds: [workId], marked: false },
      { conversation: team, groupIds: [workId], marked: false },
    ]);

    const updated = await c.updateGroupMembers('alice', 'work', { add: [carol], remove: [bob] });
    expect(updated).toMatchObject({ groupId: workId, groupName: 'work', failed: [] });
    // Removals go first on the wire, so the items come back in that order.
    expect(updated.items.map((i) => [i.conversation.id, i.op])).toEqual([
      ['bob', 'remove'],
      ['carol', 'add'],
    ]);

    expect(await c.renameGroup('alice', 'work', 'job')).toEqual({ groupId: workId });
    const empty = await c.createGroup('alice', 'later', []);
    expect(empty.items).toEqual([]);

    const state = await readUserState(c, 'alice');
    expect(state.groups).toEqual([
      { groupId: workId, name: 'job', conversations: [carol, team] },
      { groupId: empty.groupId, name: 'later', conversations: [] },
    ]);
    expect(emulator.store.state().users.alice?.map((g) => g.name)).toEqual(['job', 'later']);

    expect(await c.deleteGroup('alice', 'job')).toEqual({ groupId: workId });
    expect(await c.deleteGroup('alice', 'later')).toEqual({ groupId: empty.groupId });
    expect((await readUserState(c, 'alice')).groups).toEqual([]);
  });

  it('reads a user across pages of 2 conversations with readUserState', async () => {
    emulator.reset();
    const c = client();
    const peers = (from: number, n: number) =>
      Array.from({ length: n }, (_, i): Conversation => ({ type: 1, id: `peer${from + i}` }));
    await c.createGroup('dave', 'a', peers(0, 3));
    await c.createGroup('dave', 'b', peers(2, 3)); // peer2..4: peer2 is in both groups
    await c.createGroup('dave', 'c', []);
    const before = emulator.stats().endpoints.get_contact_group.accepted;

    const state = await readUserState(c, 'dave');
    // 5 distinct conversations at 2 per page: 3 pages.
    expect(emulator.stats().endpoints.get_contact_group.accepted - before).toBe(3);
    expect(state.groups.map((g) => [g.name, g.conversations.map((p) => p.id)])).toEqual([
      ['a', ['peer0', 'peer1', 'peer2']],
      ['b', ['peer2', 'peer3', 'peer4']],
      ['c', []],
    ]);
    const page = await c.getGroupsPage('dave', 0);
    expect(page).toMatchObject({ complete: false, nextStartIndex: 2 });
    expect(page.groups).toHaveLength(3);
  });

  it('answers limits and missing groups with API errors of the right class', async () => {
    emulator.reset();
    const c = client();
    const missing = await rejection(c.deleteGroup('erin', 'nothing'));
    expect(missing.context).toEqual({ user: 'erin', group: 'nothing', errorCode: 51009 });
    expect(classOf(missing)).toBe('permanent');

    for (let i = 0; i < 20; i++) await c.createGroup('erin', `g${String(i).padStart(2, '0')}`, []);
    const tooMany = await rejection(c.createGroup('erin', 'g20', []));
    expect(failureOf(tooMany)).toEqual({ kind: 'api', errorCode: 51010 });
    expect(classOf(tooMany)).toBe('permanent');

    await c.createGroup('ivan', 'g00', []);
    const duplicate = await rejection(c.createGroup('ivan', 'g00', []));
    expect(failureOf(duplicate)).toEqual({ kind: 'api', errorCode: 50002 });
    const tooLong = await rejection(c.renameGroup('ivan', 'g00', 'x'.repeat(33)));
    expect(failureOf(tooLong)).toEqual({ kind: 'api', errorCode: 51011 });
  });

  it('re-signs once when the service says the UserSig expired', async () => {
    let calls = 0;
    // The first signature is two days old; every later one is current.
    const nowSeconds = () => Math.floor(Date.now() / 1000) - (calls++ === 0 ? 2 * 86_400 : 0);
    const c = client({ nowSeconds });
    const page = await c.getGroupsPage('frank', 0);
    expect(page).toEqual({
      groups: [],
      conversations: [],
      complete: true,
      nextStartIndex: 0,
      completeFlag: 1,
    });
    expect(calls).toBe(2);
  });

  it('a wrong key is fatal and not retried', async () => {
    const before = emulator.stats().endpoints.get_contact_group.accepted;
    const err = await rejection(client({ secretKey: `${SECRET_KEY.slice(0, -1)}0` }).getGroupsPage('u', 0));
    expect(failureOf(err)).toEqual({ kind: 'api', errorCode: 70009 });
    expect(classOf(err)).toBe('fatal');
    expect(emulator.stats().endpoints.get_contact_group.accepted).toBe(before);
  });

  it('60007 past the rate limit is classed rate_limited', async () => {
    // 5 calls a minute: the 6th and later are refused however slowly a loaded machine sends them.
    const limited = await startEmulator({
      port: 0,
      host: '127.0.0.1',
      sdkAppId: SDK_APP_ID,
      secretKey: SECRET_KEY,
      rateLimit: 5,
      rateLimitWindowMs: 60_000,
    });
    const c = client({ endpoint: limited.url });
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => c.getGroupsPage('gina', 0)));
    await limited.close();
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as SyncError] : []));
    expect(refused).toHaveLength(15);
    expect(new Set(refused.map((e) => JSON.stringify(failureOf(e))))).toEqual(
      new Set([JSON.stringify({ kind: 'api', errorCode: 60007 })]),
    );
    expect(classOf(refused[0] as SyncError)).toBe('rate_limited');
  });
});

describe('TencentClient against a faulty emulator', () => {
  let faulty: RunningEmulator;
  beforeAll(async () => {
    faulty = await startEmulator({
      port: 0,
      host: '127.0.0.1',
      sdkAppId: SDK_APP_ID,
      secretKey: SECRET_KEY,
      faultRate: 0.15,
      http502Rate: 0.1,
      lostRate: 0.1,
      seed: 42,
    });
  });
  afterAll(async () => {
    await faulty.close();
  });

  it('seeded faults surface as transient failures of the matching kind; lost creates were applied', async () => {
    const c = new TencentClient({ sdkAppId: SDK_APP_ID, secretKey: SECRET_KEY, endpoint: faulty.url });
    clients.push(c);
    const seen = { transient: 0, http502: 0, lost: 0, applied: 0, malformed: 0, mix: 0 };
    const lostGroups: string[] = [];
    const okGroups: string[] = [];
    for (let i = 0; i < 60; i++) {
      const user = `user${i % 3}`;
      const group = `group${String(i).padStart(2, '0')}`;
      try {
        await c.createGroup(user, group, [bob]);
        okGroups.push(`${user}/${group}`);
      } catch (err) {
        if (!isSyncError(err)) throw err;
        expect(classOf(err)).toBe('transient');
        const failure = failureOf(err);
        if (failure?.kind === 'api') {
          expect([50004, 50005]).toContain(failure.errorCode);
          seen.transient++;
        } else if (failure?.kind === 'http') {
          expect(failure.status).toBe(502);
          seen.http502++;
        } else {
          expect(failure?.kind).toBe('network');
          seen.lost++;
          lostGroups.push(`${user}/${group}`);
        }
      }
    }
    const stats = faulty.stats().endpoints.create_contact_group;
    expect(seen).toEqual(stats.faults);
    expect(seen.transient).toBeGreaterThan(0);
    expect(seen.http502).toBeGreaterThan(0);
    expect(seen.lost).toBeGreaterThan(0);
    // Lost answers were applied; transient and 502 answers were not.
    const stored = Object.entries(faulty.store.state().users).flatMap(([user, groups]) =>
      groups.map((g) => `${user}/${g.name}`),
    );
    expect(stored.sort()).toEqual([...okGroups, ...lostGroups].sort());
  });
});
