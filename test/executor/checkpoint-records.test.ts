import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  computeRunKey,
  headerVersion,
  parseHeader,
  parseRecord,
  type RunIdentity,
} from '../../src/executor/log/checkpoint-records.js';

const identity: RunIdentity = {
  inputDigest: 'd'.repeat(64),
  mode: 'mirror',
  assumeEmpty: true,
  options: { maxDelete: '10%', shard: null, limit: 3, strict: false },
};
const header = {
  type: 'header',
  format: 'cgsync-checkpoint',
  version: 1,
  runKey: computeRunKey(identity),
  ...identity,
  toolVersion: '1.2.3',
};

describe('computeRunKey', () => {
  it('is the sha256 of the identity as canonical JSON, options sorted by name (old checkpoints stay resumable)', () => {
    const canonical = JSON.stringify([
      'cgsync-run',
      1,
      'x',
      'merge',
      false,
      [
        ['a', null],
        ['b', 1],
      ],
    ]);
    expect(
      computeRunKey({ inputDigest: 'x', mode: 'merge', assumeEmpty: false, options: { b: 1, a: null } }),
    ).toBe(createHash('sha256').update(canonical).digest('hex'));
  });
});

describe('parseHeader', () => {
  it('takes a header of this format, with every kind of option value', () => {
    expect(parseHeader(header)).toEqual(header);
    expect(parseHeader({ ...header, mode: 'merge', assumeEmpty: false, options: {} })).toMatchObject({
      mode: 'merge',
      assumeEmpty: false,
      options: {},
    });
  });

  it('reads a missing or odd toolVersion as unknown', () => {
    const { toolVersion: _, ...without } = header;
    expect(parseHeader(without)?.toolVersion).toBe('unknown');
    expect(parseHeader({ ...header, toolVersion: 7 })?.toolVersion).toBe('unknown');
  });

  it.each([
    ['null', null],
    ['an array', [header]],
    ['a string', 'header'],
    ['another type', { ...header, type: 'begin' }],
    ['another format', { ...header, format: 'cgsync-plan' }],
    ['another version', { ...header, version: 2 }],
    ['a version as text', { ...header, version: '1' }],
    ['no runKey', { ...header, runKey: undefined }],
    ['a numeric runKey', { ...header, runKey: 5 }],
    ['a numeric inputDigest', { ...header, inputDigest: 5 }],
    ['an unknown mode', { ...header, mode: 'replace' }],
    ['assumeEmpty as text', { ...header, assumeEmpty: 'true' }],
    ['options as an array', { ...header, options: [] }],
    ['options as null', { ...header, options: null }],
    ['an option holding an object', { ...header, options: { shard: { of: 2 } } }],
    ['an option holding an array', { ...header, options: { shard: [1, 2] } }],
    ['an option left undefined', { ...header, options: { shard: undefined } }],
  ])('refuses %s', (_, value) => {
    expect(parseHeader(value)).toBeUndefined();
  });
});

describe('headerVersion', () => {
  it('is the version of anything in the checkpoint format, and nothing else', () => {
    expect(headerVersion({ format: 'cgsync-checkpoint', version: 9 })).toBe(9);
    expect(headerVersion({ format: 'cgsync-checkpoint' })).toBeUndefined();
    expect(headerVersion({ format: 'other', version: 1 })).toBeUndefined();
    expect(headerVersion(null)).toBeUndefined();
    expect(headerVersion(['cgsync-checkpoint'])).toBeUndefined();
  });
});

describe('parseRecord', () => {
  it('takes begin, user and op records, keeping only the fields they define', () => {
    expect(parseRecord({ type: 'begin', user: 'alice', extra: 1 })).toEqual({ type: 'begin', user: 'alice' });
    for (const outcome of ['done', 'failed', 'skipped']) {
      expect(parseRecord({ type: 'user', user: 'alice', outcome })).toEqual({
        type: 'user',
        user: 'alice',
        outcome,
      });
    }
    expect(parseRecord({ type: 'user', user: 'a', outcome: 'skipped', reason: 'over 20 groups' })).toEqual({
      type: 'user',
      user: 'a',
      outcome: 'skipped',
      reason: 'over 20 groups',
    });
    const op = { type: 'op', id: 'o1', user: 'a', kind: 'create', group: 'g', outcome: 'ok' };
    expect(parseRecord({ ...op, note: 'x' })).toEqual(op);
    for (const kind of ['update', 'delete']) expect(parseRecord({ ...op, kind })).toEqual({ ...op, kind });
    const full = {
      ...op,
      outcome: 'failed',
      errorCode: 'TIMEOUT',
      items: [
        { conversation: '1:bob', action: 'add', code: 50004 },
        { action: 'create', code: 'HTTP 502' },
        { action: 'remove', code: 1 },
        { action: 'delete', code: 2 },
      ],
      reconciled: false,
    };
    expect(parseRecord(full)).toEqual(full);
    // A delete done keeps the conversations its group held (a record without them has no such field).
    const deleted = { ...op, kind: 'delete', removed: ['1:bob', '2:grp'] };
    expect(parseRecord(deleted)).toStrictEqual(deleted);
    expect(parseRecord({ ...deleted, removed: [] })).toStrictEqual({ ...deleted, removed: [] });
    expect(Object.keys(parseRecord(op) as object)).toEqual([
      'type',
      'id',
      'user',
      'kind',
      'group',
      'outcome',
    ]);
    expect(parseRecord({ ...op, errorCode: 51008, items: [], reconciled: true })).toEqual({
      ...op,
      errorCode: 51008,
      items: [],
      reconciled: true,
    });
  });

  const op = { type: 'op', id: 'o1', user: 'a', kind: 'update', group: 'g', outcome: 'failed' };
  it.each([
    ['null', null],
    ['an array', [{ type: 'begin', user: 'a' }]],
    ['no user', { type: 'begin' }],
    ['a numeric user', { type: 'begin', user: 1 }],
    ['an unknown type', { type: 'end', user: 'a' }],
    ['a user record with an unknown outcome', { type: 'user', user: 'a', outcome: 'ok' }],
    ['a user record with a numeric reason', { type: 'user', user: 'a', outcome: 'failed', reason: 3 }],
    ['an op without id', { ...op, id: undefined }],
    ['an op with a numeric group', { ...op, group: 1 }],
    ['an op of an unknown kind', { ...op, kind: 'rename' }],
    ['an op with an unknown outcome', { ...op, outcome: 'done' }],
    ['an op with a boolean errorCode', { ...op, errorCode: true }],
    ['an op with reconciled as text', { ...op, reconciled: 'yes' }],
    ['an op whose removed conversations are text, not a list', { ...op, outcome: 'ok', removed: '1:bob' }],
    ['an op whose removed conversations are not all keys', { ...op, outcome: 'ok', removed: ['1:bob', 2] }],
    ['an op with items that are not a list', { ...op, items: { action: 'add', code: 1 } }],
    ['an op with an item that is not an object', { ...op, items: ['1:bob'] }],
    ['an op with an item without code', { ...op, items: [{ action: 'add' }] }],
    ['an op with an item of an unknown action', { ...op, items: [{ action: 'rename', code: 1 }] }],
    [
      'an op with an item whose conversation is a number',
      { ...op, items: [{ action: 'add', code: 1, conversation: 7 }] },
    ],
    [
      'an op with one bad item among good ones',
      {
        ...op,
        items: [
          { action: 'add', code: 1 },
          { action: 'x', code: 1 },
        ],
      },
    ],
  ])('refuses %s', (_, value) => {
    expect(parseRecord(value)).toBeUndefined();
  });
});
