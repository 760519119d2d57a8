import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadCheckpoint, openCheckpoint } from '../../src/executor/log/checkpoint.js';
import type { RunIdentity } from '../../src/executor/log/checkpoint-records.js';
import { type ApplyOptions, type FailedItem, runApply, type UserWork } from '../../src/executor/run-apply.js';
import { membershipKey } from '../../src/model.js';
import { FakeChatApi } from './fake-api.js';
import { conv, countingSource, FakeClock, planUser, RecordingScheduler, tempDir } from './helpers.js';

const identity: RunIdentity = {
  inputDigest: 'd'.repeat(64),
  mode: 'mirror',
  assumeEmpty: false,
  options: {},
};

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  await cleanup();
});

const openCp = (name = 'run.ckpt') =>
  openCheckpoint(join(dir, name), { identity, toolVersion: 'test', flushIntervalMs: 1 });

/** Runs works against `api` with a fake clock and an unpaced scheduler; returns the result and what was seen. */
async function run(api: FakeChatApi, works: UserWork[], options: ApplyOptions = {}, name = 'run.ckpt') {
  const checkpoint = await openCp(name);
  const scheduler = new RecordingScheduler();
  const failed: FailedItem[] = [];
  const outcomes: Record<string, string> = {};
  const result = await runApply({
    users: works,
    api,
    checkpoint,
    options: {
      limiters: scheduler,
      clock: new FakeClock(),
      onFailedItem: (item) => failed.push(item),
      onUserOutcome: (user, outcome) => {
        outcomes[user] = outcome;
      },
      ...options,
    },
  });
  await checkpoint.close();
  return { result, scheduler, failed, outcomes };
}

const DESIRED: Record<string, Record<string, string[]>> = {
  alice: { work: ['1:bob', '1:carol', '2:@g1'], family: ['1:mum'] },
  bob: { empty: [] },
  carol: { friends: ['1:a', '1:b', '1:c', '1:d', '1:e'] },
};
const works = (
  remote: Record<string, Record<string, string[]>> = {},
  mode: 'merge' | 'mirror' = 'mirror',
): UserWork[] =>
  Object.entries(DESIRED).map(([user, groups]) => ({
    user,
    operations: planUser(user, groups, remote[user] ?? {}, { mode }),
  }));

describe('runApply', () => {
  it('applies every user, records each outcome and reports counts', async () => {
    const api = new FakeChatApi();
    const { result, outcomes } = await run(api, works());
    expect(api.state()).toEqual(DESIRED);
    expect(result).toMatchObject({
      interrupted: false,
      users: { done: 3, failed: 0, skipped: 0, alreadyDone: 0, unfinished: 0 },
      operations: { ok: 7, failed: 0, reconciled: 0 },
      failedItemsTotal: 0,
    });
    expect(result.fatal).toBeUndefined();
    expect(result.endpoints.create_contact_group.calls).toBe(4);
    expect(result.endpoints.update_contact_group.calls).toBe(3);
    expect(outcomes).toEqual({ alice: 'done', bob: 'done', carol: 'done' });
    const loaded = await loadCheckpoint(join(dir, 'run.ckpt'));
    expect([...loaded.done].sort()).toEqual(['alice', 'bob', 'carol']);
  });

  it('mirrors: removes extra memberships and deletes extra groups', async () => {
    const remote = { alice: { work: ['1:bob', '1:zed'], old: ['1:x'] } };
    const api = new FakeChatApi().seed('alice', remote.alice);
    await run(api, works(remote));
    expect(api.state()).toEqual(DESIRED);
  });

  it('skips users done in the checkpoint, with no call', async () => {
    const api = new FakeChatApi();
    await run(api, works());
    const calls = api.calls.length;
    const { result, outcomes } = await run(api, works());
    expect(api.calls.length).toBe(calls);
    expect(result.users).toMatchObject({ done: 0, alreadyDone: 3 });
    expect(outcomes.alice).toBe('already_done');
  });

  it('a user marked recheck is read and reconciled even when the checkpoint has it done (issue 13)', async () => {
    const api = new FakeChatApi();
    const part = { alice: { work: ['1:bob'] } };
    const first = Object.entries(part).map(([user, groups]) => ({
      user,
      operations: planUser(user, groups, {}, { mode: 'merge' }),
    }));
    await run(api, first);
    // All of alice's rows, planned blind (a create of `work` again): without recheck it is skipped as done.
    const whole = works({}, 'merge').filter((w) => w.user === 'alice');
    const skipped = await run(api, whole);
    expect(skipped.result.users.alreadyDone).toBe(1);
    expect(api.state().alice).toEqual({ work: ['1:bob'] });
    const settledUsers: string[] = [];
    const rechecked = await run(api, [{ ...(whole[0] as UserWork), recheck: true }], {
      onUserSettled: (user) => settledUsers.push(user),
    });
    expect(rechecked.result.users.done).toBe(1);
    expect(api.state().alice).toEqual(DESIRED.alice);
    // Read first; the create of the existing group `work` became an update: one create (family) only.
    expect(rechecked.scheduler.scheduled[0]).toBe('get_contact_group');
    expect(rechecked.scheduler.scheduled.filter((e) => e === 'create_contact_group')).toHaveLength(1);
    expect(settledUsers).toEqual(['alice']);
  });

  it('tells onUserSettled once per user received, already done ones included', async () => {
    const api = new FakeChatApi();
    await run(api, works().slice(0, 1));
    const settledUsers: string[] = [];
    await run(api, works(), { onUserSettled: (user) => settledUsers.push(user) });
    expect(settledUsers.sort()).toEqual(['alice', 'bob', 'carol']);
  });

  it('records per-item failures as outcomes with their input line, and goes on', async () => {
    const api = new FakeChatApi({ itemCode: (_u, _g, c) => (c.id === 'carol' ? 51007 : 0) });
    const lineOf = new Map([[membershipKey('work', conv('1:carol')), 17]]);
    const list = works().map((w) => (w.user === 'alice' ? { ...w, lineOf } : w));
    const { result, failed, outcomes } = await run(api, list);
    expect(failed).toEqual([
      expect.objectContaining({
        user: 'alice',
        group: 'work',
        conversation: conv('1:carol'),
        action: 'add',
        errorCode: 51007,
        line: 17,
      }),
    ]);
    expect(result.users).toMatchObject({ done: 2, failed: 1 });
    expect(result.operations.failed).toBe(1);
    expect(outcomes.alice).toBe('failed');
    expect(api.state().carol).toEqual(DESIRED.carol);
  });

  it('records a permanent call failure and runs the user’s later operations', async () => {
    const api: FakeChatApi = new FakeChatApi({
      fault: (call) =>
        call.method === 'update' && call.user === 'carol' && api.count('update') === 1
          ? { kind: 'api', code: 51008 }
          : undefined,
    });
    const { result, failed } = await run(api, works());
    expect(failed.map((f) => [f.conversation?.id, f.errorCode])).toEqual([
      ['c', 51008],
      ['d', 51008],
    ]);
    expect(api.state().carol?.friends).toEqual(['1:a', '1:b', '1:e']);
    expect(result.users).toMatchObject({ done: 2, failed: 1 });
  });

  it('does not call for operations on a group whose creation failed', async () => {
    const api = new FakeChatApi({
      fault: (call) =>
        call.method === 'create' && call.user === 'carol' ? { kind: 'api', code: 51011 } : undefined,
    });
    const { result, failed } = await run(api, works());
    expect(api.calls.filter((c) => c.user === 'carol').map((c) => c.method)).toEqual(['create']);
    expect(failed.filter((f) => f.user === 'carol').map((f) => [f.conversation?.id, f.errorCode])).toEqual([
      ['a', 51011],
      ['b', 51011],
      ['c', 51011],
      ['d', 51011],
      ['e', 51011],
    ]);
    expect(result.operations).toMatchObject({ failed: 3 });
  });

  it('stops at a fatal failure: no call starts after it, the error is in the result', async () => {
    const api = new FakeChatApi({
      fault: (call) => (call.seq === 3 ? { kind: 'api', code: 60006 } : undefined),
    });
    const { result } = await run(api, works(), { concurrency: 1 });
    expect(result.fatal?.message).toMatch(/60006/);
    expect(result.interrupted).toBe(false);
    expect(api.calls).toHaveLength(3);
    expect(result.users.unfinished).toBeGreaterThan(0);
  });

  it('retries rate-limited answers and tells the limiter', async () => {
    const api = new FakeChatApi({
      fault: (call) => (call.seq % 3 === 0 ? { kind: 'api', code: 60007 } : undefined),
    });
    const { result, scheduler } = await run(api, works());
    expect(api.state()).toEqual(DESIRED);
    expect(scheduler.rateLimited.length).toBeGreaterThan(0);
    expect(
      result.endpoints.create_contact_group.rateLimited + result.endpoints.update_contact_group.rateLimited,
    ).toBe(scheduler.rateLimited.length);
  });

  for (const duplicateNames of ['allow', 'reject'] as const) {
    it(`settles a lost create by reading the state, never creating twice (duplicate names: ${duplicateNames})`, async () => {
      const lost = new Set<number>();
      const api: FakeChatApi = new FakeChatApi({
        duplicateNames,
        fault: (call) => {
          if (call.method !== 'get' && call.method !== 'search' && !lost.has(call.seq) && lost.size < 3) {
            lost.add(call.seq);
            return lost.size % 2 === 0 ? { kind: 'lost_timeout' } : { kind: 'lost' };
          }
          return undefined;
        },
      });
      const { result } = await run(api, works());
      expect(api.state()).toEqual(DESIRED);
      expect(api.duplicates()).toEqual([]);
      expect(result.operations.reconciled).toBeGreaterThan(0);
      expect(api.count('get')).toBeGreaterThan(0);
    });
  }

  it('turns a create refused because the group exists into an update of what is missing', async () => {
    const api = new FakeChatApi({ duplicateNames: 'reject' }).seed('alice', { work: ['1:bob'] });
    // Planned as if the app were empty (--assume-empty on an app that is not).
    const { result } = await run(api, works({}, 'merge'));
    expect(api.state().alice).toEqual(DESIRED.alice);
    expect(api.duplicates()).toEqual([]);
    expect(result.operations.reconciled).toBe(1);
    expect(result.users.failed).toBe(0);
  });

  it('finds a delete answered "not found" done when the group is gone', async () => {
    const api = new FakeChatApi();
    const list: UserWork[] = [
      { user: 'alice', operations: [{ id: 'd1', kind: 'delete', user: 'alice', group: 'old' }] },
    ];
    const { result } = await run(api, list);
    expect(result.operations).toEqual({ ok: 1, failed: 0, reconciled: 1 });
  });

  it('skips users that break a limit, without a call', async () => {
    const api = new FakeChatApi();
    const list: UserWork[] = [
      {
        user: 'big',
        operations: planUser('big', { g: ['1:a'] }),
        violations: [
          {
            user: 'big',
            limit: 'groups',
            count: 21,
            max: 20,
            message: 'big would have 21 groups, the limit is 20',
          },
        ],
      },
    ];
    const { result, outcomes } = await run(api, list);
    expect(api.calls).toEqual([]);
    expect(result.users.skipped).toBe(1);
    expect(outcomes.big).toBe('skipped');
  });

  it('reads the state of a user begun by an earlier run before writing, and redoes only what is missing', async () => {
    const api = new FakeChatApi();
    const list = works();
    const checkpoint = await openCp();
    await checkpoint.begin('carol');
    await checkpoint.close();
    // The earlier run got the create through, then died.
    await api.createGroup('carol', 'friends', [conv('1:a'), conv('1:b')]);
    const callsBefore = api.calls.length;
    const { result } = await run(api, list);
    const carolCalls = api.calls.slice(callsBefore).filter((c) => c.user === 'carol');
    expect(carolCalls[0]?.method).toBe('get');
    expect(carolCalls.filter((c) => c.method === 'create')).toEqual([]);
    expect(api.state()).toEqual(DESIRED);
    expect(result.operations.reconciled).toBeGreaterThanOrEqual(1);
  });

  it('pulls users only as fast as it applies them (backpressure)', async () => {
    const many: UserWork[] = Array.from({ length: 300 }, (_, i) => ({
      user: `u${i}`,
      operations: planUser(`u${i}`, { g: ['1:a'] }),
    }));
    const { source, pulled } = countingSource(many);
    let finished = 0;
    let ahead = 0;
    const api = new FakeChatApi({
      delay: async () => {
        ahead = Math.max(ahead, pulled() - finished);
        await new Promise((r) => setImmediate(r));
      },
    });
    const checkpoint = await openCp();
    const result = await runApply({
      users: source,
      api,
      checkpoint,
      options: {
        limiters: new RecordingScheduler(),
        clock: new FakeClock(),
        concurrency: 4,
        onUserOutcome: () => finished++,
      },
    });
    await checkpoint.close();
    expect(result.users.done).toBe(300);
    expect(ahead).toBeLessThanOrEqual(2 * 4 + 1);
  });

  it('on interrupt starts no new call, flushes the checkpoint, and a resume finishes the job', async () => {
    const stop = new AbortController();
    const api = new FakeChatApi({
      fault: (call) => {
        if (call.seq === 4) stop.abort();
        return undefined;
      },
    });
    const first = await run(api, works(), { signal: stop.signal, concurrency: 1 });
    expect(first.result.interrupted).toBe(true);
    expect(first.result.fatal).toBeUndefined();
    expect(api.calls).toHaveLength(4);
    const second = await run(api, works(), { concurrency: 1 });
    expect(second.result.interrupted).toBe(false);
    expect(api.state()).toEqual(DESIRED);
    expect(api.duplicates()).toEqual([]);
    expect(second.result.users.alreadyDone + second.result.users.done).toBe(3);
  });

  it('abandons calls in flight that do not finish after an interrupt', async () => {
    const stop = new AbortController();
    const api = new FakeChatApi({
      delay: (call, signal) =>
        new Promise<void>((resolve, reject) => {
          if (call.seq === 1) {
            stop.abort();
            signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
            return;
          }
          resolve();
        }),
    });
    const { result } = await run(api, works(), { signal: stop.signal, abandonAfterMs: 10 });
    expect(result.interrupted).toBe(true);
    expect(result.users.unfinished).toBeGreaterThan(0);
  });

  it('stops promptly with an IO error when the checkpoint can no longer be written', async () => {
    const api = new FakeChatApi();
    let appends = 0;
    const checkpoint = await openCheckpoint(join(dir, 'full.ckpt'), {
      identity,
      toolVersion: 'test',
      flushIntervalMs: 1,
      openFile: async () => ({
        append: async () => {
          appends++;
          if (appends > 2)
            throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
        },
        close: async () => {},
      }),
    });
    const result = await runApply({
      users: works(),
      api,
      checkpoint,
      options: { limiters: new RecordingScheduler(), clock: new FakeClock(), concurrency: 1 },
    });
    await checkpoint.close();
    expect(result.fatal).toMatchObject({
      code: 'IO',
      message: expect.stringMatching(/cannot write checkpoint .*ENOSPC/),
    });
    // Header, then alice's begin; alice's calls ran; bob's begin could not be written, so bob never started.
    expect(api.calls.map((c) => c.user)).not.toContain('bob');
    expect(api.calls.map((c) => c.user)).not.toContain('carol');
  });

  it('stops when the producer of users fails', async () => {
    const api = new FakeChatApi();
    const checkpoint = await openCp();
    async function* broken(): AsyncGenerator<UserWork> {
      yield works()[0] as UserWork;
      throw new Error('input vanished');
    }
    const result = await runApply({
      users: broken(),
      api,
      checkpoint,
      options: { limiters: new RecordingScheduler(), clock: new FakeClock() },
    });
    await checkpoint.close();
    expect(result.fatal?.message).toBe('input vanished');
  });

  it.each([
    [20, 6],
    [200, 60],
    [1000, 300],
  ])(
    'keeps as many users in flight as the limiters’ rate needs: %i calls/s, %i users',
    async (rate, users) => {
      const many: UserWork[] = Array.from({ length: users + 50 }, (_, i) => ({
        user: `u${i}`,
        operations: planUser(`u${i}`, { g: ['1:a'] }),
      }));
      let inFlight = 0;
      let most = 0;
      const api = new FakeChatApi({
        delay: async () => {
          most = Math.max(most, ++inFlight);
          // Long enough for every user that may start to start.
          for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
          inFlight--;
        },
      });
      const checkpoint = await openCp();
      const result = await runApply({
        users: many,
        api,
        checkpoint,
        options: { limiters: new RecordingScheduler(rate), clock: new FakeClock() },
      });
      await checkpoint.close();
      expect(result.users.done).toBe(users + 50);
      expect(most).toBe(users);
    },
  );

  it('validates its options', async () => {
    const checkpoint = await openCp();
    await expect(
      runApply({ users: [], api: new FakeChatApi(), checkpoint, options: { concurrency: 0 } }),
    ).rejects.toMatchObject({ code: 'USAGE' });
    // One owner of the rate: the limiters'.
    await expect(
      runApply({
        users: [],
        api: new FakeChatApi(),
        checkpoint,
        options: { limiters: new RecordingScheduler(200), rate: 50 },
      }),
    ).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringMatching(/rate of `limiters` \(200\), got 50/),
    });
    await checkpoint.close();
  });
});
