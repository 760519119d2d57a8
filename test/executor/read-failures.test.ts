import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadCheckpoint, openCheckpoint } from '../../src/executor/log/checkpoint.js';
import type { RunIdentity } from '../../src/executor/log/checkpoint-records.js';
import { isUserReadFailure } from '../../src/executor/retry.js';
import { type FailedItem, runApply, type UserWork } from '../../src/executor/run-apply.js';
import { errorForFailure } from '../../src/tencent/client.js';
import { FakeChatApi } from './fake-api.js';
import { FakeClock, planUser, RecordingScheduler, tempDir } from './helpers.js';

const identity: RunIdentity = { inputDigest: 'f'.repeat(64), mode: 'merge', assumeEmpty: false, options: {} };

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  await cleanup();
});

async function run(api: FakeChatApi, works: UserWork[], signal?: AbortSignal) {
  const checkpoint = await openCheckpoint(join(dir, 'run.ckpt'), {
    identity,
    toolVersion: 'test',
    flushIntervalMs: 1,
  });
  const failed: FailedItem[] = [];
  const result = await runApply({
    users: works,
    api,
    checkpoint,
    options: {
      limiters: new RecordingScheduler(),
      clock: new FakeClock(),
      onFailedItem: (item) => failed.push(item),
      ...(signal === undefined ? {} : { signal }),
    },
  });
  await checkpoint.close();
  return { result, failed };
}

describe('which read failures are one user’s own', () => {
  it('permanent refusals and unexpected answers are; fatal codes and transient ones are not', () => {
    const api = (code: number) => errorForFailure({ kind: 'api', errorCode: code }, 'x');
    expect(isUserReadFailure(api(50001))).toBe(true);
    expect(isUserReadFailure(api(51007))).toBe(true);
    expect(isUserReadFailure(api(99999))).toBe(true); // unknown codes are permanent
    expect(isUserReadFailure(errorForFailure({ kind: 'unexpected', repeated: false }, 'x'))).toBe(true);
    expect(isUserReadFailure(errorForFailure({ kind: 'unexpected', repeated: true }, 'x'))).toBe(false);
    expect(isUserReadFailure(api(70009))).toBe(false);
    expect(isUserReadFailure(api(50004))).toBe(false);
    expect(isUserReadFailure(errorForFailure({ kind: 'timeout' }, 'x'))).toBe(false);
  });
});

describe('users that could not be read', () => {
  it('a user planned as unreadable is failed without a call, and the run goes on', async () => {
    const api = new FakeChatApi();
    const works: UserWork[] = [
      { user: 'ghost', operations: [], failure: { errorCode: 50001, message: 'not imported' } },
      { user: 'alice', operations: planUser('alice', { work: ['1:bob'] }) },
    ];
    const { result } = await run(api, works);
    expect(result.users).toMatchObject({ done: 1, failed: 1 });
    expect(api.calls.map((c) => c.user)).toEqual(['alice']);
    expect(api.state()).toEqual({ alice: { work: ['1:bob'] } });
  });

  it('a resumed user whose state read is refused for good reports every pending row with the code', async () => {
    const ops = planUser('alice', { work: ['1:a', '1:b', '1:c'], home: ['1:d'] }, {}, { chunk: 2 });
    // First run: stopped after the first call, so alice is begun and not done.
    const stop = new AbortController();
    const first = new FakeChatApi({
      delay: async () => {
        stop.abort();
      },
    });
    await run(first, [{ user: 'alice', operations: ops }], stop.signal);
    expect([...(await loadCheckpoint(join(dir, 'run.ckpt'))).done]).toEqual([]);
    // Resume: the service now refuses to read alice (say, the account was deleted): 50001.
    const second = new FakeChatApi({
      fault: (call) => (call.method === 'get' ? { kind: 'api', code: 50001 } : undefined),
    });
    const { result, failed } = await run(second, [{ user: 'alice', operations: ops }]);
    expect(result.fatal).toBeUndefined();
    expect(result.users).toMatchObject({ failed: 1 });
    expect(second.calls.map((c) => c.method)).toEqual(['get']);
    const pendingItems = failed.filter((f) => f.errorCode === 50001);
    expect(pendingItems.length).toBeGreaterThanOrEqual(3);
    expect(pendingItems.every((f) => f.message.includes('50001'))).toBe(true);
  });
});
