import { describe, expect, it } from 'vitest';
import { SyncError } from '../../src/errors.js';
import type { FailedItem, UserContext, UserWork } from '../../src/executor/apply-user.js';
import type { OpRecord } from '../../src/executor/log/checkpoint-records.js';
import {
  failWithoutCall,
  finish,
  itemsOfFailedCall,
  lineOf,
  toFailedItem,
} from '../../src/executor/op-outcome.js';
import { type Conversation, membershipKey } from '../../src/model.js';
import type { Operation } from '../../src/planner/types.js';
import type { ItemResult } from '../../src/tencent/api.js';
import { conv, memoryCheckpoint } from './helpers.js';

/**
 * How an operation's outcome is told (op-outcome.ts): its checkpoint record, its failed rows and the
 * run's counters, each checked whole (no field more, none less).
 */

const a = conv('1:alice');
const b = conv('2:team');
const r = conv('1:rob');

/** Alice's line is 7, the group's own line (an empty group's row) 3; b and r have none. */
const work: UserWork = {
  user: 'u1',
  operations: [],
  lineOf: new Map([
    [membershipKey('g', a), 7],
    [membershipKey('g'), 3],
  ]),
};
const bare: UserWork = { user: 'u1', operations: [] };

const create = (add: readonly Conversation[]): Operation => ({
  id: 'op-c',
  kind: 'create',
  user: 'u1',
  group: 'g',
  add,
});
const update = (add: readonly Conversation[], remove: readonly Conversation[]): Operation => ({
  id: 'op-u',
  kind: 'update',
  user: 'u1',
  group: 'g',
  add,
  remove,
});
const del = (held?: readonly Conversation[]): Operation => ({
  id: 'op-d',
  kind: 'delete',
  user: 'u1',
  group: 'g',
  ...(held === undefined ? {} : { held }),
});

const apiError = new SyncError('API', 'ErrorCode 10004: bad', { errorCode: 10004 });

/** A context that records what finish and failWithoutCall tell it. */
function recorder() {
  const ops: Omit<OpRecord, 'type'>[] = [];
  const failed: FailedItem[] = [];
  const outcomes: [string, boolean][] = [];
  const ctx = {
    checkpoint: { ...memoryCheckpoint(), recordOp: (rec: Omit<OpRecord, 'type'>) => ops.push(rec) },
    failedItem: (item: FailedItem) => failed.push(item),
    opOutcome: (outcome: 'ok' | 'failed', reconciled: boolean) => outcomes.push([outcome, reconciled]),
  } as unknown as UserContext;
  return { ctx, ops, failed, outcomes };
}

const item = (
  conversation: Conversation,
  op: 'add' | 'remove',
  resultCode: number,
  resultInfo = '',
): ItemResult => ({
  conversation,
  op,
  resultCode,
  resultInfo,
});

describe('lineOf', () => {
  it("is the membership's input line when known, else nothing", () => {
    expect(lineOf(work, 'g', a)).toStrictEqual({ line: 7 });
    expect(lineOf(work, 'g')).toStrictEqual({ line: 3 });
    expect(lineOf(work, 'g', b)).toStrictEqual({});
    expect(lineOf(work, 'h', a)).toStrictEqual({});
    expect(lineOf(bare, 'g', a)).toStrictEqual({});
  });
});

describe('toFailedItem', () => {
  it('names the action by the operation and the conversation', () => {
    const base = { user: 'u1', group: 'g', errorCode: 10004, message: 'ErrorCode 10004: bad' };
    expect(toFailedItem(work, create([a]), undefined, apiError)).toStrictEqual({
      ...base,
      action: 'create',
      line: 3,
      opId: 'op-c',
    });
    expect(toFailedItem(work, create([a]), a, apiError)).toStrictEqual({
      ...base,
      conversation: a,
      action: 'add',
      line: 7,
      opId: 'op-c',
    });
    expect(toFailedItem(bare, update([a], []), a, apiError)).toStrictEqual({
      ...base,
      conversation: a,
      action: 'add',
      opId: 'op-u',
    });
    expect(toFailedItem(bare, del(), undefined, apiError)).toStrictEqual({
      ...base,
      action: 'delete',
      opId: 'op-d',
    });
  });

  it("takes the code and message of any error (a transport one's code, a plain value)", () => {
    const timeout = new SyncError('TRANSPORT', 'HTTP 502', { httpStatus: 502 });
    expect(toFailedItem(bare, del(), undefined, timeout)).toMatchObject({
      errorCode: 'HTTP 502',
      message: 'HTTP 502',
    });
  });
});

describe('itemsOfFailedCall', () => {
  it('a delete is one group-level item', () => {
    expect(itemsOfFailedCall(bare, del([a]), apiError)).toStrictEqual([
      {
        user: 'u1',
        group: 'g',
        action: 'delete',
        errorCode: 10004,
        message: 'ErrorCode 10004: bad',
        opId: 'op-d',
      },
    ]);
  });

  it("a create is one add per conversation, with the conversation's line", () => {
    const base = { user: 'u1', group: 'g', errorCode: 10004, message: 'ErrorCode 10004: bad', opId: 'op-c' };
    expect(itemsOfFailedCall(bare, create([a, b]), apiError)).toStrictEqual([
      { ...base, action: 'add', conversation: a },
      { ...base, action: 'add', conversation: b },
    ]);
    expect(itemsOfFailedCall(work, create([a]), apiError)).toStrictEqual([
      { ...base, action: 'add', conversation: a, line: 7 },
    ]);
  });

  it('a create of an empty group is the group itself', () => {
    expect(itemsOfFailedCall(work, create([]), apiError)).toStrictEqual([
      {
        user: 'u1',
        group: 'g',
        action: 'create',
        errorCode: 10004,
        message: 'ErrorCode 10004: bad',
        line: 3,
        opId: 'op-c',
      },
    ]);
  });

  it('an update is its adds then its removals; a removal has no input line', () => {
    const base = { user: 'u1', group: 'g', errorCode: 10004, message: 'ErrorCode 10004: bad', opId: 'op-u' };
    expect(itemsOfFailedCall(work, update([a], [r, b]), apiError)).toStrictEqual([
      { ...base, action: 'add', conversation: a, line: 7 },
      { ...base, action: 'remove', conversation: r },
      { ...base, action: 'remove', conversation: b },
    ]);
    expect(itemsOfFailedCall(bare, update([], [r]), apiError)).toStrictEqual([
      { ...base, action: 'remove', conversation: r },
    ]);
  });

  it('an update with nothing in it is one item', () => {
    expect(itemsOfFailedCall(bare, update([], []), apiError)).toStrictEqual([
      {
        user: 'u1',
        group: 'g',
        action: 'add',
        errorCode: 10004,
        message: 'ErrorCode 10004: bad',
        opId: 'op-u',
      },
    ]);
  });
});

describe('finish', () => {
  it('an operation done: an ok record without extras, no failed rows', () => {
    const { ctx, ops, failed, outcomes } = recorder();
    expect(finish(work, update([a], [r]), [], undefined, false, ctx)).toBe('ok');
    expect(ops).toStrictEqual([{ id: 'op-u', user: 'u1', kind: 'update', group: 'g', outcome: 'ok' }]);
    expect(failed).toEqual([]);
    expect(outcomes).toEqual([['ok', false]]);
  });

  it('found done by reading the state: reconciled', () => {
    const { ctx, ops, outcomes } = recorder();
    expect(finish(work, create([a]), [], undefined, true, ctx)).toBe('ok');
    expect(ops).toStrictEqual([
      { id: 'op-c', user: 'u1', kind: 'create', group: 'g', outcome: 'ok', reconciled: true },
    ]);
    expect(outcomes).toEqual([['ok', true]]);
  });

  it('a call that failed: failed with its code, and a row per item', () => {
    const { ctx, ops, failed, outcomes } = recorder();
    expect(finish(work, create([a, b]), [], apiError, false, ctx)).toBe('failed');
    expect(ops).toStrictEqual([
      { id: 'op-c', user: 'u1', kind: 'create', group: 'g', outcome: 'failed', errorCode: 10004 },
    ]);
    expect(failed.map((f) => [f.action, f.conversation, f.errorCode, f.message])).toEqual([
      ['add', a, 10004, 'ErrorCode 10004: bad'],
      ['add', b, 10004, 'ErrorCode 10004: bad'],
    ]);
    expect(failed[0]?.line).toBe(7);
    expect(outcomes).toEqual([['failed', false]]);
  });

  it("items that failed: recorded by key, told with the service's text or the code's meaning", () => {
    const { ctx, ops, failed, outcomes } = recorder();
    const items = [item(a, 'add', 10004, 'no such account'), item(r, 'remove', 50002), item(b, 'add', 50002)];
    expect(finish(work, update([a, b], [r]), items, undefined, true, ctx)).toBe('failed');
    expect(ops).toStrictEqual([
      {
        id: 'op-u',
        user: 'u1',
        kind: 'update',
        group: 'g',
        outcome: 'failed',
        items: [
          { conversation: '1:alice', action: 'add', code: 10004 },
          { conversation: '1:rob', action: 'remove', code: 50002 },
          { conversation: '2:team', action: 'add', code: 50002 },
        ],
        reconciled: true,
      },
    ]);
    expect(failed).toStrictEqual([
      {
        user: 'u1',
        group: 'g',
        conversation: a,
        action: 'add',
        errorCode: 10004,
        message: 'no such account',
        line: 7,
        opId: 'op-u',
      },
      {
        user: 'u1',
        group: 'g',
        conversation: r,
        action: 'remove',
        errorCode: 50002,
        message: 'incorrect request parameter',
        opId: 'op-u',
      },
      {
        user: 'u1',
        group: 'g',
        conversation: b,
        action: 'add',
        errorCode: 50002,
        message: 'incorrect request parameter',
        opId: 'op-u',
      },
    ]);
    expect(outcomes).toEqual([['failed', true]]);
  });

  it('a removal that failed has no input line even when the group has one', () => {
    const { ctx, failed } = recorder();
    const lines: UserWork = { ...work, lineOf: new Map([[membershipKey('g', r), 9]]) };
    finish(lines, update([], [r]), [item(r, 'remove', 50002, 'x')], undefined, false, ctx);
    expect(failed[0]).not.toHaveProperty('line');
  });

  it('a delete done records what the group held; failed, or without held, it does not', () => {
    const done = recorder();
    expect(finish(bare, del([a, b]), [], undefined, false, done.ctx)).toBe('ok');
    expect(done.ops).toStrictEqual([
      { id: 'op-d', user: 'u1', kind: 'delete', group: 'g', outcome: 'ok', removed: ['1:alice', '2:team'] },
    ]);
    const unknown = recorder();
    finish(bare, del(), [], undefined, false, unknown.ctx);
    expect(unknown.ops).toStrictEqual([
      { id: 'op-d', user: 'u1', kind: 'delete', group: 'g', outcome: 'ok' },
    ]);
    const refused = recorder();
    expect(finish(bare, del([a]), [], apiError, false, refused.ctx)).toBe('failed');
    expect(refused.ops).toStrictEqual([
      { id: 'op-d', user: 'u1', kind: 'delete', group: 'g', outcome: 'failed', errorCode: 10004 },
    ]);
    expect(refused.failed).toStrictEqual([
      {
        user: 'u1',
        group: 'g',
        action: 'delete',
        errorCode: 10004,
        message: 'ErrorCode 10004: bad',
        opId: 'op-d',
      },
    ]);
    const partly = recorder();
    expect(finish(bare, del([a]), [item(a, 'remove', 50002, 'x')], undefined, false, partly.ctx)).toBe(
      'failed',
    );
    expect(partly.ops[0]).not.toHaveProperty('removed');
  });
});

describe('failWithoutCall', () => {
  it("records the operation failed with the creation's code, and its rows as not attempted", () => {
    const { ctx, ops, failed, outcomes } = recorder();
    const cause: FailedItem = {
      user: 'u1',
      group: 'g',
      action: 'create',
      errorCode: 'HTTP 502',
      message: 'bad gateway',
      opId: 'op-c',
    };
    expect(failWithoutCall(work, update([a], [r]), cause, ctx)).toBe('failed');
    expect(ops).toStrictEqual([
      { id: 'op-u', user: 'u1', kind: 'update', group: 'g', outcome: 'failed', errorCode: 'HTTP 502' },
    ]);
    const message = 'not attempted: creating group "g" failed (HTTP 502)';
    expect(failed).toStrictEqual([
      {
        user: 'u1',
        group: 'g',
        action: 'add',
        conversation: a,
        errorCode: 'HTTP 502',
        message,
        line: 7,
        opId: 'op-u',
      },
      {
        user: 'u1',
        group: 'g',
        action: 'remove',
        conversation: r,
        errorCode: 'HTTP 502',
        message,
        opId: 'op-u',
      },
    ]);
    expect(outcomes).toEqual([['failed', false]]);
  });

  it('a numeric code is told as such', () => {
    const { ctx, failed } = recorder();
    const cause: FailedItem = {
      user: 'u1',
      group: 'g',
      action: 'create',
      errorCode: 10004,
      message: 'm',
      opId: 'x',
    };
    failWithoutCall(bare, del(), cause, ctx);
    expect(failed).toStrictEqual([
      {
        user: 'u1',
        group: 'g',
        action: 'delete',
        errorCode: 10004,
        message: 'not attempted: creating group "g" failed (10004)',
        opId: 'op-d',
      },
    ]);
  });
});
