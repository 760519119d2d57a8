import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { itemHolds, retryOperation, splitFailedItems } from '../../src/executor/item-retry.js';
import { openCheckpoint } from '../../src/executor/log/checkpoint.js';
import type { RunIdentity } from '../../src/executor/log/checkpoint-records.js';
import { type ApplyOptions, type FailedItem, runApply, type UserWork } from '../../src/executor/run-apply.js';
import type { ItemResult } from '../../src/tencent/api.js';
import { FakeChatApi } from './fake-api.js';
import { conv, FakeClock, planUser, RecordingScheduler, tempDir } from './helpers.js';

const identity: RunIdentity = {
  inputDigest: 'e'.repeat(64),
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

async function run(api: FakeChatApi, works: UserWork[], options: ApplyOptions = {}) {
  const checkpoint = await openCheckpoint(join(dir, 'run.ckpt'), {
    identity,
    toolVersion: 'test',
    flushIntervalMs: 1,
  });
  const failed: FailedItem[] = [];
  const clock = new FakeClock();
  const result = await runApply({
    users: works,
    api,
    checkpoint,
    options: {
      limiters: new RecordingScheduler(),
      clock,
      onFailedItem: (item) => failed.push(item),
      ...options,
    },
  });
  await checkpoint.close();
  return { result, failed, clock };
}

const DESIRED = { work: ['1:a', '1:b', '1:c', '1:d'], home: ['1:e'] };
const works = (remote: Record<string, string[]> = {}): UserWork[] => [
  { user: 'alice', operations: planUser('alice', DESIRED, remote, { mode: 'mirror', chunk: 100 }) },
];

/** The first `n` attempts at an item get `fate`, later ones succeed. */
function firstAttempts(ids: readonly string[], n: number, fate: number | { code: number; applied: boolean }) {
  const seen = new Map<string, number>();
  return (_user: string, _group: string, c: { id: string }) => {
    if (!ids.includes(c.id)) return 0;
    const count = (seen.get(c.id) ?? 0) + 1;
    seen.set(c.id, count);
    return count <= n ? fate : 0;
  };
}

describe('items that fail alone with a transient ResultCode inside a successful call', () => {
  it('are sent again, only they, in a follow-up update through the limiter, until they land', async () => {
    const api = new FakeChatApi({ itemCode: firstAttempts(['b', 'd'], 2, 50004) });
    const { result, failed, clock } = await run(api, works());
    expect(api.state()).toEqual({ alice: { home: ['1:e'], work: ['1:a', '1:b', '1:c', '1:d'] } });
    expect(failed).toEqual([]);
    expect(result.users).toMatchObject({ done: 1, failed: 0 });
    expect(result.operations).toMatchObject({ ok: 2, failed: 0 });
    // Two creates, then two follow-up updates carrying b and d only.
    expect(api.calls.map((c) => c.method)).toEqual(['create', 'create', 'update', 'update']);
    expect(clock.sleeps.length).toBe(2);
  });

  it('converge when the first attempt landed though it was reported failed, whether re-adding answers ok or an error', async () => {
    for (const existingMember of ['ok', 'error'] as const) {
      const api = new FakeChatApi({
        existingMember,
        itemCode: firstAttempts(['b'], 1, { code: 50005, applied: true }),
      });
      const { result, failed } = await run(api, works());
      expect(api.state().alice?.work, existingMember).toEqual(['1:a', '1:b', '1:c', '1:d']);
      expect(failed, existingMember).toEqual([]);
      expect(result.users.done, existingMember).toBe(1);
      await cleanup();
      ({ dir, cleanup } = await tempDir());
    }
  });

  it('removals too: a transient removal is retried and the state read only when a retry is refused', async () => {
    const api = new FakeChatApi({
      existingMember: 'error',
      itemCode: (_u, _g, c, op) => (op === 'remove' && c.id === 'z' ? { code: 50004, applied: true } : 0),
    }).seed('alice', { work: ['1:a', '1:z'] });
    const { failed } = await run(api, works({ work: ['1:a', '1:z'] }));
    expect(api.state().alice?.work).toEqual(['1:a', '1:b', '1:c', '1:d']);
    expect(failed).toEqual([]);
  });

  it('give up after maxAttempts rounds and report each item with its code; items refused for good are reported once', async () => {
    const api = new FakeChatApi({
      itemCode: (_u, _g, c) => (c.id === 'b' ? 50004 : c.id === 'c' ? 51007 : c.id === 'd' ? 60007 : 0),
    });
    const { result, failed } = await run(api, works(), { maxAttempts: 3 });
    const summary = failed.map((f) => [f.conversation?.id, f.errorCode]).sort();
    expect(summary).toEqual([
      ['b', 50004],
      ['c', 51007],
      ['d', 60007],
    ]);
    expect(result.users).toMatchObject({ done: 0, failed: 1 });
    // The create, then two follow-ups (3 rounds in all), each carrying b and d only.
    expect(api.calls.filter((c) => c.group === 'work').map((c) => c.method)).toEqual([
      'create',
      'update',
      'update',
    ]);
  });

  it('stop at the stop signal; a resumed run reads the state first and neither loses nor repeats them', async () => {
    const stop = new AbortController();
    const api = new FakeChatApi({
      itemCode: (_u, _g, c) => {
        if (c.id === 'c') stop.abort();
        return c.id === 'c' ? 50004 : 0;
      },
    });
    const first = await run(api, works(), { signal: stop.signal });
    expect(first.result.interrupted).toBe(true);
    expect(first.failed).toEqual([]);
    const calls = api.calls.length;
    const resumed = new FakeChatApi().seed('alice', api.state().alice ?? {});
    const second = await run(resumed, works());
    expect(second.result.users.done).toBe(1);
    expect(resumed.state()).toEqual({ alice: { home: ['1:e'], work: ['1:a', '1:b', '1:c', '1:d'] } });
    // The resumed run read the state first, then sent one update for the one item missing (c):
    // the create of work is not repeated, home (done) is not touched.
    expect(resumed.calls[0]?.method).toBe('get');
    expect(resumed.calls.filter((c) => c.method !== 'get').map((c) => [c.method, c.group])).toEqual([
      ['update', 'work'],
    ]);
    expect(calls).toBeGreaterThan(0);
  });
});

const item = (key: string, op: 'add' | 'remove', resultCode: number): ItemResult => ({
  conversation: conv(key),
  op,
  resultCode,
  resultInfo: '',
});

describe('splitFailedItems', () => {
  it('retries transient and rate-limit ResultCodes, keeps the others as final, in order', () => {
    const failed = [item('1:a', 'add', 50004), item('1:b', 'add', 51007), item('1:c', 'remove', 60007)];
    expect(splitFailedItems(failed)).toEqual({
      retry: [failed[0], failed[2]],
      final: [failed[1]],
      rateLimited: true,
    });
  });

  it('says rate limited only when a retried item was', () => {
    expect(splitFailedItems([item('1:a', 'add', 50005)]).rateLimited).toBe(false);
    expect(splitFailedItems([item('1:a', 'add', 51007), item('1:b', 'add', 50005)]).rateLimited).toBe(false);
    expect(splitFailedItems([])).toEqual({ retry: [], final: [], rateLimited: false });
  });
});

describe('retryOperation', () => {
  it('is an update of the same group and id, with the items as they were sent', () => {
    const create = { id: 'c1', kind: 'create', user: 'u', group: 'g', add: [conv('1:a')] } as const;
    expect(retryOperation(create, [item('1:b', 'add', 50004), item('2:c', 'remove', 50004)])).toEqual({
      id: 'c1',
      kind: 'update',
      user: 'u',
      group: 'g',
      add: [conv('1:b')],
      remove: [conv('2:c')],
    });
  });
});

describe('itemHolds', () => {
  const state = {
    user: 'u',
    groups: [
      { groupId: 2, name: 'g', conversations: [conv('1:a')] },
      { groupId: 1, name: 'g', conversations: [conv('1:b')] },
    ],
  };
  it('holds for an add present and a removal absent, in the first group of the name', () => {
    expect(itemHolds(item('1:b', 'add', 50002), 'g', state)).toBe(true);
    expect(itemHolds(item('1:a', 'add', 50002), 'g', state)).toBe(false);
    expect(itemHolds(item('1:a', 'remove', 50002), 'g', state)).toBe(true);
    expect(itemHolds(item('1:b', 'remove', 50002), 'g', state)).toBe(false);
    expect(itemHolds(item('2:b', 'add', 50002), 'g', state)).toBe(false);
  });

  it('holds for a removal, never for an add, when the group is missing', () => {
    expect(itemHolds(item('1:b', 'remove', 50002), 'h', state)).toBe(true);
    expect(itemHolds(item('1:b', 'add', 50002), 'h', state)).toBe(false);
  });
});
