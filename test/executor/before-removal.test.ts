import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openCheckpoint } from '../../src/executor/log/checkpoint.js';
import { runApply, type UserWork } from '../../src/executor/run-apply.js';
import { conversationKey } from '../../src/model.js';
import type { Operation } from '../../src/planner/types.js';
import { FakeChatApi } from './fake-api.js';
import { FakeClock, planUser, RecordingScheduler, tempDir } from './helpers.js';

/** `beforeRemoval` (what --backup hangs on): awaited before each removing call, never after it. */

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  await cleanup();
});

const REMOTE = { old: ['1:x', '1:y'], keep: ['1:a', '1:gone'] };
const work = (): UserWork => ({
  user: 'alice',
  operations: planUser('alice', { keep: ['1:a'] }, REMOTE, { mode: 'mirror' }).map((op) =>
    op.kind === 'delete'
      ? { ...op, held: REMOTE.old.map((k) => ({ type: 1 as const, id: k.slice(2) })) }
      : op,
  ),
});

async function run(api: FakeChatApi, beforeRemoval: (op: Operation) => Promise<void>, signal?: AbortSignal) {
  const checkpoint = await openCheckpoint(join(dir, 'run.ckpt'), {
    identity: { inputDigest: 'd'.repeat(64), mode: 'mirror', assumeEmpty: false, options: {} },
    toolVersion: 'test',
    flushIntervalMs: 1,
  });
  const result = await runApply({
    users: [work()],
    api,
    checkpoint,
    options: {
      limiters: new RecordingScheduler(),
      clock: new FakeClock(),
      beforeRemoval,
      ...(signal === undefined ? {} : { signal }),
    },
  });
  await checkpoint.close();
  return result;
}

const describeOp = (op: Operation): string =>
  op.kind === 'delete'
    ? `delete ${op.group} [${(op.held ?? []).map(conversationKey).join(' ')}]`
    : op.kind === 'update'
      ? `update ${op.group} -[${op.remove.map(conversationKey).join(' ')}]`
      : `create ${op.group}`;

describe('beforeRemoval', () => {
  it('is awaited before each delete and each update that removes, once, before the call', async () => {
    const events: string[] = [];
    const api = new FakeChatApi({
      delay: async (call) => {
        events.push(`call ${call.method} ${call.group ?? ''}`);
      },
    }).seed('alice', REMOTE);
    const result = await run(api, async (op) => {
      await new Promise((r) => setTimeout(r, 5));
      events.push(`backup ${describeOp(op)}`);
    });
    expect(result.fatal).toBeUndefined();
    expect(api.state()).toEqual({ alice: { keep: ['1:a'] } });
    expect(events).toEqual([
      'backup update keep -[1:gone]',
      'call update keep',
      'backup delete old [1:x 1:y]',
      'call delete old',
    ]);
  });

  it('a rejection stops the run before the call: nothing is removed', async () => {
    const api = new FakeChatApi().seed('alice', REMOTE);
    const result = await run(api, async () => {
      throw new Error('disk full');
    });
    expect(result.fatal?.message).toContain('disk full');
    expect(api.state()).toEqual({ alice: REMOTE });
    expect(api.calls.filter((c) => c.method === 'delete' || c.method === 'update')).toEqual([]);
  });

  it('stopped after the backup, before the call: the resumed run backs it up again from a fresh read, then calls', async () => {
    const api = new FakeChatApi().seed('alice', REMOTE);
    const stop = new AbortController();
    const first: string[] = [];
    const interrupted = await run(
      api,
      async (op) => {
        first.push(describeOp(op));
        stop.abort(new Error('SIGKILL stand-in'));
      },
      stop.signal,
    );
    expect(interrupted.interrupted).toBe(true);
    expect(first).toEqual(['update keep -[1:gone]']);
    expect(api.state()).toEqual({ alice: REMOTE });
    // The deleted group gained a member since: the resumed run's backup holds what it holds now.
    api.seed('bob', {});
    await api.updateGroupMembers('alice', 'old', { add: [{ type: 1, id: 'z' }], remove: [] });
    const second: string[] = [];
    const resumed = await run(api, async (op) => {
      second.push(describeOp(op));
    });
    expect(resumed.interrupted).toBe(false);
    // The update's removal again (it was never sent), then the delete with what the group holds now.
    expect(second).toEqual(['update keep -[1:gone]', 'delete old [1:x 1:y 1:z]']);
    expect(api.state()).toEqual({ alice: { keep: ['1:a'] } });
  });
});
