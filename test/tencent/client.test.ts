import { inspect } from 'node:util';
import { errors, MockAgent } from 'undici';
import { describe, expect, it } from 'vitest';
import { isSyncError, type SyncError } from '../../src/errors.js';
import { readUserState } from '../../src/tencent/api.js';
import {
  type CallEvent,
  errorForFailure,
  failureOf,
  TencentClient,
  type TencentClientOptions,
} from '../../src/tencent/client.js';
import { classifyFailure } from '../../src/tencent/error-codes.js';
import { decodeUserSig, verifyUserSig } from '../../src/tencent/usersig.js';
import * as S from './official-samples.js';
import { OK, rejection, SDK_APP_ID, SECRET_KEY, useStubClients } from './stub-clients.js';
import { sendJson, startStub } from './stub-server.js';

const { stub, client, clientWith: regionClient } = useStubClients();

/** Every text a caller might print or serialise from an error, down the cause chain. */
function everyText(err: unknown): string {
  const parts: string[] = [inspect(err, { depth: 10 })];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && e !== null && depth < 10; depth++) {
    parts.push(String(e), JSON.stringify(e) ?? '');
    if (e instanceof Error) {
      parts.push(e.message, e.stack ?? '');
      e = e.cause;
    } else break;
  }
  return parts.join('\n');
}

describe('request shape', () => {
  it('POSTs JSON to /v4/recentcontact/{command} with the five query parameters in order', async () => {
    stub.handle((_req, res) => sendJson(res, S.GET_RESPONSE));
    await client({ admin: 'ops_admin' }).getGroupsPage('user_0001', 0);
    const [req] = stub.requests;
    expect(req?.method).toBe('POST');
    expect(req?.pathname).toBe('/v4/recentcontact/get_contact_group');
    expect(req?.contentType).toBe('application/json');
    expect([...(req?.query.keys() ?? [])]).toEqual([
      'sdkappid',
      'identifier',
      'usersig',
      'random',
      'contenttype',
    ]);
    expect(req?.query.get('sdkappid')).toBe(String(SDK_APP_ID));
    expect(req?.query.get('identifier')).toBe('ops_admin');
    expect(req?.query.get('contenttype')).toBe('json');
    expect(req?.query.get('random')).toMatch(/^\d{1,10}$/);
    expect(Number(req?.query.get('random'))).toBeLessThanOrEqual(4_294_967_295);
    const verdict = verifyUserSig(req?.query.get('usersig') ?? '', {
      sdkAppId: SDK_APP_ID,
      secretKey: SECRET_KEY,
      identifier: 'ops_admin',
    });
    expect(verdict.ok).toBe(true);
  });

  it('sends a fresh random on every call and reuses the cached UserSig', async () => {
    const c = client();
    for (let i = 0; i < 20; i++) await c.deleteGroup('u', 'g').catch(() => undefined);
    const randoms = new Set(stub.requests.map((r) => r.query.get('random')));
    expect(stub.requests).toHaveLength(20);
    expect(randoms.size).toBe(20);
    expect(new Set(stub.requests.map((r) => r.query.get('usersig'))).size).toBe(1);
  });

  it('signs with the configured expiry', async () => {
    await client({ userSigExpireSeconds: 3600 }).getGroupsPage('u', 0);
    const doc = decodeUserSig(stub.requests[0]?.query.get('usersig') ?? '');
    expect(doc['TLS.expire']).toBe(3600);
    expect(doc['TLS.identifier']).toBe('administrator');
  });
});

describe('each endpoint against the official samples', () => {
  it('create_contact_group', async () => {
    stub.handle((_req, res) => sendJson(res, S.CREATE_RESPONSE));
    const result = await client().createGroup('user_0001', 'group_0001', [
      { type: 1, id: 'user_0002' },
      { type: 2, id: '@TGS#1B2AUI7RZ' },
    ]);
    expect(stub.requests[0]?.rawBody).toBe(JSON.stringify(S.CREATE_REQUEST));
    expect(result).toEqual({
      groupId: 1,
      groupName: 'group_0001',
      items: [
        { conversation: { type: 1, id: 'user_0002' }, op: 'add', resultCode: 0, resultInfo: '' },
        { conversation: { type: 2, id: '@TGS#1B2AUI7RZ' }, op: 'add', resultCode: 0, resultInfo: '' },
      ],
      failed: [],
    });
  });

  it('create_contact_group of an empty group sends ContactItem [] (required on one page, optional on the other)', async () => {
    stub.handle((_req, res) =>
      sendJson(res, { GroupResultItem: [{ GroupItem: { GroupName: 'empty', GroupId: 3 } }], ...OK }),
    );
    const result = await client().createGroup('u', 'empty', []);
    expect(stub.requests[0]?.body).toEqual({
      From_Account: 'u',
      GroupContactItem: [{ GroupName: 'empty', ContactItem: [] }],
    });
    expect(result).toEqual({ groupId: 3, groupName: 'empty', items: [], failed: [] });
  });

  it('update_contact_group (members)', async () => {
    stub.handle((_req, res) => sendJson(res, S.UPDATE_RESPONSE));
    const result = await client().updateGroupMembers('user20', 'test1', {
      add: [{ type: 1, id: 'user1' }],
      remove: [],
    });
    expect(stub.requests[0]?.rawBody).toBe(JSON.stringify(S.UPDATE_REQUEST));
    expect(result).toEqual({
      groupId: 1,
      groupName: 'test1',
      items: [{ conversation: { type: 1, id: 'user1' }, op: 'add', resultCode: 0, resultInfo: '' }],
      failed: [],
    });
  });

  it('update_contact_group sends removals before adds (one-by-one application never passes a limit)', async () => {
    await client()
      .updateGroupMembers('user_0001', 'group_0001', {
        add: [{ type: 1, id: 'user_0002' }],
        remove: [{ type: 2, id: '@TGS#1B2AUI7RZ' }],
      })
      .catch(() => undefined);
    expect(stub.requests[0]?.body).toEqual({
      From_Account: 'user_0001',
      UpdateType: 1,
      UpdateGroup: {
        UpdateGroupType: 2,
        OldGroupName: 'group_0001',
        ContactUpdateItem: [
          { ContactOptType: 2, ContactItem: { Type: 2, ToGroupId: '@TGS#1B2AUI7RZ' } },
          { ContactOptType: 1, ContactItem: { Type: 1, To_Account: 'user_0002' } },
        ],
      },
    });
  });

  it('update_contact_group (rename)', async () => {
    stub.handle((_req, res) => sendJson(res, S.RENAME_RESPONSE));
    const result = await client().renameGroup('user_0001', 'group_0001', 'group_0002');
    expect(stub.requests[0]?.rawBody).toBe(JSON.stringify(S.RENAME_REQUEST));
    expect(result).toEqual({ groupId: 1 });
  });

  it('del_contact_group', async () => {
    stub.handle((_req, res) => sendJson(res, S.DELETE_RESPONSE));
    const result = await client().deleteGroup('user_0001', 'group_0001');
    expect(stub.requests[0]?.rawBody).toBe(JSON.stringify(S.DELETE_REQUEST));
    expect(result).toEqual({ groupId: 1 });
  });

  it('search_contact_group', async () => {
    stub.handle((_req, res) => sendJson(res, S.SEARCH_RESPONSE));
    const result = await client().searchGroups('user_0001', [
      { type: 1, id: 'user_0002' },
      { type: 2, id: '@TGS#1B2AUI7RZ' },
    ]);
    expect(stub.requests[0]?.rawBody).toBe(JSON.stringify(S.SEARCH_REQUEST));
    expect(result).toEqual({
      groups: [
        { name: 'group_0001', groupId: 1 },
        { name: 'group_0002', groupId: 2 },
      ],
      conversations: [
        { conversation: { type: 1, id: 'user_0002' }, groupIds: [1, 2], marked: true },
        { conversation: { type: 2, id: '@TGS#1B2AUI7RZ' }, groupIds: [1], marked: false },
      ],
    });
  });

  it('get_contact_group, and readUserState over it', async () => {
    stub.handle((_req, res) => sendJson(res, S.GET_RESPONSE));
    const c = client();
    const page = await c.getGroupsPage('user_0001', 0);
    expect(stub.requests[0]?.rawBody).toBe(JSON.stringify(S.GET_REQUEST));
    expect(page).toEqual({
      groups: [
        { name: 'test1x', groupId: 1 },
        { name: 'test10', groupId: 2 },
      ],
      conversations: [
        { conversation: { type: 1, id: 'teacher4' }, groupIds: [1, 2], marked: true },
        { conversation: { type: 2, id: '@TGS#1N3RSUYG2' }, groupIds: [], marked: true },
      ],
      complete: true,
      nextStartIndex: 0,
      completeFlag: 1,
    });
    const state = await readUserState(c, 'user_0001');
    expect(state.groups.map((g) => [g.name, g.conversations])).toEqual([
      ['test10', [{ type: 1, id: 'teacher4' }]],
      ['test1x', [{ type: 1, id: 'teacher4' }]],
    ]);
    // Both carry a mark; the second is in no group: both count toward 1000, neither is touched.
    expect(state.marked).toEqual([
      { type: 1, id: 'teacher4' },
      { type: 2, id: '@TGS#1N3RSUYG2' },
    ]);
  });

  it('get_contact_group pages: CompleteFlag 0 is not complete and NextStartIndex is passed on', async () => {
    stub.handle((req, res, i) => {
      const start = (req.body as { StartIndex: number }).StartIndex;
      sendJson(res, {
        ContactItem: [{ Type: 1, To_Account: `peer${start}`, ContactGroupId: [1] }],
        GroupItem: [{ GroupName: 'g', GroupId: 1 }],
        CompleteFlag: i === 2 ? 1 : 0,
        NextStartIndex: i === 2 ? 0 : start + 1,
        ...OK,
      });
    });
    const state = await readUserState(client(), 'u');
    expect(stub.requests.map((r) => (r.body as { StartIndex: number }).StartIndex)).toEqual([0, 1, 2]);
    expect(state.groups[0]?.conversations.map((c) => c.id)).toEqual(['peer0', 'peer1', 'peer2']);
  });

  it('paging ends on CompleteFlag or on a NextStartIndex that does not advance, and says when they disagree', async () => {
    // CompleteFlag 0 forever, NextStartIndex stuck at 0: stop after the first page, with a warning.
    stub.handle((_req, res) =>
      sendJson(res, {
        ContactItem: [{ Type: 1, To_Account: 'a', ContactGroupId: [1] }],
        GroupItem: [{ GroupName: 'g', GroupId: 1 }],
        CompleteFlag: 0,
        NextStartIndex: 0,
        ...OK,
      }),
    );
    const warnings: string[] = [];
    const stuck = await readUserState(client(), 'u', { onWarning: (w) => warnings.push(w) });
    expect(stub.requests).toHaveLength(1);
    expect(stuck.groups[0]?.conversations).toEqual([{ type: 1, id: 'a' }]);
    expect(warnings).toEqual([
      'get_contact_group for user "u": CompleteFlag 0 but NextStartIndex 0 does not advance from 0; taking the listing as complete',
    ]);

    // CompleteFlag 1 with a NextStartIndex that still advances: CompleteFlag wins, with a warning.
    stub.reset();
    stub.handle((_req, res) =>
      sendJson(res, { ContactItem: [], GroupItem: [], CompleteFlag: 1, NextStartIndex: 100, ...OK }),
    );
    warnings.length = 0;
    await readUserState(client(), 'u', { onWarning: (w) => warnings.push(w) });
    expect(stub.requests).toHaveLength(1);
    expect(warnings[0]).toContain('CompleteFlag 1 but NextStartIndex 100 advances from 0');

    // A listing that never ends is an error of that user, after the cap.
    stub.reset();
    stub.handle((req, res) => {
      const start = (req.body as { StartIndex: number }).StartIndex;
      sendJson(res, { ContactItem: [], GroupItem: [], CompleteFlag: 0, NextStartIndex: start + 1, ...OK });
    });
    const err = await rejection(readUserState(client(), 'u', { maxPages: 5 }));
    expect(err.code).toBe('UNEXPECTED_RESPONSE');
    expect(err.message).toContain('did not end after 5 pages');
    expect(stub.requests).toHaveLength(5);
  });
});

describe('success criteria', () => {
  it('HTTP 502 rejects as TRANSPORT with the status, a transient http failure', async () => {
    stub.handle((_req, res) => sendJson(res, '<html>bad gateway</html>', 502));
    const err = await rejection(client().createGroup('alice', 'work', []));
    expect(err.code).toBe('TRANSPORT');
    expect(err.context).toEqual({ user: 'alice', group: 'work', httpStatus: 502 });
    expect(err.message).toBe('create_contact_group failed for user "alice", group "work": HTTP 502');
    expect(failureOf(err)).toEqual({ kind: 'http', status: 502 });
    expect(classifyFailure(failureOf(err) ?? { kind: 'timeout' })).toBe('transient');
  });

  it('ActionStatus FAIL with an ErrorCode rejects as API with the code', async () => {
    stub.handle((_req, res) =>
      sendJson(res, { ActionStatus: 'FAIL', ErrorCode: 51010, ErrorInfo: 'group count exceeds limit' }),
    );
    const err = await rejection(client().createGroup('alice', 'g21', []));
    expect(err.code).toBe('API');
    expect(err.context).toEqual({ user: 'alice', group: 'g21', errorCode: 51010 });
    expect(err.message).toContain('ErrorCode 51010 (more than 20 conversation groups for this user)');
    expect(err.message).toContain('group count exceeds limit');
    expect(failureOf(err)).toEqual({ kind: 'api', errorCode: 51010 });
  });

  it('ActionStatus OK with a non-zero ErrorCode still rejects', async () => {
    stub.handle((_req, res) => sendJson(res, { ActionStatus: 'OK', ErrorCode: 50004, ErrorInfo: '' }));
    const err = await rejection(client().deleteGroup('alice', 'g'));
    expect(failureOf(err)).toEqual({ kind: 'api', errorCode: 50004 });
  });

  it.each([
    ['a body that is not JSON', 'not json', 'the body is not JSON'],
    ['a JSON array', '[1]', 'the body is not a JSON object'],
    ['no ErrorCode', JSON.stringify({ ActionStatus: 'OK' }), 'ActionStatus or ErrorCode missing or invalid'],
    [
      'FAIL with ErrorCode 0',
      JSON.stringify({ ActionStatus: 'FAIL', ErrorCode: 0 }),
      'ActionStatus FAIL with ErrorCode 0',
    ],
    ['no GroupItem on delete', JSON.stringify(OK), 'GroupItem names no deleted group'],
    [
      'a GroupId that is a string',
      JSON.stringify({ GroupItem: [{ GroupName: 'g', GroupId: '1' }], ...OK }),
      'GroupItem[0].GroupId is not an integer',
    ],
  ])(
    'an answer of an unexpected shape (%s) is its own error, not a network one',
    async (_name, body, reason) => {
      stub.handle((_req, res) => sendJson(res, body));
      const err = await rejection(client().deleteGroup('alice', 'g'));
      expect(err.code).toBe('UNEXPECTED_RESPONSE');
      expect(err.context.httpStatus).toBeUndefined();
      expect(err.message).toBe(
        `del_contact_group failed for user "alice", group "g": unexpected response (HTTP 200, not the documented shape): ${reason}; the body starts ${JSON.stringify(body)}`,
      );
      expect(failureOf(err)).toEqual({ kind: 'unexpected', repeated: false });
      expect(classifyFailure(failureOf(err) ?? { kind: 'api', errorCode: 0 })).toBe('unexpected');
    },
  );

  it('quotes a short excerpt of an unexpected body with the UserSig and key masked; the fifth in a row is fatal', async () => {
    const events: CallEvent[] = [];
    stub.handle((req, res) => {
      // A proxy page that echoes the request target, query string (UserSig) included, and more.
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(
        `<html>\n<body>Gateway says: ${req.pathname}?${req.rawQuery} key=${SECRET_KEY} ${'x'.repeat(400)}</body></html>`,
      );
    });
    const c = client({ onCall: (e) => events.push(e) });
    const answers: SyncError[] = [];
    for (let i = 0; i < 5; i++) answers.push(await rejection(c.getGroupsPage('u', 0)));
    for (const err of answers) {
      expect(err.code).toBe('UNEXPECTED_RESPONSE');
      expect(err.message).toContain(
        'the body starts "<html> <body>Gateway says: /v4/recentcontact/get_contact_group?',
      );
      expect(err.message).toContain('usersig=[Redacted]');
      expect(err.message).not.toContain(SECRET_KEY);
      expect(err.message).not.toMatch(/x{200}/);
      expect(err.message.length).toBeLessThan(500);
    }
    expect(answers.slice(0, 4).map((e) => failureOf(e))).toEqual(
      Array(4).fill({ kind: 'unexpected', repeated: false }),
    );
    expect(failureOf(answers[4])).toEqual({ kind: 'unexpected', repeated: true });
    expect(classifyFailure(failureOf(answers[4]) ?? { kind: 'timeout' })).toBe('fatal');
    expect(answers[4]?.message).toContain('5 unexpected answers in a row from get_contact_group: stopping');
    expect(events.map((e) => e.outcome)).toEqual(Array(5).fill('unexpected_response'));

    // Garbage from another endpoint is counted apart; an envelope without its payload counts.
    stub.handle((_req, res) => sendJson(res, OK));
    for (let i = 0; i < 4; i++) {
      expect(failureOf(await rejection(c.createGroup('u', 'g', [])))).toEqual({
        kind: 'unexpected',
        repeated: false,
      });
    }
    expect(failureOf(await rejection(c.createGroup('u', 'g', [])))).toEqual({
      kind: 'unexpected',
      repeated: true,
    });

    // One well-formed answer (an error envelope will do) starts the count again.
    stub.handle((_req, res) => sendJson(res, { ActionStatus: 'FAIL', ErrorCode: 50001, ErrorInfo: '' }));
    await rejection(c.getGroupsPage('u', 0));
    stub.handle((_req, res) => sendJson(res, 'not json'));
    expect(failureOf(await rejection(c.getGroupsPage('u', 0)))).toEqual({
      kind: 'unexpected',
      repeated: false,
    });
  });

  it('per-item failures come back in items and failed, the call resolves', async () => {
    stub.handle((_req, res) =>
      sendJson(res, {
        UpdateType: 1,
        UpdateGroupResult: {
          UpdateGroupType: 2,
          GroupName: 'g',
          GroupId: 4,
          OldGroupName: 'g',
          ContactResultItem: [
            { ContactOptType: 1, ContactItem: { Type: 1, To_Account: 'ok' }, ResultCode: 0, ResultInfo: '' },
            {
              ContactOptType: 1,
              ContactItem: { Type: 1, To_Account: 'ghost' },
              ResultCode: 50001,
              ResultInfo: 'not imported',
            },
            {
              ContactOptType: 2,
              ContactItem: { Type: 2, ToGroupId: '@TGS#x' },
              ResultCode: 50002,
              ResultInfo: 'not a member',
            },
          ],
        },
        ...OK,
      }),
    );
    const result = await client().updateGroupMembers('u', 'g', {
      add: [
        { type: 1, id: 'ok' },
        { type: 1, id: 'ghost' },
      ],
      remove: [{ type: 2, id: '@TGS#x' }],
    });
    expect(result.items).toHaveLength(3);
    expect(result.failed).toEqual([
      { conversation: { type: 1, id: 'ghost' }, op: 'add', resultCode: 50001, resultInfo: 'not imported' },
      {
        conversation: { type: 2, id: '@TGS#x' },
        op: 'remove',
        resultCode: 50002,
        resultInfo: 'not a member',
      },
    ]);
  });

  it('failed calls always release the connection: 60 failing calls on a 1-connection pool finish', async () => {
    const big = 'x'.repeat(256 * 1024); // above undici's 64 KiB highWaterMark: an unread body stalls
    stub.handle((_req, res, i) => {
      if (i % 3 === 0) sendJson(res, big, 502);
      else if (i % 3 === 1) sendJson(res, { ActionStatus: 'FAIL', ErrorCode: 50004, ErrorInfo: big });
      else sendJson(res, `{"truncated":${big}`);
    });
    const c = client({ connections: 1 });
    const results = await Promise.allSettled(Array.from({ length: 60 }, () => c.deleteGroup('u', 'g')));
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(stub.requests).toHaveLength(60);
  }, 15_000);
});

describe('timeouts, network errors, aborts', () => {
  it('no answer within timeoutMs is a timeout failure', async () => {
    stub.handle(() => undefined); // never answers
    const events: CallEvent[] = [];
    const err = await rejection(
      client({ timeoutMs: 3001, onCall: (e) => events.push(e) }).getGroupsPage('u', 0),
    );
    expect(err.code).toBe('TRANSPORT');
    expect(failureOf(err)).toEqual({ kind: 'timeout' });
    expect(err.message).toContain('no response within 3001 ms');
    expect(events.map((e) => e.outcome)).toEqual(['timeout']);
  }, 10_000);

  it('a body that stalls is a timeout failure (injected dispatcher)', async () => {
    const agent = new MockAgent();
    agent.disableNetConnect();
    agent
      .get('http://127.0.0.1:9')
      .intercept({ path: (p) => p.startsWith('/v4/recentcontact/'), method: 'POST' })
      .replyWithError(new errors.BodyTimeoutError())
      .times(2);
    const first = client({ endpoint: 'http://127.0.0.1:9', dispatcher: agent });
    expect(failureOf(await rejection(first.getGroupsPage('u', 0)))).toEqual({ kind: 'timeout' });
    // close() leaves an injected dispatcher open: a second client still sends through it.
    await first.close();
    const second = client({ endpoint: 'http://127.0.0.1:9', dispatcher: agent });
    expect(failureOf(await rejection(second.getGroupsPage('u', 0)))).toEqual({ kind: 'timeout' });
    agent.assertNoPendingInterceptors();
    await agent.close();
  });

  it('a connection dropped without an answer is a transient network failure', async () => {
    stub.handle((_req, res) => res.socket?.destroy());
    const err = await rejection(client().createGroup('u', 'g', []));
    expect(err.code).toBe('TRANSPORT');
    expect(failureOf(err)).toMatchObject({ kind: 'network' });
    expect(classifyFailure(failureOf(err) ?? { kind: 'api', errorCode: 0 })).toBe('transient');
  });

  it('switches to the backup endpoint after 3 connection failures in a row, for good, and says so', async () => {
    const closed = await startStub();
    const deadUrl = closed.url;
    await closed.close();
    const switches: unknown[] = [];
    const c = client({
      endpoint: deadUrl,
      backupEndpoint: stub.url,
      onBackupSwitch: (e) => switches.push(e),
    });
    expect(c.canSwitchToBackup).toBe(true);
    for (let i = 0; i < 3; i++) {
      expect(failureOf(await rejection(c.getGroupsPage('u', 0)))).toEqual({
        kind: 'network',
        cause: 'ECONNREFUSED',
      });
    }
    expect(switches).toEqual([{ from: deadUrl, to: stub.url, failures: 3, cause: 'ECONNREFUSED' }]);
    expect(c.baseUrl.origin).toBe(stub.url);
    expect(c.canSwitchToBackup).toBe(false);
    await c.getGroupsPage('u', 0);
    expect(stub.requests).toHaveLength(1);
  });

  it('a region switches to its documented backup domain; HTTP answers (even 502) reset the count', async () => {
    const agent = new MockAgent();
    agent.disableNetConnect();
    const main = agent.get('https://adminapijpn.im.qcloud.com');
    const refused = () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    main
      .intercept({ path: (p) => p.startsWith('/v4/'), method: 'POST' })
      .replyWithError(refused())
      .times(2);
    main.intercept({ path: (p) => p.startsWith('/v4/'), method: 'POST' }).reply(502, 'bad gateway');
    main
      .intercept({ path: (p) => p.startsWith('/v4/'), method: 'POST' })
      .replyWithError(refused())
      .times(3);
    agent
      .get('https://adminapijpn.my-imcloud.com')
      .intercept({ path: (p) => p.startsWith('/v4/'), method: 'POST' })
      .reply(200, { ContactItem: [], GroupItem: [], CompleteFlag: 1, NextStartIndex: 0, ...OK });
    const switches: { to: string }[] = [];
    const c = regionClient({
      region: 'tokyo',
      dispatcher: agent,
      onBackupSwitch: (e) => switches.push(e),
    });
    for (let i = 0; i < 5; i++) await rejection(c.getGroupsPage('u', 0));
    // 2 refused, a 502 (reached: count reset), 3 refused → switch after the sixth call.
    expect(switches).toHaveLength(0);
    await rejection(c.getGroupsPage('u', 0));
    expect(switches.map((e) => e.to)).toEqual(['https://adminapijpn.my-imcloud.com']);
    expect(await c.getGroupsPage('u', 0)).toMatchObject({ complete: true });
    agent.assertNoPendingInterceptors();
    await agent.close();
    // Already on the backup domain: nowhere to switch to.
    expect(regionClient({ region: 'tokyo', backup: true }).canSwitchToBackup).toBe(false);
    expect(
      client({ switchToBackupAfter: 0, endpoint: stub.url, backupEndpoint: stub.url }).canSwitchToBackup,
    ).toBe(false);
  });

  it('a refused connection is a network failure naming the error code', async () => {
    const closed = await startStub();
    const url = closed.url;
    await closed.close();
    const c = client({ endpoint: url });
    const err = await rejection(c.getGroupsPage('u', 0));
    expect(failureOf(err)).toEqual({ kind: 'network', cause: 'ECONNREFUSED' });
  });

  it('a call aborted by the caller rejects as INTERRUPTED, not a service failure', async () => {
    stub.handle(() => undefined);
    const controller = new AbortController();
    const pending = client().getGroupsPage('u', 0, controller.signal);
    setImmediate(() => controller.abort());
    const err = await rejection(pending);
    expect(err.code).toBe('INTERRUPTED');
    expect(failureOf(err)).toBeUndefined();
  });

  it('a caller deadline (AbortSignal.timeout) is a timeout failure', async () => {
    stub.handle(() => undefined);
    const err = await rejection(client().getGroupsPage('u', 0, AbortSignal.timeout(50)));
    expect(err.code).toBe('TRANSPORT');
    expect(failureOf(err)).toEqual({ kind: 'timeout' });
    expect(err.message).toBe(
      'get_contact_group failed for user "u": no response before the caller\'s deadline',
    );
  });
});

describe('UserSig refusals', () => {
  it('70001 re-signs once and retries the call', async () => {
    let now = 1_700_000_000;
    stub.handle((_req, res, i) => {
      if (i === 0) {
        now += 60;
        sendJson(res, { ActionStatus: 'FAIL', ErrorCode: 70001, ErrorInfo: 'sig expired' });
      } else sendJson(res, S.DELETE_RESPONSE);
    });
    const events: CallEvent[] = [];
    const result = await client({ nowSeconds: () => now, onCall: (e) => events.push(e) }).deleteGroup(
      'user_0001',
      'group_0001',
    );
    expect(result).toEqual({ groupId: 1 });
    const [first, second] = stub.requests.map((r) => r.query.get('usersig') ?? '');
    expect(stub.requests).toHaveLength(2);
    expect(second).not.toBe(first);
    expect(decodeUserSig(second ?? '')['TLS.time']).toBe(1_700_000_060);
    expect(stub.requests[0]?.rawBody).toBe(stub.requests[1]?.rawBody);
    expect(events.map((e) => [e.outcome, e.errorCode])).toEqual([
      ['api_error', 70001],
      ['ok', undefined],
    ]);
  });

  it('a second refusal is returned to the caller, after exactly two calls', async () => {
    stub.handle((_req, res) => sendJson(res, { ActionStatus: 'FAIL', ErrorCode: 70052, ErrorInfo: '' }));
    const err = await rejection(client().deleteGroup('u', 'g'));
    expect(failureOf(err)).toEqual({ kind: 'api', errorCode: 70052 });
    expect(stub.requests).toHaveLength(2);
  });

  it('other errors are not retried by the client', async () => {
    stub.handle((_req, res) => sendJson(res, { ActionStatus: 'FAIL', ErrorCode: 50004, ErrorInfo: '' }));
    await rejection(client().deleteGroup('u', 'g'));
    expect(stub.requests).toHaveLength(1);
  });
});

describe('secrets', () => {
  it('never appear in errors, their causes, or onCall events', async () => {
    const answers: ((res: import('node:http').ServerResponse, echo: string) => void)[] = [
      // The service echoing the whole URL and the key into ErrorInfo.
      (res, echo) => sendJson(res, { ActionStatus: 'FAIL', ErrorCode: 70009, ErrorInfo: echo }),
      (res, echo) => sendJson(res, { ActionStatus: 'FAIL', ErrorCode: 50002, ErrorInfo: echo }),
      (res, echo) => sendJson(res, echo, 502),
      (res, echo) => sendJson(res, echo),
      (res) => res.socket?.destroy(),
    ];
    const events: CallEvent[] = [];
    const c = client({ onCall: (e) => events.push(e) });
    const texts: string[] = [];
    const sigs = new Set<string>();
    for (const answer of answers) {
      stub.handle((req, res) => {
        const sig = req.query.get('usersig') ?? '';
        sigs.add(sig);
        answer(res, `bad request /v4/recentcontact/x?${req.rawQuery} sig=${sig} key=${SECRET_KEY}`);
      });
      const err = await rejection(c.createGroup('alice', 'work', [{ type: 1, id: 'bob' }]));
      texts.push(everyText(err));
    }
    expect(texts).toHaveLength(answers.length);
    expect(texts[0]).toContain('ErrorCode 70009');
    expect(sigs.size).toBe(1);
    const sig = [...sigs][0] ?? '';
    const eventText = JSON.stringify(events);
    expect(events).toHaveLength(answers.length);
    for (const text of [...texts, eventText]) {
      expect(text).not.toContain(SECRET_KEY);
      expect(text).not.toContain(sig);
      expect(text).not.toContain(encodeURIComponent(sig));
      expect(text).not.toMatch(/usersig=(?!\[Redacted\])/);
    }
  });

  it('invalid options never echo the key', () => {
    expect(
      () => new TencentClient({ sdkAppId: 0, secretKey: SECRET_KEY, endpoint: 'http://10.0.0.1' }),
    ).toThrow(expect.objectContaining({ code: 'CONFIG', message: expect.not.stringContaining(SECRET_KEY) }));
  });
});

describe('options', () => {
  const base = { sdkAppId: SDK_APP_ID, secretKey: SECRET_KEY };

  it('reports every invalid option at once, in p-queue style', () => {
    let thrown: unknown;
    try {
      new TencentClient({
        ...base,
        sdkAppId: 1.5,
        connections: 0,
        timeoutMs: 3000,
        userSigExpireSeconds: 10,
        admin: '',
      });
    } catch (err) {
      thrown = err;
    }
    expect(isSyncError(thrown, 'CONFIG')).toBe(true);
    const message = (thrown as Error).message;
    expect(message).toContain('Expected `sdkAppId` to be an integer from 1 and up, got `1.5` (number)');
    expect(message).toContain('Expected `connections` to be an integer from 1 and up, got `0` (number)');
    expect(message).toContain(
      "Expected `timeoutMs` to be a number of ms above the service's own 3000 ms timeout, got `3000` (number)",
    );
    expect(message).toContain(
      'Expected `userSigExpireSeconds` to be an integer from 60 and up, got `10` (number)',
    );
    expect(message).toContain('Expected `admin` to be a non-empty string, got `` (string)');
  });

  it.each([
    [{ secretKey: '' }, 'Expected `secretKey` to be a non-empty string'],
    [{ region: 'mars' }, 'Unknown region "mars"'],
    [{ region: 'tokyo', endpoint: 'http://127.0.0.1:1' }, 'Expected either `region` or `endpoint`, got both'],
    [{ endpoint: 'http://chat.example.com' }, 'Plain http is allowed only to loopback'],
    [{ endpoint: 'not a url' }, 'Expected --endpoint to be a URL'],
  ])('refuses %j', (extra, message) => {
    expect(() => new TencentClient({ ...base, ...extra })).toThrow(message);
  });

  it('resolves regions, backups and endpoints to an origin', () => {
    const make = (extra: Partial<TencentClientOptions>) => regionClient(extra).baseUrl.href;
    expect(make({})).toBe('https://adminapisgp.im.qcloud.com/');
    expect(make({ region: 'china' })).toBe('https://console.tim.qq.com/');
    expect(make({ region: 'tokyo', backup: true })).toBe('https://adminapijpn.my-imcloud.com/');
    expect(make({ endpoint: 'http://127.0.0.1:8080/some/path' })).toBe('http://127.0.0.1:8080/');
  });

  it('close() is idempotent and later calls reject without a request', async () => {
    const c = client();
    await c.close();
    await c.close();
    const err = await rejection(c.getGroupsPage('u', 0));
    expect(err.code).toBe('USAGE');
    expect(stub.requests).toHaveLength(0);
  });

  it('a throwing onCall hook does not change the outcome', async () => {
    stub.handle((_req, res) => sendJson(res, S.DELETE_RESPONSE));
    const result = await client({
      onCall: () => {
        throw new Error('metrics down');
      },
    }).deleteGroup('user_0001', 'group_0001');
    expect(result).toEqual({ groupId: 1 });
  });

  it('onCall events carry endpoint, duration, status and code only', async () => {
    const events: CallEvent[] = [];
    stub.handle((_req, res, i) =>
      i === 0
        ? sendJson(res, S.GET_RESPONSE)
        : sendJson(res, { ActionStatus: 'FAIL', ErrorCode: 60007, ErrorInfo: '' }),
    );
    const c = client({ onCall: (e) => events.push(e) });
    await c.getGroupsPage('u', 0);
    await c.getGroupsPage('u', 0).catch(() => undefined);
    expect(events.map((e) => Object.keys(e).sort())).toEqual([
      ['durationMs', 'endpoint', 'httpStatus', 'outcome'],
      ['durationMs', 'endpoint', 'errorCode', 'httpStatus', 'outcome'],
    ]);
    expect(events[1]).toMatchObject({
      endpoint: 'get_contact_group',
      httpStatus: 200,
      errorCode: 60007,
      outcome: 'api_error',
    });
    expect(events.every((e) => e.durationMs >= 0)).toBe(true);
  });
});

describe('failureOf', () => {
  it('derives failures from SyncErrors built elsewhere, and round-trips errorForFailure', async () => {
    const { SyncError } = await import('../../src/errors.js');
    expect(failureOf(new SyncError('API', 'x', { errorCode: 60007 }))).toEqual({
      kind: 'api',
      errorCode: 60007,
    });
    expect(failureOf(new SyncError('TRANSPORT', 'x', { httpStatus: 503 }))).toEqual({
      kind: 'http',
      status: 503,
    });
    expect(failureOf(new SyncError('TRANSPORT', 'x'))).toEqual({ kind: 'network', cause: 'unknown' });
    expect(failureOf(new SyncError('CONFIG', 'x'))).toBeUndefined();
    expect(failureOf(new Error('x'))).toBeUndefined();
    expect(failureOf('x')).toBeUndefined();
    for (const f of [
      { kind: 'timeout' },
      { kind: 'network', cause: 'ECONNRESET' },
      { kind: 'api', errorCode: 51009 },
      { kind: 'http', status: 429 },
    ] as const) {
      const err = errorForFailure(f, 'scripted', { user: 'u' });
      expect(failureOf(err)).toEqual(f);
      expect(err.code).toBe(f.kind === 'api' ? 'API' : 'TRANSPORT');
    }
  });
});

describe('send hook', () => {
  it('calls the hook of withSendHook once per request, when the request is written', async () => {
    const { withSendHook } = await import('../../src/tencent/send-hook.js');
    let sentAt = 0;
    let answeredAt = 0;
    stub.handle((_req, res) => {
      answeredAt = performance.now();
      sendJson(res, S.GET_RESPONSE);
    });
    const calls: number[] = [];
    const c = client();
    await withSendHook(
      () => {
        calls.push(1);
        sentAt = performance.now();
      },
      async () => {
        await c.getGroupsPage('u', 0);
      },
    );
    expect(calls).toEqual([1]);
    // Sent before the server saw it.
    expect(sentAt).toBeLessThanOrEqual(answeredAt);
    // Outside withSendHook: no hook, the call works as before.
    await c.getGroupsPage('u', 0);
    expect(calls).toEqual([1]);
  });
});
