import { describe, expect, it } from 'vitest';
import { ContactGroupStore } from '../../src/emulator/store.js';
import { c2c, createBody, deleteBody, grp, membersBody, peers, renameBody } from './builders.js';

describe('create_contact_group', () => {
  it('answers the official sample shape, with GroupIds from 1 per user', () => {
    const store = new ContactGroupStore();
    const res = store.createContactGroup(createBody('u1', 'family', [c2c('a'), grp('@TGS#1')]));
    expect(res).toEqual({
      GroupResultItem: [
        {
          GroupItem: { GroupName: 'family', GroupId: 1 },
          ResultItem: [
            { ContactItem: { Type: 1, To_Account: 'a' }, ResultCode: 0, ResultInfo: '' },
            { ContactItem: { Type: 2, ToGroupId: '@TGS#1' }, ResultCode: 0, ResultInfo: '' },
          ],
        },
      ],
      ActionStatus: 'OK',
      ErrorCode: 0,
      ErrorInfo: '',
    });
    expect(store.createContactGroup(createBody('u1', 'work')).GroupResultItem?.[0]?.GroupItem.GroupId).toBe(
      2,
    );
    expect(store.createContactGroup(createBody('u2', 'work')).GroupResultItem?.[0]?.GroupItem.GroupId).toBe(
      1,
    );
    expect(store.state().users.u1).toEqual([
      {
        groupId: 1,
        name: 'family',
        members: [
          { type: 1, id: 'a' },
          { type: 2, id: '@TGS#1' },
        ],
      },
      { groupId: 2, name: 'work', members: [] },
    ]);
  });

  it('never reuses a GroupId after a delete, and failed calls consume none', () => {
    const store = new ContactGroupStore();
    store.createContactGroup(createBody('u', 'a'));
    store.createContactGroup(createBody('u', 'b'));
    store.delContactGroup(deleteBody('u', 'b'));
    expect(store.createContactGroup(createBody('u', 'a')).ErrorCode).toBe(50002);
    expect(store.createContactGroup(createBody('u', 'c')).GroupResultItem?.[0]?.GroupItem.GroupId).toBe(3);
  });

  it.each([
    ['no GroupContactItem', { From_Account: 'u' }],
    ['two groups', { From_Account: 'u', GroupContactItem: [{ GroupName: 'a' }, { GroupName: 'b' }] }],
    ['zero groups', { From_Account: 'u', GroupContactItem: [] }],
    ['no From_Account', { GroupContactItem: [{ GroupName: 'a' }] }],
    ['a non-object body', [1, 2]],
    ['a non-string GroupName', { From_Account: 'u', GroupContactItem: [{ GroupName: 7 }] }],
    [
      'ContactItem not an array',
      { From_Account: 'u', GroupContactItem: [{ GroupName: 'a', ContactItem: {} }] },
    ],
    ['Type 1 without To_Account', createBody('u', 'a', [{ Type: 1, ToGroupId: '@g' }])],
    ['Type 2 without ToGroupId', createBody('u', 'a', [{ Type: 2, To_Account: 'x' }])],
    ['Type 1 with both ids', createBody('u', 'a', [{ Type: 1, To_Account: 'x', ToGroupId: '@g' }])],
    ['Type 3', createBody('u', 'a', [{ Type: 3, To_Account: 'x' }])],
    ['Type as a string', createBody('u', 'a', [{ Type: '1', To_Account: 'x' }])],
    ['an empty To_Account', createBody('u', 'a', [{ Type: 1, To_Account: '' }])],
  ])('refuses %s with 50002 and changes nothing', (_, body) => {
    const store = new ContactGroupStore();
    const res = store.createContactGroup(body);
    expect(res).toMatchObject({ ActionStatus: 'FAIL', ErrorCode: 50002 });
    expect(res.ErrorInfo.length).toBeGreaterThan(0);
    expect(store.state()).toEqual({ users: {} });
  });

  it('accepts a GroupName of 64 UTF-8 bytes and refuses 65 or an empty one with 51011', () => {
    const store = new ContactGroupStore();
    const name64 = `${'中'.repeat(21)}a`; // 21 × 3 bytes + 1
    expect(store.createContactGroup(createBody('u', name64)).ErrorCode).toBe(0);
    expect(store.createContactGroup(createBody('u', `${name64}b`))).toMatchObject({ ErrorCode: 51011 });
    expect(store.createContactGroup(createBody('u', ''))).toMatchObject({ ErrorCode: 51011 });
    expect(store.state().users.u).toHaveLength(1);
  });

  it('accepts 100 conversations and refuses 101 with 51006', () => {
    const store = new ContactGroupStore();
    expect(store.createContactGroup(createBody('u', 'a', peers(100))).ErrorCode).toBe(0);
    expect(store.createContactGroup(createBody('u', 'b', peers(101)))).toMatchObject({ ErrorCode: 51006 });
    expect(store.state().users.u?.map((g) => g.name)).toEqual(['a']);
  });

  it('allows 20 groups per user and refuses the 21st with 51010', () => {
    const store = new ContactGroupStore();
    for (let i = 0; i < 20; i++) expect(store.createContactGroup(createBody('u', `g${i}`)).ErrorCode).toBe(0);
    const before = store.state();
    expect(store.createContactGroup(createBody('u', 'g20'))).toMatchObject({ ErrorCode: 51010 });
    expect(store.state()).toEqual(before);
    expect(store.createContactGroup(createBody('other', 'g20')).ErrorCode).toBe(0);
  });

  it('allows 1000 distinct grouped conversations and refuses the call that would make 1001 with 51008', () => {
    const store = new ContactGroupStore();
    for (let i = 0; i < 10; i++) {
      expect(store.createContactGroup(createBody('u', `g${i}`, peers(100, `g${i}-`))).ErrorCode).toBe(0);
    }
    // The same conversations again do not count twice.
    expect(store.createContactGroup(createBody('u', 'again', peers(100, 'g0-'))).ErrorCode).toBe(0);
    const before = store.state();
    const res = store.createContactGroup(createBody('u', 'over', [c2c('g0-0'), c2c('new')]));
    expect(res).toMatchObject({ ActionStatus: 'FAIL', ErrorCode: 51008 });
    expect(store.state()).toEqual(before);
    // An empty group does not add conversations.
    expect(store.createContactGroup(createBody('u', 'empty')).ErrorCode).toBe(0);
  });

  it('counts a conversation freed by a delete as no longer grouped', () => {
    const store = new ContactGroupStore();
    for (let i = 0; i < 10; i++) store.createContactGroup(createBody('u', `g${i}`, peers(100, `g${i}-`)));
    expect(store.createContactGroup(createBody('u', 'x', [c2c('new')])).ErrorCode).toBe(51008);
    store.delContactGroup(deleteBody('u', 'g9'));
    expect(store.createContactGroup(createBody('u', 'x', [c2c('new')])).ErrorCode).toBe(0);
  });

  it('answers a repeated conversation in one call per `existingMember`, keeping it once', () => {
    const ok = new ContactGroupStore();
    const okRes = ok.createContactGroup(createBody('u', 'a', [c2c('x'), c2c('x')]));
    expect(okRes.GroupResultItem?.[0]?.ResultItem?.map((r) => r.ResultCode)).toEqual([0, 0]);
    expect(ok.state().users.u?.[0]?.members).toEqual([{ type: 1, id: 'x' }]);
    const strict = new ContactGroupStore({ existingMember: 'error' });
    const strictRes = strict.createContactGroup(createBody('u', 'a', [c2c('x'), c2c('x')]));
    expect(strictRes.GroupResultItem?.[0]?.ResultItem?.map((r) => r.ResultCode)).toEqual([0, 50002]);
    expect(strict.state().users.u?.[0]?.members).toEqual([{ type: 1, id: 'x' }]);
  });
});

describe('duplicate names', () => {
  it("'reject' refuses a second group with the same name with 50002 saying the name exists", () => {
    const store = new ContactGroupStore();
    store.createContactGroup(createBody('u', 'a'));
    const res = store.createContactGroup(createBody('u', 'a'));
    expect(res).toMatchObject({ ActionStatus: 'FAIL', ErrorCode: 50002 });
    expect(res.ErrorInfo).toMatch(/already exists/);
    store.createContactGroup(createBody('u', 'b'));
    expect(store.updateContactGroup(renameBody('u', 'b', 'a'))).toMatchObject({ ErrorCode: 50002 });
    expect(store.state().users.u?.map((g) => g.name)).toEqual(['a', 'b']);
  });

  it("'allow' creates a second group with a new GroupId; update and delete act on the lowest GroupId", () => {
    const store = new ContactGroupStore({ duplicateNames: 'allow' });
    store.createContactGroup(createBody('u', 'a'));
    store.createContactGroup(createBody('u', 'b'));
    expect(store.createContactGroup(createBody('u', 'a')).GroupResultItem?.[0]?.GroupItem.GroupId).toBe(3);
    expect(store.updateContactGroup(renameBody('u', 'b', 'a')).UpdateGroupResult?.GroupId).toBe(2);
    const upd = store.updateContactGroup(membersBody('u', 'a', [c2c('x')]));
    expect(upd.UpdateGroupResult?.GroupId).toBe(1);
    expect(store.delContactGroup(deleteBody('u', 'a')).GroupItem).toEqual([{ GroupName: 'a', GroupId: 1 }]);
    expect(store.delContactGroup(deleteBody('u', 'a')).GroupItem).toEqual([{ GroupName: 'a', GroupId: 2 }]);
    expect(store.state().users.u).toEqual([{ groupId: 3, name: 'a', members: [] }]);
  });
});

describe('del_contact_group', () => {
  it('deletes one group and answers its GroupItem', () => {
    const store = new ContactGroupStore();
    store.createContactGroup(createBody('u', 'a', [c2c('x')]));
    store.createContactGroup(createBody('u', 'b'));
    expect(store.delContactGroup(deleteBody('u', 'a'))).toEqual({
      GroupItem: [{ GroupName: 'a', GroupId: 1 }],
      ActionStatus: 'OK',
      ErrorCode: 0,
      ErrorInfo: '',
    });
    expect(store.state().users.u?.map((g) => g.name)).toEqual(['b']);
  });

  it('answers 51009 for a missing group (also for an unknown user) and 50002 unless exactly one name', () => {
    const store = new ContactGroupStore();
    store.createContactGroup(createBody('u', 'a'));
    expect(store.delContactGroup(deleteBody('u', 'zz'))).toMatchObject({ ErrorCode: 51009 });
    expect(store.delContactGroup(deleteBody('nobody', 'a'))).toMatchObject({ ErrorCode: 51009 });
    expect(store.delContactGroup({ From_Account: 'u', GroupName: ['a', 'b'] })).toMatchObject({
      ErrorCode: 50002,
    });
    expect(store.delContactGroup({ From_Account: 'u', GroupName: [] })).toMatchObject({ ErrorCode: 50002 });
    expect(store.delContactGroup({ From_Account: 'u', GroupName: 'a' })).toMatchObject({ ErrorCode: 50002 });
    expect(store.delContactGroup(deleteBody('u', 'x'.repeat(65)))).toMatchObject({ ErrorCode: 51011 });
    expect(store.state().users.u).toHaveLength(1);
  });

  it('leaves users without groups out of the state but keeps their GroupId counter', () => {
    const store = new ContactGroupStore();
    store.createContactGroup(createBody('u', 'a'));
    store.delContactGroup(deleteBody('u', 'a'));
    expect(store.state()).toEqual({ users: {} });
    expect(store.snapshot().users.u?.nextGroupId).toBe(2);
  });
});
