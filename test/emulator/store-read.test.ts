import { describe, expect, it } from 'vitest';
import { ContactGroupStore } from '../../src/emulator/store.js';
import { isSyncError } from '../../src/errors.js';
import type { GetContactGroupResponse } from '../../src/tencent/wire.js';
import { c2c, createBody, deleteBody, getBody, grp, membersBody, peers, searchBody } from './builders.js';

describe('search_contact_group', () => {
  it('answers the groups of each grouped conversation and every group of the user', () => {
    let now = 1_700_000_000;
    const store = new ContactGroupStore({ nowSeconds: () => now });
    store.createContactGroup(createBody('u', 'g1', [c2c('a'), grp('@t')]));
    now += 5;
    store.createContactGroup(createBody('u', 'g2', [c2c('a')]));
    store.createContactGroup(createBody('u', 'empty'));
    const res = store.searchContactGroup(searchBody('u', [c2c('a'), grp('@t'), c2c('none'), c2c('a')]));
    expect(res).toEqual({
      ContactResultItem: [
        { Type: 1, To_Account: 'a', StandardMark: '', ContactGroupId: [1, 2], Timestamp: now },
        { Type: 2, ToGroupId: '@t', StandardMark: '', ContactGroupId: [1], Timestamp: now - 5 },
      ],
      GroupItem: [
        { GroupName: 'g1', GroupId: 1 },
        { GroupName: 'g2', GroupId: 2 },
        { GroupName: 'empty', GroupId: 3 },
      ],
      ActionStatus: 'OK',
      ErrorCode: 0,
      ErrorInfo: '',
    });
  });

  it('answers empty lists for a user without groups', () => {
    const res = new ContactGroupStore().searchContactGroup(searchBody('nobody', [c2c('a')]));
    expect(res).toMatchObject({ ErrorCode: 0, ContactResultItem: [], GroupItem: [] });
  });

  it('accepts 300 conversations and refuses 301 or a malformed item with 50002', () => {
    const store = new ContactGroupStore();
    expect(store.searchContactGroup(searchBody('u', peers(300))).ErrorCode).toBe(0);
    expect(store.searchContactGroup(searchBody('u', peers(301)))).toMatchObject({ ErrorCode: 50002 });
    expect(store.searchContactGroup(searchBody('u', [{ Type: 2 }]))).toMatchObject({ ErrorCode: 50002 });
    expect(store.searchContactGroup({ From_Account: 'u' })).toMatchObject({ ErrorCode: 50002 });
  });
});

describe('get_contact_group', () => {
  function pages(store: ContactGroupStore, user: string): GetContactGroupResponse[] {
    const out: GetContactGroupResponse[] = [];
    let start = 0;
    for (let i = 0; i < 50; i++) {
      const page = store.getContactGroup(getBody(user, start));
      out.push(page);
      if (page.CompleteFlag === 1) break;
      start = page.NextStartIndex ?? 0;
    }
    return out;
  }

  it('pages through the conversations, with every group (empty ones too) on every page', () => {
    const store = new ContactGroupStore({ pageSize: 2 });
    store.createContactGroup(createBody('u', 'g1', [c2c('a'), c2c('b'), grp('@c')]));
    store.createContactGroup(createBody('u', 'empty'));
    store.createContactGroup(createBody('u', 'g3', [c2c('b'), c2c('d'), c2c('e')]));
    const all = pages(store, 'u');
    expect(all.map((p) => [p.CompleteFlag, p.NextStartIndex])).toEqual([
      [0, 2],
      [0, 4],
      [1, 0],
    ]);
    const groupItems = [
      { GroupName: 'g1', GroupId: 1 },
      { GroupName: 'empty', GroupId: 2 },
      { GroupName: 'g3', GroupId: 3 },
    ];
    for (const p of all) {
      expect(p.GroupItem).toEqual(groupItems);
      expect(p).toMatchObject({ ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '' });
    }
    const items = all.flatMap((p) => p.ContactItem ?? []);
    expect(items.map((c) => [c.Type === 1 ? c.To_Account : c.ToGroupId, c.ContactGroupId])).toEqual([
      ['a', [1]],
      ['b', [1, 3]],
      ['@c', [1]],
      ['d', [3]],
      ['e', [3]],
    ]);
    expect(all[0]?.ContactItem?.[0]).toEqual({
      Type: 1,
      To_Account: 'a',
      StandardMark: '',
      ContactGroupId: [1],
      Timestamp: 0,
    });
  });

  it('ends with CompleteFlag 1 on an exactly full last page, and answers a start past the end as complete', () => {
    const store = new ContactGroupStore({ pageSize: 2 });
    store.createContactGroup(createBody('u', 'g', peers(4)));
    expect(pages(store, 'u').map((p) => [p.ContactItem?.length, p.CompleteFlag, p.NextStartIndex])).toEqual([
      [2, 0, 2],
      [2, 1, 0],
    ]);
    expect(store.getContactGroup(getBody('u', 9))).toMatchObject({ ContactItem: [], CompleteFlag: 1 });
  });

  it('answers groups with no conversations on a single complete page', () => {
    const store = new ContactGroupStore({ pageSize: 2 });
    store.createContactGroup(createBody('u', 'e1'));
    store.createContactGroup(createBody('u', 'e2'));
    expect(store.getContactGroup(getBody('u', 0))).toEqual({
      ContactItem: [],
      GroupItem: [
        { GroupName: 'e1', GroupId: 1 },
        { GroupName: 'e2', GroupId: 2 },
      ],
      CompleteFlag: 1,
      NextStartIndex: 0,
      ActionStatus: 'OK',
      ErrorCode: 0,
      ErrorInfo: '',
    });
    expect(store.getContactGroup(getBody('nobody', 0))).toMatchObject({ ContactItem: [], GroupItem: [] });
  });

  it('drops a conversation from the listing once it is in no group', () => {
    const store = new ContactGroupStore();
    store.createContactGroup(createBody('u', 'g1', [c2c('a'), c2c('b')]));
    store.updateContactGroup(membersBody('u', 'g1', [], [c2c('a')]));
    store.createContactGroup(createBody('u', 'g2', [c2c('b')]));
    store.delContactGroup(deleteBody('u', 'g1'));
    const page = store.getContactGroup(getBody('u', 0));
    expect(page.ContactItem?.map((c) => [c.Type === 1 ? c.To_Account : '', c.ContactGroupId])).toEqual([
      ['b', [2]],
    ]);
  });

  it.each([-1, 1.5, '0', undefined])('refuses StartIndex %s with 50002', (start) => {
    expect(new ContactGroupStore().getContactGroup({ From_Account: 'u', StartIndex: start })).toMatchObject({
      ErrorCode: 50002,
    });
  });
});

describe('state, snapshot and load', () => {
  it('round-trips through a snapshot, keeping the GroupId counter', () => {
    const store = new ContactGroupStore();
    store.createContactGroup(createBody('u', 'a', [c2c('x'), grp('@g')]));
    store.createContactGroup(createBody('u', 'b'));
    store.delContactGroup(deleteBody('u', 'b'));
    const copy = new ContactGroupStore();
    copy.load(JSON.parse(JSON.stringify(store.snapshot())));
    expect(copy.state()).toEqual(store.state());
    expect(copy.createContactGroup(createBody('u', 'c')).GroupResultItem?.[0]?.GroupItem.GroupId).toBe(3);
  });

  it('loads the state view (no counters) and continues above the highest GroupId', () => {
    const store = new ContactGroupStore();
    store.load({ users: { u: [{ groupId: 7, name: 'seeded', members: [{ type: 1, id: 'x' }] }] } });
    expect(store.createContactGroup(createBody('u', 'next')).GroupResultItem?.[0]?.GroupItem.GroupId).toBe(8);
    expect(
      store.searchContactGroup(searchBody('u', [c2c('x')])).ContactResultItem?.[0]?.ContactGroupId,
    ).toEqual([7]);
  });

  it.each([
    ['a non-object', 3],
    ['no users', {}],
    ['a bad member', { users: { u: [{ groupId: 1, name: 'a', members: [{ type: 3, id: 'x' }] }] } }],
    [
      'a repeated GroupId',
      {
        users: {
          u: [
            { groupId: 1, name: 'a', members: [] },
            { groupId: 1, name: 'b', members: [] },
          ],
        },
      },
    ],
    [
      'a low nextGroupId',
      { version: 1, users: { u: { nextGroupId: 1, groups: [{ groupId: 1, name: 'a', members: [] }] } } },
    ],
    ['version 2', { version: 2, users: {} }],
  ])('refuses %s with SyncError CHECKPOINT and keeps the old state', (_, data) => {
    const store = new ContactGroupStore();
    store.createContactGroup(createBody('u', 'keep'));
    const before = store.state();
    expect(() => store.load(data)).toThrow(expect.objectContaining({ code: 'CHECKPOINT' }));
    try {
      store.load(data);
    } catch (error) {
      expect(isSyncError(error, 'CHECKPOINT')).toBe(true);
    }
    expect(store.state()).toEqual(before);
  });

  it('reset forgets everything and bumps the revision', () => {
    const store = new ContactGroupStore();
    store.createContactGroup(createBody('u', 'a'));
    const revision = store.revision;
    store.reset();
    expect(store.state()).toEqual({ users: {} });
    expect(store.revision).toBeGreaterThan(revision);
    expect(store.createContactGroup(createBody('u', 'a')).GroupResultItem?.[0]?.GroupItem.GroupId).toBe(1);
  });
});
