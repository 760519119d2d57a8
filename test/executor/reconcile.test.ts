import { describe, expect, it } from 'vitest';
import { applyToRemote, readRemoteUser, reconcileOperation } from '../../src/executor/reconcile.js';
import type { RemoteUser } from '../../src/model.js';
import type { Operation } from '../../src/planner/types.js';
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

describe('applyToRemote', () => {
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
