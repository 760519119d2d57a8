import { describe, expect, it } from 'vitest';
import { ContactGroupStore, type StoreOptions } from '../../src/emulator/store.js';
import { c2c, createBody, grp, membersBody, peers, renameBody } from './builders.js';

function seeded(options: StoreOptions = {}): ContactGroupStore {
  const store = new ContactGroupStore(options);
  store.createContactGroup(createBody('u', 'a', [c2c('x')]));
  store.createContactGroup(createBody('u', 'b'));
  return store;
}

describe('update_contact_group: rename (UpdateGroupType 1)', () => {
  it('renames and answers the sample shape without ContactResultItem', () => {
    const store = seeded();
    expect(store.updateContactGroup(renameBody('u', 'a', 'c'))).toEqual({
      UpdateType: 1,
      UpdateGroupResult: { UpdateGroupType: 1, GroupName: 'c', GroupId: 1, OldGroupName: 'a' },
      ActionStatus: 'OK',
      ErrorCode: 0,
      ErrorInfo: '',
    });
    expect(store.state().users.u?.map((g) => [g.groupId, g.name])).toEqual([
      [1, 'c'],
      [2, 'b'],
    ]);
  });

  it('accepts a NewGroupName of 32 bytes and refuses 33 (or empty) with 51011, changing nothing', () => {
    const store = seeded();
    const before = store.state();
    expect(store.updateContactGroup(renameBody('u', 'a', 'x'.repeat(33)))).toMatchObject({
      ErrorCode: 51011,
    });
    expect(store.updateContactGroup(renameBody('u', 'a', ''))).toMatchObject({ ErrorCode: 51011 });
    expect(store.state()).toEqual(before);
    expect(store.updateContactGroup(renameBody('u', 'a', 'é'.repeat(16))).ErrorCode).toBe(0);
  });

  it('answers 51009 when the group does not exist; renaming to its own name is a no-op success', () => {
    const store = seeded();
    expect(store.updateContactGroup(renameBody('u', 'zz', 'c'))).toMatchObject({ ErrorCode: 51009 });
    expect(store.updateContactGroup(renameBody('nobody', 'a', 'c'))).toMatchObject({ ErrorCode: 51009 });
    expect(store.updateContactGroup(renameBody('u', 'a', 'a')).ErrorCode).toBe(0);
  });

  it('renaming onto an existing name: reject → 50002, allow → both groups share the name', () => {
    expect(seeded().updateContactGroup(renameBody('u', 'a', 'b'))).toMatchObject({ ErrorCode: 50002 });
    const allow = seeded({ duplicateNames: 'allow' });
    expect(allow.updateContactGroup(renameBody('u', 'a', 'b')).ErrorCode).toBe(0);
    expect(allow.state().users.u?.map((g) => g.name)).toEqual(['b', 'b']);
  });
});

describe('update_contact_group: membership (UpdateGroupType 2)', () => {
  it('adds and removes in order and answers the sample shape', () => {
    const store = seeded();
    const res = store.updateContactGroup(membersBody('u', 'a', [c2c('y'), grp('@g')], [c2c('x')]));
    expect(res).toEqual({
      UpdateType: 1,
      UpdateGroupResult: {
        UpdateGroupType: 2,
        GroupName: 'a',
        GroupId: 1,
        OldGroupName: 'a',
        ContactResultItem: [
          { ContactOptType: 1, ContactItem: { Type: 1, To_Account: 'y' }, ResultCode: 0, ResultInfo: '' },
          { ContactOptType: 1, ContactItem: { Type: 2, ToGroupId: '@g' }, ResultCode: 0, ResultInfo: '' },
          { ContactOptType: 2, ContactItem: { Type: 1, To_Account: 'x' }, ResultCode: 0, ResultInfo: '' },
        ],
      },
      ActionStatus: 'OK',
      ErrorCode: 0,
      ErrorInfo: '',
    });
    expect(store.state().users.u?.[0]?.members).toEqual([
      { type: 1, id: 'y' },
      { type: 2, id: '@g' },
    ]);
  });

  it.each([
    [
      'no ContactUpdateItem',
      { From_Account: 'u', UpdateType: 1, UpdateGroup: { UpdateGroupType: 2, OldGroupName: 'a' } },
    ],
    ['an empty ContactUpdateItem', membersBody('u', 'a', [])],
    ['101 items', membersBody('u', 'a', peers(101))],
  ])('refuses %s with 51006', (_, body) => {
    const store = seeded();
    const before = store.state();
    expect(store.updateContactGroup(body)).toMatchObject({ ActionStatus: 'FAIL', ErrorCode: 51006 });
    expect(store.state()).toEqual(before);
  });

  it('accepts exactly 100 items', () => {
    expect(seeded().updateContactGroup(membersBody('u', 'a', peers(100))).ErrorCode).toBe(0);
  });

  it.each([
    ['UpdateType 2', { ...membersBody('u', 'a', [c2c('y')]), UpdateType: 2 }],
    [
      'UpdateGroupType 3',
      { From_Account: 'u', UpdateType: 1, UpdateGroup: { UpdateGroupType: 3, OldGroupName: 'a' } },
    ],
    ['no UpdateGroup', { From_Account: 'u', UpdateType: 1 }],
    [
      'no OldGroupName',
      { From_Account: 'u', UpdateType: 1, UpdateGroup: { UpdateGroupType: 1, NewGroupName: 'z' } },
    ],
    [
      'ContactOptType 3',
      {
        From_Account: 'u',
        UpdateType: 1,
        UpdateGroup: {
          UpdateGroupType: 2,
          OldGroupName: 'a',
          ContactUpdateItem: [{ ContactOptType: 3, ContactItem: c2c('y') }],
        },
      },
    ],
    ['a bad ContactItem', membersBody('u', 'a', [c2c('y'), { Type: 2 }])],
  ])('refuses %s with 50002 and changes nothing', (_, body) => {
    const store = seeded();
    const before = store.state();
    expect(store.updateContactGroup(body)).toMatchObject({ ActionStatus: 'FAIL', ErrorCode: 50002 });
    expect(store.state()).toEqual(before);
  });

  it('answers 51009 when the group does not exist', () => {
    expect(seeded().updateContactGroup(membersBody('u', 'zz', [c2c('y')]))).toMatchObject({
      ErrorCode: 51009,
    });
  });

  it("existingMember 'ok': adding a member or removing a non-member succeeds without change", () => {
    const store = seeded();
    const res = store.updateContactGroup(membersBody('u', 'a', [c2c('x')], [c2c('nope')]));
    expect(res.UpdateGroupResult?.ContactResultItem?.map((r) => r.ResultCode)).toEqual([0, 0]);
    expect(store.state().users.u?.[0]?.members).toEqual([{ type: 1, id: 'x' }]);
  });

  it("existingMember 'error': those items get ResultCode 50002, the others still apply", () => {
    const store = seeded({ existingMember: 'error' });
    const res = store.updateContactGroup(membersBody('u', 'a', [c2c('x'), c2c('y')], [c2c('nope')]));
    expect(res.ErrorCode).toBe(0);
    expect(res.UpdateGroupResult?.ContactResultItem?.map((r) => r.ResultCode)).toEqual([50002, 0, 50002]);
    expect(res.UpdateGroupResult?.ContactResultItem?.[0]?.ResultInfo).toMatch(/already/);
    expect(store.state().users.u?.[0]?.members).toEqual([
      { type: 1, id: 'x' },
      { type: 1, id: 'y' },
    ]);
  });

  it('refuses with 51008 a call that would group more than 1000 conversations, atomically', () => {
    const store = new ContactGroupStore();
    for (let i = 0; i < 10; i++) store.createContactGroup(createBody('u', `g${i}`, peers(99, `g${i}-`)));
    store.createContactGroup(createBody('u', 'last'));
    // 990 grouped: 10 more fit, 11 do not, even when one removal is in the same call.
    const before = store.state();
    const over = membersBody('u', 'last', peers(11, 'n'), [c2c('zzz')]);
    expect(store.updateContactGroup(over)).toMatchObject({ ActionStatus: 'FAIL', ErrorCode: 51008 });
    expect(store.state()).toEqual(before);
    expect(store.updateContactGroup(membersBody('u', 'last', peers(10, 'n'))).ErrorCode).toBe(0);
    // A removal in the same call makes room: it is counted after the call.
    expect(store.updateContactGroup(membersBody('u', 'g0', [c2c('m')], [c2c('g0-0')])).ErrorCode).toBe(0);
    // Adding a conversation already grouped elsewhere does not count again.
    expect(store.updateContactGroup(membersBody('u', 'last', [c2c('g1-1')])).ErrorCode).toBe(0);
  });
});

describe('knownUsers', () => {
  const knownUsers = new Set(['u', 'x', 'y']);

  it('answers 50001 for an unknown From_Account on every endpoint', () => {
    const store = new ContactGroupStore({ knownUsers });
    expect(store.createContactGroup(createBody('ghost', 'a'))).toMatchObject({ ErrorCode: 50001 });
    expect(store.updateContactGroup(renameBody('ghost', 'a', 'b'))).toMatchObject({ ErrorCode: 50001 });
    expect(store.searchContactGroup({ From_Account: 'ghost', ContactItem: [] })).toMatchObject({
      ErrorCode: 50001,
    });
    expect(store.delContactGroup({ From_Account: 'ghost', GroupName: ['a'] })).toMatchObject({
      ErrorCode: 50001,
    });
    expect(store.getContactGroup({ From_Account: 'ghost', StartIndex: 0 })).toMatchObject({
      ErrorCode: 50001,
    });
    expect(store.state()).toEqual({ users: {} });
  });

  it('answers per-item 50001 for an unknown To_Account and applies the other items', () => {
    const store = new ContactGroupStore({ knownUsers });
    const res = store.createContactGroup(createBody('u', 'a', [c2c('x'), c2c('ghost'), grp('@any')]));
    expect(res.ErrorCode).toBe(0);
    expect(res.GroupResultItem?.[0]?.ResultItem?.map((r) => r.ResultCode)).toEqual([0, 50001, 0]);
    const upd = store.updateContactGroup(membersBody('u', 'a', [c2c('ghost2'), c2c('y')]));
    expect(upd.UpdateGroupResult?.ContactResultItem?.map((r) => r.ResultCode)).toEqual([50001, 0]);
    expect(store.state().users.u?.[0]?.members).toEqual([
      { type: 1, id: 'x' },
      { type: 2, id: '@any' },
      { type: 1, id: 'y' },
    ]);
  });
});
