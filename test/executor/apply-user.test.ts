import { describe, expect, it } from 'vitest';
import {
  applyUser,
  type FailedItem,
  type UserContext,
  type UserWork,
} from '../../src/executor/apply-user.js';
import type { CheckpointStore, UserProgress } from '../../src/executor/log/checkpoint.js';
import type { OpRecord, UserRecord } from '../../src/executor/log/checkpoint-records.js';
import type { Operation } from '../../src/planner/types.js';
import { type FakeApiOptions, FakeChatApi } from './fake-api.js';
import { conv, FakeClock, memoryCheckpoint, RecordingScheduler } from './helpers.js';

/**
 * One user's processing (applyUser) on its own: what it records for the user, when it calls, and which
 * refusals it reads the state for before deciding (run-apply.test.ts: the same through runApply).
 */

function context(api: FakeChatApi, checkpoint: Partial<CheckpointStore> = {}) {
  const users: Omit<UserRecord, 'type'>[] = [];
  const ops: Omit<OpRecord, 'type'>[] = [];
  const begun: string[] = [];
  const fatal: unknown[] = [];
  const failed: FailedItem[] = [];
  const stop = new AbortController();
  const ctx: UserContext = {
    api,
    scheduler: new RecordingScheduler(),
    checkpoint: {
      ...memoryCheckpoint(),
      begin: async (user: string) => {
        begun.push(user);
      },
      recordUser: (r) => users.push(r),
      recordOp: (r) => ops.push(r),
      ...checkpoint,
    },
    retry: { random: () => 0 },
    clock: new FakeClock(),
    stopSignal: stop.signal,
    callSignal: new AbortController().signal,
    fatal: (err) => fatal.push(err),
    failedItem: (item) => failed.push(item),
    opOutcome: () => {},
  };
  return { ctx, users, ops, begun, fatal, failed, stop };
}

const create = (group: string, keys: string[] = ['1:a']): Operation => ({
  id: `c-${group}`,
  kind: 'create',
  user: 'u',
  group,
  add: keys.map(conv),
});
const del = (group: string): Operation => ({ id: `d-${group}`, kind: 'delete', user: 'u', group });
const work = (...operations: Operation[]): UserWork => ({ user: 'u', operations });

describe('applyUser: users settled without a call', () => {
  it('a user breaking limits is skipped, with every violation in the reason', async () => {
    const api = new FakeChatApi();
    const { ctx, users, begun } = context(api);
    const violations = [
      { user: 'u', limit: 'groups' as const, count: 30, max: 20, message: 'over 20 groups' },
      { user: 'u', limit: 'conversations' as const, count: 9, max: 8, message: 'too many' },
    ];
    expect(await applyUser({ ...work(create('g')), violations }, undefined, ctx)).toBe('skipped');
    expect(users).toStrictEqual([{ user: 'u', outcome: 'skipped', reason: 'over 20 groups; too many' }]);
    expect(api.calls).toEqual([]);
    expect(begun).toEqual([]);
  });

  it('an empty list of violations skips nothing', async () => {
    const api = new FakeChatApi();
    const { ctx, users } = context(api);
    expect(await applyUser({ ...work(create('g')), violations: [] }, undefined, ctx)).toBe('done');
    expect(users).toStrictEqual([{ user: 'u', outcome: 'done' }]);
    expect(api.calls.map((c) => c.method)).toEqual(['create']);
  });

  it('a user that could not be read is failed with its message', async () => {
    const api = new FakeChatApi();
    const { ctx, users } = context(api);
    const failure = { errorCode: 50001, message: 'not imported' };
    expect(await applyUser({ ...work(create('g')), failure }, undefined, ctx)).toBe('failed');
    expect(users).toStrictEqual([{ user: 'u', outcome: 'failed', reason: 'not imported' }]);
    expect(api.calls).toEqual([]);
  });

  it('a user whose operations are all recorded ok is done, without a begin or a read', async () => {
    const api = new FakeChatApi();
    const { ctx, users, begun } = context(api);
    const prior: UserProgress = { status: 'begun', okOps: new Set(['c-g', 'c-h']) };
    expect(await applyUser(work(create('g'), create('h')), prior, ctx)).toBe('done');
    expect(users).toStrictEqual([{ user: 'u', outcome: 'done' }]);
    expect(begun).toEqual([]);
    expect(api.calls).toEqual([]);
  });

  it('a stopped run leaves the user unfinished before its begin', async () => {
    const api = new FakeChatApi();
    const { ctx, users, begun, stop } = context(api);
    stop.abort();
    expect(await applyUser(work(create('g')), undefined, ctx)).toBe('unfinished');
    expect(begun).toEqual([]);
    expect(users).toEqual([]);
    expect(api.calls).toEqual([]);
  });

  it('a begin that cannot be written is fatal, before any call', async () => {
    const api = new FakeChatApi();
    const full = new Error('ENOSPC');
    const { ctx, fatal, users } = context(api, {
      begin: async () => {
        throw full;
      },
    });
    expect(await applyUser(work(create('g')), undefined, ctx)).toBe('unfinished');
    expect(fatal).toEqual([full]);
    expect(users).toEqual([]);
    expect(api.calls).toEqual([]);
  });
});

describe('applyUser: outcomes', () => {
  it('a user with failed operations is failed, with their count', async () => {
    const api = new FakeChatApi({
      fault: (call) => (call.method === 'create' ? { kind: 'api', code: 51008 } : undefined),
    });
    const { ctx, users } = context(api);
    expect(await applyUser(work(create('g'), create('h')), undefined, ctx)).toBe('failed');
    expect(users).toStrictEqual([{ user: 'u', outcome: 'failed', reason: '2 operation(s) failed' }]);
  });

  it('a begun user whose state read is refused for good: every pending operation failed, the reason says why', async () => {
    const api = new FakeChatApi({
      fault: (call) => (call.method === 'get' ? { kind: 'api', code: 50001 } : undefined),
    });
    const { ctx, users, ops } = context(api);
    const prior: UserProgress = { status: 'begun', okOps: new Set(['c-g']) };
    expect(await applyUser(work(create('g'), create('h'), del('x')), prior, ctx)).toBe('failed');
    expect(ops.map((o) => [o.id, o.outcome, o.errorCode])).toEqual([
      ['c-h', 'failed', 50001],
      ['d-x', 'failed', 50001],
    ]);
    expect(users).toHaveLength(1);
    expect(users[0]).toMatchObject({ user: 'u', outcome: 'failed' });
    expect(users[0]?.reason).toMatch(/^reading the state failed: .*50001/);
    expect(api.calls.map((c) => c.method)).toEqual(['get']);
  });

  it('a user marked recheck is read first even when the checkpoint has nothing for it', async () => {
    const api = new FakeChatApi().seed('u', { g: ['1:a'] });
    const { ctx, ops } = context(api);
    expect(await applyUser({ ...work(create('g')), recheck: true }, undefined, ctx)).toBe('done');
    expect(api.calls.map((c) => c.method)).toEqual(['get']);
    expect(ops).toStrictEqual([
      { id: 'c-g', user: 'u', kind: 'create', group: 'g', outcome: 'ok', reconciled: true },
    ]);
  });
});

describe('applyUser: which refusals are looked into', () => {
  const refusing = (method: string, code: number): FakeApiOptions => ({
    fault: (call) => (call.method === method ? { kind: 'api', code } : undefined),
  });

  it.each([50002, 51009, 51010, 99999])(
    'a create refused with %i may mean it exists: the state is read (here the group is missing: failed)',
    async (code) => {
      const api = new FakeChatApi(refusing('create', code));
      const { ctx, ops } = context(api);
      expect(await applyUser(work(create('g')), undefined, ctx)).toBe('failed');
      expect(api.calls.map((c) => c.method)).toEqual(['create', 'get']);
      expect(ops).toStrictEqual([
        {
          id: 'c-g',
          user: 'u',
          kind: 'create',
          group: 'g',
          outcome: 'failed',
          errorCode: code,
          reconciled: true,
        },
      ]);
    },
  );

  it('a create refused with another known code is failed without a read', async () => {
    const api = new FakeChatApi(refusing('create', 51008));
    const { ctx, ops } = context(api);
    expect(await applyUser(work(create('g')), undefined, ctx)).toBe('failed');
    expect(api.calls.map((c) => c.method)).toEqual(['create']);
    expect(ops).toStrictEqual([
      { id: 'c-g', user: 'u', kind: 'create', group: 'g', outcome: 'failed', errorCode: 51008 },
    ]);
  });

  it('a delete answered "not found" (51009) is read, and done when the group is gone', async () => {
    const api = new FakeChatApi(refusing('delete', 51009));
    const { ctx, ops } = context(api);
    expect(await applyUser(work(del('x')), undefined, ctx)).toBe('done');
    expect(api.calls.map((c) => c.method)).toEqual(['delete', 'get']);
    expect(ops).toStrictEqual([
      { id: 'd-x', user: 'u', kind: 'delete', group: 'x', outcome: 'ok', reconciled: true },
    ]);
  });

  it.each([51010, 99999])('a delete refused with %i is failed without a read', async (code) => {
    const api = new FakeChatApi(refusing('delete', code));
    const { ctx, ops } = context(api);
    expect(await applyUser(work(del('x')), undefined, ctx)).toBe('failed');
    expect(api.calls.map((c) => c.method)).toEqual(['delete']);
    expect(ops[0]).toMatchObject({ outcome: 'failed', errorCode: code });
  });

  it('a refusal that is not an API code (HTTP 400) is failed without a read', async () => {
    const api = new FakeChatApi({
      fault: (call) => (call.method === 'create' ? { kind: 'http', status: 400 } : undefined),
    });
    const { ctx, fatal } = context(api);
    // HTTP 400 is fatal for the run.
    expect(await applyUser(work(create('g')), undefined, ctx)).toBe('unfinished');
    expect(fatal).toHaveLength(1);
    expect(api.calls.map((c) => c.method)).toEqual(['create']);
  });

  it('a delete of a user read first is sent with what the group held then, sorted', async () => {
    const api = new FakeChatApi().seed('u', { x: ['2:@g', '1:b', '1:a'], y: ['1:z'] });
    const seen: Operation[] = [];
    const { ctx } = context(api);
    const withBackup: UserContext = {
      ...ctx,
      beforeRemoval: async (op) => {
        seen.push(op);
      },
    };
    const prior: UserProgress = { status: 'begun', okOps: new Set() };
    expect(await applyUser(work(del('x')), prior, withBackup)).toBe('done');
    expect(seen).toStrictEqual([
      { id: 'd-x', kind: 'delete', user: 'u', group: 'x', held: [conv('1:a'), conv('1:b'), conv('2:@g')] },
    ]);
  });

  it('two groups of the delete’s name: what both held, once each, sorted', async () => {
    const api = new FakeChatApi({ duplicateNames: 'allow' })
      .seed('u', { x: ['1:c', '1:b'] })
      .seed('u', { x: ['1:a', '1:b'] });
    const seen: Operation[] = [];
    const { ctx } = context(api);
    const withBackup: UserContext = {
      ...ctx,
      beforeRemoval: async (op) => {
        seen.push(op);
      },
    };
    await applyUser(work(del('x')), { status: 'begun', okOps: new Set() }, withBackup);
    expect(seen[0]).toMatchObject({
      kind: 'delete',
      group: 'x',
      held: [conv('1:a'), conv('1:b'), conv('1:c')],
    });
  });
});
