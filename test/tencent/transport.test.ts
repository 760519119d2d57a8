import { errors, MockAgent } from 'undici';
import { describe, expect, it } from 'vitest';
import { SyncError } from '../../src/errors.js';
import { type CallEvent, failureOf, type TencentClientOptions } from '../../src/tencent/client.js';
import { OK, rejection, SECRET_KEY, useStubClients } from './stub-clients.js';
import { sendJson } from './stub-server.js';

// What a caller of the HTTP client sees of each way a call can end: the error's code, failure,
// message, context and cause, and the onCall event. The request shape and the endpoints are in
// client.test.ts; this file is the failure paths' wording and bookkeeping.

const { stub, client } = useStubClients();

/** A client whose every request undici rejects with `error` (no socket is opened). */
function failingClient(error: unknown, extra: Partial<TencentClientOptions> = {}) {
  const dispatcher = {
    request: () => Promise.reject(error),
  } as unknown as NonNullable<TencentClientOptions['dispatcher']>;
  return client({ endpoint: 'http://127.0.0.1:9', dispatcher, ...extra });
}

describe('failureOf on SyncErrors built elsewhere (fakes)', () => {
  it('goes by the error code first, then by the context', () => {
    // A transport error carrying an ErrorCode in its context is still a transport failure.
    expect(failureOf(new SyncError('TRANSPORT', 'x', { errorCode: 50002, httpStatus: 502 }))).toEqual({
      kind: 'http',
      status: 502,
    });
    expect(failureOf(new SyncError('UNEXPECTED_RESPONSE', 'x'))).toEqual({
      kind: 'unexpected',
      repeated: false,
    });
  });
});

describe('service refusals (ErrorCode other than 0)', () => {
  it('the message names the call, the code and its meaning, then the service text, cut at 500 characters', async () => {
    stub.handle((_req, res) => sendJson(res, { ActionStatus: 'FAIL', ErrorCode: 50004, ErrorInfo: '' }));
    const bare = await rejection(client().deleteGroup('alice', 'g'));
    expect(bare.message).toBe(
      'del_contact_group failed for user "alice", group "g": ErrorCode 50004 (internal server error)',
    );
    expect(bare.context).toEqual({ user: 'alice', group: 'g', errorCode: 50004 });

    stub.handle((_req, res) => sendJson(res, { ActionStatus: 'FAIL', ErrorCode: 50004, ErrorInfo: 7 }));
    expect((await rejection(client().deleteGroup('alice', 'g'))).message).toBe(bare.message);

    const long = `${'a'.repeat(499)}bc`;
    stub.handle((_req, res) => sendJson(res, { ActionStatus: 'FAIL', ErrorCode: 50004, ErrorInfo: long }));
    const cut = await rejection(client().getGroupsPage('bob', 0));
    expect(cut.message).toBe(
      `get_contact_group failed for user "bob": ErrorCode 50004 (internal server error): ${'a'.repeat(499)}b`,
    );
    expect(cut.context).toEqual({ user: 'bob', errorCode: 50004 });
    expect(cut.cause).toBeUndefined();
  });

  it('an ActionStatus that is neither OK nor FAIL is an unexpected answer, whatever the ErrorCode', async () => {
    for (const ErrorCode of [0, 50004]) {
      stub.handle((_req, res) => sendJson(res, { ActionStatus: 'PENDING', ErrorCode }));
      const err = await rejection(client().deleteGroup('u', 'g'));
      expect(err.code).toBe('UNEXPECTED_RESPONSE');
      expect(err.message).toContain(': ActionStatus or ErrorCode missing or invalid;');
    }
  });

  it('masks the SecretKey and the UserSig wherever the service echoes them', async () => {
    let sig = '';
    stub.handle((req, res) => {
      sig = req.query.get('usersig') ?? '';
      sendJson(res, { ActionStatus: 'FAIL', ErrorCode: 50004, ErrorInfo: `key ${SECRET_KEY} sig ${sig}` });
    });
    const err = await rejection(client().deleteGroup('u', 'g'));
    expect(sig.length).toBeGreaterThan(0);
    expect(err.message).toBe(
      'del_contact_group failed for user "u", group "g": ErrorCode 50004 (internal server error): key [Redacted] sig [Redacted]',
    );
  });
});

describe('unexpected answers (HTTP 200, not the documented shape)', () => {
  const unexpected = async (body: string) => {
    stub.handle((_req, res) => sendJson(res, body));
    return rejection(client().getGroupsPage('u', 0));
  };

  it('a body of JSON null is not an object', async () => {
    const err = await unexpected('null');
    expect(err.code).toBe('UNEXPECTED_RESPONSE');
    expect(err.message).toContain(': the body is not a JSON object; the body starts "null"');
  });

  it('an empty body says so', async () => {
    expect((await unexpected('')).message).toBe(
      'get_contact_group failed for user "u": unexpected response (HTTP 200, not the documented shape): the body is not JSON; the body is empty',
    );
  });

  it('the excerpt folds whitespace runs and control characters into one space, trimmed, and is cut after 160 characters', async () => {
    expect((await unexpected(' \n\t<p>a  \u0000\u0001 b</p>\r\n')).message).toMatch(
      /; the body starts "<p>a b<\/p>"$/,
    );
    const exactly160 = `<${'x'.repeat(159)}`;
    expect((await unexpected(exactly160)).message).toMatch(new RegExp(`starts "${exactly160}"$`));
    expect((await unexpected(`${exactly160}y`)).message).toMatch(new RegExp(`starts "${exactly160}…"$`));
  });

  it('onCall sees HTTP 200 for an unexpected answer and the status of an HTTP error', async () => {
    const events: CallEvent[] = [];
    const c = client({ onCall: (e) => events.push(e) });
    stub.handle((_req, res) => sendJson(res, 'not json'));
    await rejection(c.getGroupsPage('u', 0));
    stub.handle((_req, res) => sendJson(res, 'bad gateway', 502));
    const http = await rejection(c.getGroupsPage('u', 0));
    expect(events.map((e) => [e.outcome, e.httpStatus])).toEqual([
      ['unexpected_response', 200],
      ['http_error', 502],
    ]);
    // An HTTP error has no cause to hide: nothing was thrown below the client.
    expect(http.cause).toBeUndefined();
  });
});

describe('network errors, timeouts and aborts', () => {
  it('a network error names the code and the message; the cause keeps name, code and a scrubbed message only', async () => {
    const thrown = Object.assign(new Error(`socket hang up near ${SECRET_KEY}`), {
      code: 'ECONNRESET',
      secretKey: SECRET_KEY,
    });
    const err = await rejection(failingClient(thrown).getGroupsPage('u', 0));
    expect(failureOf(err)).toEqual({ kind: 'network', cause: 'ECONNRESET' });
    expect(err.message).toBe(
      'get_contact_group failed for user "u": network error (ECONNRESET: socket hang up near [Redacted])',
    );
    const cause = err.cause as Error & { code?: string };
    expect(cause).toBeInstanceOf(Error);
    expect([cause.name, cause.code, cause.message]).toEqual([
      'Error',
      'ECONNRESET',
      'socket hang up near [Redacted]',
    ]);
    expect(Object.keys(cause).sort()).toEqual(['code', 'name']);
  });

  it('an error without a code is named by its name; a thrown non-Error is "unknown"', async () => {
    const typed = new TypeError('fetch failed');
    const err = await rejection(failingClient(typed).deleteGroup('u', 'g'));
    expect(failureOf(err)).toEqual({ kind: 'network', cause: 'TypeError' });
    expect(err.message).toBe(
      'del_contact_group failed for user "u", group "g": network error (TypeError: fetch failed)',
    );
    expect((err.cause as Error).name).toBe('TypeError');
    expect(err.cause).not.toHaveProperty('code');

    const odd = await rejection(failingClient('boom').deleteGroup('u', 'g'));
    expect(failureOf(odd)).toEqual({ kind: 'network', cause: 'unknown' });
    expect(odd.message).toBe('del_contact_group failed for user "u", group "g": network error (unknown)');
    expect([(odd.cause as Error).name, (odd.cause as Error).message]).toEqual(['Error', 'boom']);
  });

  it('undici timeouts are timeout failures with their code, and keep it in the cause', async () => {
    const err = await rejection(failingClient(new errors.HeadersTimeoutError()).getGroupsPage('u', 0));
    expect(failureOf(err)).toEqual({ kind: 'timeout' });
    expect(err.message).toBe(
      'get_contact_group failed for user "u": no response within 10000 ms (UND_ERR_HEADERS_TIMEOUT)',
    );
    expect((err.cause as { code?: string }).code).toBe('UND_ERR_HEADERS_TIMEOUT');
  });

  it('a connect timeout is a timeout failure, and a connection failure that switches to the backup', async () => {
    const agent = new MockAgent();
    agent.disableNetConnect();
    agent
      .get('http://127.0.0.1:9')
      .intercept({ path: (p) => p.startsWith('/v4/'), method: 'POST' })
      .replyWithError(new errors.ConnectTimeoutError());
    agent
      .get('http://127.0.0.2:9')
      .intercept({ path: (p) => p.startsWith('/v4/'), method: 'POST' })
      .reply(200, { GroupItem: [], ContactItem: [], CompleteFlag: 1, NextStartIndex: 0, ...OK });
    const switches: unknown[] = [];
    const c = client({
      endpoint: 'http://127.0.0.1:9',
      backupEndpoint: 'http://127.0.0.2:9',
      dispatcher: agent,
      switchToBackupAfter: 1,
      onBackupSwitch: (e) => switches.push(e),
    });
    const err = await rejection(c.getGroupsPage('u', 0));
    expect(failureOf(err)).toEqual({ kind: 'timeout' });
    expect(err.message).toContain('(UND_ERR_CONNECT_TIMEOUT)');
    expect(switches).toEqual([
      { from: 'http://127.0.0.1:9', to: 'http://127.0.0.2:9', failures: 1, cause: 'UND_ERR_CONNECT_TIMEOUT' },
    ]);
    expect((await c.getGroupsPage('u', 0)).complete).toBe(true);
    await agent.close();
  });

  it('an abort by the caller names the call; a deadline keeps the TimeoutError as its cause', async () => {
    stub.handle(() => undefined);
    const controller = new AbortController();
    const pending = client().getGroupsPage('u', 0, controller.signal);
    setImmediate(() => controller.abort());
    const aborted = await rejection(pending);
    expect(aborted.code).toBe('INTERRUPTED');
    expect(aborted.message).toBe('get_contact_group for user "u" was aborted');
    expect(aborted.context).toEqual({ user: 'u' });

    const late = await rejection(client().deleteGroup('u', 'g', AbortSignal.timeout(30)));
    expect(failureOf(late)).toEqual({ kind: 'timeout' });
    expect((late.cause as Error).name).toBe('TimeoutError');
  });

  it('onCall durations are the time of the call, not more', async () => {
    const events: CallEvent[] = [];
    const c = client({ onCall: (e) => events.push(e) });
    await c.getGroupsPage('u', 0).catch(() => undefined);
    const before = performance.now();
    await c.getGroupsPage('u', 0).catch(() => undefined);
    const took = performance.now() - before;
    expect(events).toHaveLength(2);
    expect(events[1]?.durationMs).toBeGreaterThanOrEqual(0);
    expect(events[1]?.durationMs).toBeLessThanOrEqual(took);
  });
});
