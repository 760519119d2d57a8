import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { SyncError } from '../../src/errors.js';
import { AccessCheckedApi, afterAccessCheck, checkAccess } from '../../src/executor/preflight.js';
import type { EndpointScheduler } from '../../src/executor/rate/limiters.js';
import type { GroupsPage } from '../../src/tencent/api.js';
import { errorForFailure } from '../../src/tencent/client.js';
import type { Failure } from '../../src/tencent/error-codes.js';
import type { Endpoint } from '../../src/tencent/wire.js';
import { type FakeApiOptions, FakeChatApi } from './fake-api.js';
import { FakeClock, RecordingScheduler } from './helpers.js';

/**
 * The credentials check itself (checkAccess) and the api that runs it before its first call, on a
 * scripted get_contact_group and the fake clock (preflight-budget.test.ts: the check in the budget).
 */

const PAGE: GroupsPage = { groups: [], conversations: [], complete: true, nextStartIndex: 0 };

/** get_contact_group answering each attempt from `answers` in turn (an error is thrown). */
function scripted(...answers: unknown[]) {
  const calls: { user: string; start: number; signal: AbortSignal | undefined }[] = [];
  const api = {
    calls,
    async getGroupsPage(user: string, start: number, signal?: AbortSignal): Promise<GroupsPage> {
      calls.push({ user, start, signal });
      const answer = answers[Math.min(calls.length, answers.length) - 1];
      if (answer instanceof Error) throw answer;
      return PAGE;
    },
  };
  return api;
}

const failure = (f: Failure, message = 'the service said no') => errorForFailure(f, message);
const apiError = (errorCode: number) => failure({ kind: 'api', errorCode }, `ErrorCode ${errorCode}`);
const network = () => new SyncError('TRANSPORT', 'connect ECONNREFUSED');

async function refusal(promise: Promise<unknown>): Promise<SyncError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SyncError);
  return err as SyncError;
}

describe('checkAccess', () => {
  it('passes on the first answer: one call of the admin from index 0, no wait', async () => {
    const api = scripted(undefined);
    const clock = new FakeClock();
    await checkAccess(api, { admin: 'administrator', target: 'https://x', clock });
    expect(api.calls.map((c) => [c.user, c.start])).toEqual([['administrator', 0]]);
    expect(api.calls[0]?.signal).toBeInstanceOf(AbortSignal);
    expect(api.calls[0]?.signal?.aborted).toBe(false);
    expect(clock.sleeps).toEqual([]);
  });

  it('passes on a refusal that is not about the credentials (permanent: 70107, unknown codes)', async () => {
    for (const code of [70107, 99999]) {
      const api = scripted(apiError(code));
      const clock = new FakeClock();
      await checkAccess(api, { admin: 'a', target: 't', clock });
      expect(api.calls).toHaveLength(1);
      expect(clock.sleeps).toEqual([]);
    }
  });

  it.each([
    [
      70002,
      'AUTH',
      'check the SecretKey (TENCENT_SECRET_KEY or --secret-key-file), the SDKAppID and the system clock',
    ],
    [
      70001,
      'AUTH',
      'check the SecretKey (TENCENT_SECRET_KEY or --secret-key-file), the SDKAppID and the system clock',
    ],
    [
      60004,
      'CONFIG',
      'check the SecretKey (TENCENT_SECRET_KEY or --secret-key-file), the SDKAppID and the system clock',
    ],
    [60006, 'CONFIG', 'check the SDKAppID (TENCENT_SDKAPPID) and that the region or endpoint is the app’s'],
    [70020, 'AUTH', 'check the SDKAppID (TENCENT_SDKAPPID) and that the region or endpoint is the app’s'],
    [70403, 'CONFIG', 'the admin identifier (TENCENT_ADMIN or --admin) must be an app admin'],
    [60010, 'CONFIG', 'the admin identifier (TENCENT_ADMIN or --admin) must be an app admin'],
    [51013, 'CONFIG', 'the app’s edition does not support conversation groups'],
    [60021, 'CONFIG', 'the service does not accept calls from this IP address'],
  ] as const)('ErrorCode %i stops at once as %s with its hint', async (code, expected, hint) => {
    const cause = apiError(code);
    const api = scripted(cause);
    const clock = new FakeClock();
    const err = await refusal(checkAccess(api, { admin: 'a', target: 't', clock }));
    expect(err.code).toBe(expected);
    expect(err.message).toBe(`The credentials check failed: ErrorCode ${code} (${hint})`);
    expect(err.context).toEqual({ errorCode: code });
    expect(err.cause).toBe(cause);
    expect(api.calls).toHaveLength(1);
    expect(clock.sleeps).toEqual([]);
  });

  it('a fatal code without a hint, and one of 70xxx above 70099, are told without a hint', async () => {
    const blocked = await refusal(checkAccess(scripted(apiError(70051)), { admin: 'a', target: 't' }));
    expect(blocked.code).toBe('AUTH');
    expect(blocked.message).toBe('The credentials check failed: ErrorCode 70051');
    const security = await refusal(checkAccess(scripted(apiError(70114)), { admin: 'a', target: 't' }));
    expect(security.code).toBe('CONFIG');
    expect(security.message).toBe('The credentials check failed: ErrorCode 70114');
    expect(security.context).toEqual({ errorCode: 70114 });
  });

  it('an HTTP refusal (401) is a CONFIG error without an ErrorCode', async () => {
    const cause = failure({ kind: 'http', status: 401 }, 'HTTP 401');
    const err = await refusal(
      checkAccess(scripted(cause), { admin: 'a', target: 't', clock: new FakeClock() }),
    );
    expect(err.code).toBe('CONFIG');
    expect(err.message).toBe('The credentials check failed: HTTP 401');
    expect(err.context).toEqual({});
    expect(err.cause).toBe(cause);
  });

  it('an endpoint that cannot be reached: three attempts, 200 then 400 ms apart, then CONFIG', async () => {
    const last = failure({ kind: 'timeout' }, 'timed out');
    const api = scripted(network(), network(), last);
    const clock = new FakeClock();
    const err = await refusal(checkAccess(api, { admin: 'a', target: 'https://example.test', clock }));
    expect(err.code).toBe('CONFIG');
    expect(err.message).toBe('The service at https://example.test cannot be reached (3 attempts): timed out');
    expect(err.context).toEqual({});
    expect(err.cause).toBe(last);
    expect(api.calls).toHaveLength(3);
    expect(clock.sleeps).toEqual([200, 400]);
  });

  it('answers that are not the REST API are told as such', async () => {
    const odd = new SyncError('UNEXPECTED_RESPONSE', 'HTTP 200 with an HTML page');
    const clock = new FakeClock();
    const err = await refusal(checkAccess(scripted(odd), { admin: 'a', target: 'T', attempts: 2, clock }));
    expect(err.code).toBe('CONFIG');
    expect(err.message).toBe(
      'The service at T answers with something that is not the Tencent Cloud Chat REST API (2 attempts): HTTP 200 with an HTML page',
    );
    expect(clock.sleeps).toEqual([200]);
  });

  it('a transient failure then an answer passes; `attempts` bounds the tries', async () => {
    const api = scripted(network(), undefined);
    const clock = new FakeClock();
    await checkAccess(api, { admin: 'a', target: 't', clock });
    expect(api.calls).toHaveLength(2);
    expect(clock.sleeps).toEqual([200]);

    const once = scripted(network());
    const err = await refusal(
      checkAccess(once, { admin: 'a', target: 't', attempts: 1, clock: new FakeClock() }),
    );
    expect(err.message).toBe('The service at t cannot be reached (1 attempts): connect ECONNREFUSED');
    expect(once.calls).toHaveLength(1);
  });

  it('an error that is not a service failure is rethrown as it is, without retrying', async () => {
    const bug = new TypeError('not a function');
    const api = scripted(bug);
    await expect(checkAccess(api, { admin: 'a', target: 't', clock: new FakeClock() })).rejects.toBe(bug);
    expect(api.calls).toHaveLength(1);
  });

  it("once the caller's signal aborted, the failure is rethrown as it is", async () => {
    const controller = new AbortController();
    const lost = network();
    const api = {
      calls: 0,
      async getGroupsPage(): Promise<GroupsPage> {
        api.calls++;
        controller.abort(new Error('stop'));
        throw lost;
      },
    };
    await expect(
      checkAccess(api, { admin: 'a', target: 't', signal: controller.signal, clock: new FakeClock() }),
    ).rejects.toBe(lost);
    expect(api.calls).toBe(1);
  });

  it("the call's signal follows the caller's signal", async () => {
    const controller = new AbortController();
    let seen: AbortSignal | undefined;
    const api = {
      getGroupsPage(_user: string, _start: number, signal?: AbortSignal): Promise<GroupsPage> {
        seen = signal;
        return new Promise((_resolve, reject) => {
          signal?.addEventListener('abort', () => reject(new Error('aborted by the caller')));
        });
      },
    };
    const check = checkAccess(api, { admin: 'a', target: 't', signal: controller.signal, timeoutMs: 60_000 });
    await Promise.resolve();
    expect(seen?.aborted).toBe(false);
    controller.abort(new Error('stop'));
    await expect(check).rejects.toThrow('aborted by the caller');
    expect(seen?.aborted).toBe(true);
  });

  it("the caller's signal stops the wait between attempts", async () => {
    const controller = new AbortController();
    const clock = {
      now: () => 0,
      sleep: (_ms: number, signal?: AbortSignal) => {
        controller.abort(new Error('stopped while waiting'));
        return signal?.aborted === true ? Promise.reject(signal.reason) : Promise.resolve();
      },
    };
    const api = scripted(network());
    await expect(
      checkAccess(api, { admin: 'a', target: 't', signal: controller.signal, clock }),
    ).rejects.toThrow('stopped while waiting');
    expect(api.calls).toHaveLength(1);
  });

  it('goes through the scheduler given, on get_contact_group with the call signal', async () => {
    const scheduler = new RecordingScheduler();
    const api = scripted(undefined);
    await checkAccess(api, { admin: 'a', target: 't', scheduler });
    expect(scheduler.scheduled).toEqual(['get_contact_group']);
    expect(api.calls).toHaveLength(1);
  });
});

describe('AccessCheckedApi', () => {
  it('runs the check once, before the first call of any kind, then passes each call on', async () => {
    const fake = new FakeChatApi();
    const checked = new AccessCheckedApi(fake, { admin: 'administrator', target: 't' });
    expect(fake.calls).toEqual([]);
    await checked.createGroup('u', 'g', [{ type: 1, id: 'p' }]);
    await checked.updateGroupMembers('u', 'g', { add: [{ type: 1, id: 'q' }], remove: [] });
    await checked.renameGroup('u', 'g', 'h');
    await checked.searchGroups('u', [{ type: 1, id: 'q' }]);
    await checked.getGroupsPage('u', 0);
    await checked.deleteGroup('u', 'h');
    expect(fake.calls.map((c) => [c.method, c.user, c.group])).toEqual([
      ['get', 'administrator', undefined],
      ['create', 'u', 'g'],
      ['update', 'u', 'g'],
      ['rename', 'u', 'g'],
      ['search', 'u', undefined],
      ['get', 'u', undefined],
      ['delete', 'u', 'h'],
    ]);
    expect(checked.ready()).toBe(checked.ready());
  });

  it('when the check fails, every call rejects with its error and none reaches the api', async () => {
    const options: FakeApiOptions = {
      fault: (call) => (call.user === 'administrator' ? { kind: 'api', code: 70005 } : undefined),
    };
    const fake = new FakeChatApi(options);
    const checked = new AccessCheckedApi(fake, { admin: 'administrator', target: 't' });
    const calls = [
      checked.createGroup('u', 'g', []),
      checked.updateGroupMembers('u', 'g', { add: [], remove: [] }),
      checked.renameGroup('u', 'g', 'h'),
      checked.deleteGroup('u', 'g'),
      checked.getGroupsPage('u', 0),
      checked.searchGroups('u', []),
    ];
    for (const call of calls) {
      const err = await refusal(call);
      expect(err.code).toBe('AUTH');
      expect(err.context).toEqual({ errorCode: 70005 });
    }
    expect(fake.calls.map((c) => c.user)).toEqual(['administrator']);
  });
});

describe('afterAccessCheck', () => {
  /** A budget that runs every call, even one whose signal has aborted, and records it. */
  function passThrough() {
    const inner = new RecordingScheduler();
    const seen: { endpoint: Endpoint; signal: AbortSignal | undefined }[] = [];
    const scheduler: EndpointScheduler = Object.assign(Object.create(inner) as RecordingScheduler, {
      schedule<T>(endpoint: Endpoint, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
        seen.push({ endpoint, signal });
        return fn();
      },
    });
    return { scheduler, seen };
  }

  it('once the check passed, calls go straight to the budget (which judges their signal)', async () => {
    const { scheduler, seen } = passThrough();
    const checked = new AccessCheckedApi(new FakeChatApi(), { admin: 'administrator', target: 't' });
    const after = afterAccessCheck(scheduler, checked);
    expect(await after.schedule('get_contact_group', async () => 1)).toBe(1);
    const stopped = AbortSignal.abort('a reason that is no Error');
    expect(await after.schedule('create_contact_group', async () => 2, stopped)).toBe(2);
    expect(seen.map((s) => s.endpoint)).toEqual(['get_contact_group', 'create_contact_group']);
    expect(seen[1]?.signal).toBe(stopped);
  });

  it('before it, an aborted call rejects with an AbortError and reaches neither the check nor the budget', async () => {
    const { scheduler, seen } = passThrough();
    const fake = new FakeChatApi();
    const checked = new AccessCheckedApi(fake, { admin: 'administrator', target: 't' });
    const after = afterAccessCheck(scheduler, checked);
    const err = await after
      .schedule('get_contact_group', async () => 1, AbortSignal.abort('no Error'))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toBe('AbortError');
    expect(seen).toEqual([]);
    expect(fake.calls).toEqual([]);
  });

  it("waits for the check with the call's signal, and takes its listener off afterwards", async () => {
    const { scheduler, seen } = passThrough();
    const fake = new FakeChatApi();
    const checked = new AccessCheckedApi(fake, { admin: 'administrator', target: 't' });
    const after = afterAccessCheck(scheduler, checked);
    const controller = new AbortController();
    expect(await after.schedule('create_contact_group', async () => 'ok', controller.signal)).toBe('ok');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    expect(seen.map((s) => s.endpoint)).toEqual(['create_contact_group']);
    expect(fake.calls.map((c) => c.method)).toEqual(['get']);
  });

  it('a failed check rejects the waiting call with its error and takes the listener off', async () => {
    const { scheduler, seen } = passThrough();
    const fake = new FakeChatApi({ fault: () => ({ kind: 'api', code: 70003 }) });
    const checked = new AccessCheckedApi(fake, { admin: 'administrator', target: 't' });
    const after = afterAccessCheck(scheduler, checked);
    const controller = new AbortController();
    const err = await refusal(after.schedule('create_contact_group', async () => 'ok', controller.signal));
    expect(err.code).toBe('AUTH');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    expect(seen).toEqual([]);
    // Without a signal too.
    expect((await refusal(after.schedule('create_contact_group', async () => 'ok'))).code).toBe('AUTH');
  });

  it('keeps the budget’s rate, reports and stop', async () => {
    const inner = new RecordingScheduler(42);
    const checked = new AccessCheckedApi(new FakeChatApi(), { admin: 'administrator', target: 't' });
    const after = afterAccessCheck(inner, checked);
    expect(after.rate).toBe(42);
    expect(after.stats).toBe(inner.stats);
    after.reportRateLimited('create_contact_group');
    after.reportSuccess('get_contact_group');
    expect(inner.rateLimited).toEqual(['create_contact_group']);
    expect(inner.successes).toEqual(['get_contact_group']);
  });
});
