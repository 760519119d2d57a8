import { describe, expect, it } from 'vitest';
import {
  applyToRemote,
  findGroup,
  readRemoteUser,
  reconcileOperation,
} from '../../src/executor/reconcile.js';
import type { RemoteUser } from '../../src/model.js';
import type { Operation } from '../../src/planner/types.js';
import { errorForFailure } from '../../src/tencent/client.js';
import { FakeChatApi } from './fake-api.js';
import { conv, FakeClock, RecordingScheduler } from './helpers.js';

const remote = (groups: Record<string, string[]>): RemoteUser => ({
  user: 'u',
  groups: Object.entries(groups).map(([name, keys], i) => ({
    groupId: i + 1,
    name,
    conversations: keys.map(conv),
  })),
});

const create = (group: string, add: string[]): Operation => ({
  id: 'op1',
  kind: 'create',
  user: 'u',
  group,
  add: add.map(conv),
});
const update = (group: string, add: string[], remove: string[]): Operation => ({
  id: 'op2',
  kind: 'update',
  user: 'u',
  group,
  add: add.map(conv),
  remove: remove.map(conv),
});

describe('reconcileOperation', () => {
  it('keeps a create of a missing group as it is', () => {
    const op = create('g', ['1:a']);
    expect(reconcileOperation(op, remote({ other: [] }))).toBe(op);
  });

  it('turns a create of an existing group into an update with the adds still missing, same id', () => {
    expect(reconcileOperation(create('g', ['1:a', '1:b', '2:@x']), remote({ g: ['1:a'] }))).toEqual({
      id: 'op1',
      kind: 'update',
      user: 'u',
      group: 'g',
      add: [conv('1:b'), conv('2:@x')],
      remove: [],
    });
  });

  it('finds a create fully applied (also an empty group) done', () => {
    expect(reconcileOperation(create('g', ['1:a']), remote({ g: ['1:a', '1:z'] }))).toBeUndefined();
    expect(reconcileOperation(create('g', []), remote({ g: [] }))).toBeUndefined();
  });

  it('repeats an update with only the adds missing and the removals still present', () => {
    expect(
      reconcileOperation(update('g', ['1:a', '1:b'], ['1:c', '1:d']), remote({ g: ['1:a', '1:d'] })),
    ).toEqual(update('g', ['1:b'], ['1:d']));
    expect(reconcileOperation(update('g', ['1:a'], ['1:c']), remote({ g: ['1:a'] }))).toBeUndefined();
  });

  it('keeps the adds of an update whose group is missing, and drops its removals', () => {
    expect(reconcileOperation(update('g', ['1:a'], ['1:c']), remote({}))).toEqual(update('g', ['1:a'], []));
    expect(reconcileOperation(update('g', [], ['1:c']), remote({}))).toBeUndefined();
  });

  it('finds a delete of a missing group done', () => {
    const op: Operation = { id: 'op3', kind: 'delete', user: 'u', group: 'g' };
    expect(reconcileOperation(op, remote({}))).toBeUndefined();
    expect(reconcileOperation(op, remote({ g: ['1:a'] }))).toBe(op);
  });

  it('looks at the first group when the service holds duplicates of a name', () => {
    const dup: RemoteUser = {
      user: 'u',
      groups: [
        { groupId: 9, name: 'g', conversations: [] },
        { groupId: 3, name: 'g', conversations: [conv('1:a')] },
      ],
    };
    expect(reconcileOperation(create('g', ['1:a']), dup)).toBeUndefined();
  });
});

describe('reconcileOperation keeps the planned operation itself when nothing changed', () => {
  // apply-user.ts counts an operation as reconciled when the result is not the planned object.
  it('an update whose adds are all missing and whose removals are all present', () => {
    const op = update('g', ['1:a', '1:b'], ['1:c']);
    expect(reconcileOperation(op, remote({ g: ['1:c', '1:z'] }))).toBe(op);
  });

  it('an update of a missing group without removals', () => {
    const op = update('g', ['1:a'], []);
    expect(reconcileOperation(op, remote({ other: ['1:a'] }))).toBe(op);
  });

  it('but not an update of which some adds landed, nor one of which some removals did', () => {
    const op = update('g', ['1:a', '1:b'], ['1:c', '1:d']);
    expect(reconcileOperation(op, remote({ g: ['1:a', '1:c', '1:d'] }))).toEqual(
      update('g', ['1:b'], ['1:c', '1:d']),
    );
    expect(reconcileOperation(op, remote({ g: ['1:c'] }))).toEqual(update('g', ['1:a', '1:b'], ['1:c']));
  });

  it('matches conversations by type and id: 1:x and 2:x are different', () => {
    expect(reconcileOperation(create('g', ['1:x', '2:x']), remote({ g: ['2:x'] }))).toEqual({
      id: 'op1',
      kind: 'update',
      user: 'u',
      group: 'g',
      add: [conv('1:x')],
      remove: [],
    });
  });
});

describe('findGroup', () => {
  it('is the lowest GroupId of the name, in whatever order the groups come', () => {
    const groups = [5, 2, 7].map((groupId) => ({ groupId, name: 'g', conversations: [] }));
    expect(findGroup({ user: 'u', groups }, 'g')?.groupId).toBe(2);
    expect(findGroup({ user: 'u', groups: [...groups].reverse() }, 'g')?.groupId).toBe(2);
    expect(findGroup({ user: 'u', groups }, 'h')).toBeUndefined();
  });
});

describe('applyToRemote', () => {
  it('gives each created group its own placeholder GroupId, below 0 and below every other', () => {
    let state = remote({ a: [] });
    state = applyToRemote(state, create('g', []));
    state = applyToRemote(state, create('h', ['1:a']));
    expect(state.groups.map((g) => [g.name, g.groupId])).toEqual([
      ['a', 1],
      ['g', -1],
      ['h', -2],
    ]);
    expect(applyToRemote(remote({ x: [] }), create('y', [])).groups.map((g) => g.groupId)).toEqual([1, -1]);
  });

  it('keeps a removal that failed, and leaves the state alone for an update of a missing group', () => {
    const state = applyToRemote(remote({ g: ['1:a', '1:b'] }), update('g', ['1:c'], ['1:a', '1:b']), [
      { conversation: conv('1:b'), op: 'remove', resultCode: 50004, resultInfo: '' },
      { conversation: conv('1:c'), op: 'remove', resultCode: 50004, resultInfo: '' },
    ]);
    expect(state.groups[0]?.conversations).toEqual([conv('1:b'), conv('1:c')]);
    const before = remote({ other: ['1:a'] });
    expect(applyToRemote(before, update('g', ['1:a'], []))).toBe(before);
  });

  it('leaves an add that failed out of an updated group, and keeps the adds that landed', () => {
    const state = applyToRemote(remote({ g: ['1:a'] }), update('g', ['1:b', '2:c'], []), [
      { conversation: conv('2:c'), op: 'add', resultCode: 51007, resultInfo: '' },
    ]);
    expect(state.groups[0]?.conversations).toEqual([conv('1:a'), conv('1:b')]);
  });

  it('updates only the group acted on, and deletes only it', () => {
    const before = remote({ g: ['1:a'], h: ['1:a'] });
    const after = applyToRemote(before, update('g', ['1:b'], []));
    expect(after.groups[1]).toBe(before.groups[1]);
    expect(after.groups[0]?.groupId).toBe(1);
    const deleted = applyToRemote(before, { id: 'd', kind: 'delete', user: 'u', group: 'h' });
    expect(deleted.groups.map((g) => g.name)).toEqual(['g']);
  });

  it('applies creates, updates and deletes, leaving failed items out', () => {
    let state = remote({ keep: ['1:a'], gone: [] });
    state = applyToRemote(state, create('g', ['1:a', '1:b']), [
      { conversation: conv('1:b'), op: 'add', resultCode: 51007, resultInfo: '' },
    ]);
    state = applyToRemote(state, update('keep', ['1:c'], ['1:a']));
    state = applyToRemote(state, { id: 'd', kind: 'delete', user: 'u', group: 'gone' });
    const view = Object.fromEntries(
      state.groups.map((g) => [g.name, g.conversations.map((c) => `${c.type}:${c.id}`)]),
    );
    expect(view).toEqual({ keep: ['1:c'], g: ['1:a'] });
    expect(state.groups.find((g) => g.name === 'g')?.groupId).toBeLessThan(0);
  });
});

describe('readRemoteUser', () => {
  it('reads every page through the get_contact_group limiter, retrying a failed page', async () => {
    let failed = false;
    const api = new FakeChatApi({
      pageSize: 2,
      fault: (call) => {
        if (call.method === 'get' && call.seq === 2 && !failed) {
          failed = true;
          return { kind: 'api', code: 50004 };
        }
        return undefined;
      },
    }).seed('u', { g1: ['1:a', '1:b', '1:c'], g2: ['1:c', '2:@x', '1:d'] });
    const scheduler = new RecordingScheduler();
    const state = await readRemoteUser(api, scheduler, 'u', { clock: new FakeClock() });
    expect(state.groups.map((g) => [g.name, g.conversations.length])).toEqual([
      ['g1', 3],
      ['g2', 3],
    ]);
    // 5 distinct conversations in pages of 2: 3 pages, plus the one retried.
    expect(scheduler.scheduled).toEqual(Array(4).fill('get_contact_group'));
    expect(scheduler.stats.of('get_contact_group').retries).toBe(1);
  });
});

describe('readRemoteUser retry policy', () => {
  it("waits between attempts on the caller's clock and backoff, and gives up after the caller's attempts", async () => {
    let calls = 0;
    const api = {
      getGroupsPage: async () => {
        calls++;
        throw errorForFailure({ kind: 'timeout' }, 'get: timeout', { user: 'u' });
      },
    };
    const clock = new FakeClock();
    const read = readRemoteUser(api, new RecordingScheduler(), 'u', {
      clock,
      random: () => 0.5,
      baseMs: 100,
      maxAttempts: 3,
      retryForMs: 0,
    });
    await expect(read).rejects.toThrow('get: timeout');
    expect(calls).toBe(3);
    // Full jitter at 0.5 of 100 ms, then of 200 ms: the waits happened on the injected clock.
    expect(clock.sleeps).toEqual([50, 100]);
  });

  it('makes no call once the run is stopping', async () => {
    let calls = 0;
    const api = {
      getGroupsPage: async () => {
        calls++;
        return { groups: [], conversations: [], complete: true, nextStartIndex: 0, completeFlag: 1 };
      },
    };
    const stop = new AbortController();
    stop.abort(new Error('stopping'));
    await expect(
      readRemoteUser(api, new RecordingScheduler(), 'u', { clock: new FakeClock(), stopSignal: stop.signal }),
    ).rejects.toThrow();
    expect(calls).toBe(0);
  });
});

describe('readRemoteUser warnings', () => {
  it('passes the warnings of the reader on, and reads pages as reads (never as writes)', async () => {
    const warnings: string[] = [];
    let calls = 0;
    const api = {
      getGroupsPage: async () => {
        calls++;
        // A timeout: retried for a read; a write would have to be reconciled instead.
        if (calls === 1) throw errorForFailure({ kind: 'timeout' }, 'get: timeout', { user: 'u' });
        return { groups: [], conversations: [], complete: false, nextStartIndex: 0, completeFlag: 0 };
      },
    };
    const state = await readRemoteUser(api, new RecordingScheduler(), 'u', {
      clock: new FakeClock(),
      onWarning: (message) => warnings.push(message),
    });
    expect(state.groups).toEqual([]);
    expect(warnings).toEqual([
      'get_contact_group for user "u": CompleteFlag 0 but NextStartIndex 0 does not advance from 0; taking the listing as complete',
    ]);
    await expect(
      readRemoteUser(api, new RecordingScheduler(), 'u', { clock: new FakeClock() }),
    ).resolves.toMatchObject({ groups: [] });
  });
});
