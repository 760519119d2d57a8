import { describe, expect, it } from 'vitest';
import { ContactGroupStore, type StoreOptions } from '../../src/emulator/store.js';
import { c2c, createBody, getBody, orderedBody, peers, searchBody } from './builders.js';

/** A user at exactly 1000 conversations: ten groups of 100. */
function atLimit(options: StoreOptions = {}): ContactGroupStore {
  const store = new ContactGroupStore(options);
  for (let g = 0; g < 10; g++) {
    expect(store.createContactGroup(createBody('u', `g${g}`, peers(100, `p${g}-`))).ErrorCode).toBe(0);
  }
  return store;
}

describe('readings of the pages, each an option (the default is today’s behaviour)', () => {
  it('ContactItem required: a create without it is refused 50002; [] is accepted either way', () => {
    const strict = new ContactGroupStore({ contactItemRequired: true });
    expect(strict.createContactGroup(createBody('u', 'empty'))).toMatchObject({ ErrorCode: 50002 });
    expect(strict.createContactGroup(createBody('u', 'empty', [])).ErrorCode).toBe(0);
    const lenient = new ContactGroupStore();
    expect(lenient.createContactGroup(createBody('u', 'a')).ErrorCode).toBe(0);
    expect(lenient.createContactGroup(createBody('u', 'b', [])).ErrorCode).toBe(0);
  });

  it('a 32-byte OldGroupName limit: a 40-byte group is created, then every update of it is 51011', () => {
    const long = 'n'.repeat(40);
    const strict = new ContactGroupStore({ oldGroupNameMaxBytes: 32 });
    expect(strict.createContactGroup(createBody('u', long, [c2c('a')])).ErrorCode).toBe(0);
    expect(strict.updateContactGroup(orderedBody('u', long, [['add', c2c('b')]]))).toMatchObject({
      ErrorCode: 51011,
    });
    expect(strict.updateContactGroup(orderedBody('u', 'n'.repeat(32), [['add', c2c('b')]]))).toMatchObject({
      ErrorCode: 51009,
    });
    const lenient = new ContactGroupStore();
    lenient.createContactGroup(createBody('u', long, [c2c('a')]));
    expect(lenient.updateContactGroup(orderedBody('u', long, [['add', c2c('b')]])).ErrorCode).toBe(0);
  });

  it('items one by one: at 1000, an add sent before its removal gets 51008 and the rest goes on', () => {
    const swap = (first: 'add' | 'remove') =>
      first === 'add'
        ? orderedBody('u', 'g0', [
            ['add', c2c('new')],
            ['remove', c2c('p0-0')],
          ])
        : orderedBody('u', 'g0', [
            ['remove', c2c('p0-0')],
            ['add', c2c('new')],
          ]);
    const addsFirst = atLimit({ itemsOneByOne: true });
    const res = addsFirst.updateContactGroup(swap('add'));
    expect(res.ErrorCode).toBe(0);
    expect(res.UpdateGroupResult?.ContactResultItem?.map((r) => r.ResultCode)).toEqual([51008, 0]);
    expect(addsFirst.state().users.u?.[0]?.members).toHaveLength(99);

    const removalsFirst = atLimit({ itemsOneByOne: true });
    const ok = removalsFirst.updateContactGroup(swap('remove'));
    expect(ok.UpdateGroupResult?.ContactResultItem?.map((r) => r.ResultCode)).toEqual([0, 0]);
    expect(removalsFirst.state().users.u?.[0]?.members.map((m) => m.id)).toContain('new');

    // The default reading checks the whole call once: the order does not matter.
    const whole = atLimit();
    expect(
      whole.updateContactGroup(swap('add')).UpdateGroupResult?.ContactResultItem?.map((r) => r.ResultCode),
    ).toEqual([0, 0]);
  });

  it('marked conversations: listed without ContactGroupId, found by search, counted toward 1000', () => {
    const store = new ContactGroupStore({ markedPerUser: 3, pageSize: 50 });
    expect(store.createContactGroup(createBody('u', 'a', peers(97))).ErrorCode).toBe(0);
    // 97 grouped + 3 marked = 100; a page of 50 and then the rest, marks last.
    const second = store.getContactGroup(getBody('u', 50));
    expect(second.CompleteFlag).toBe(1);
    const marked = (second.ContactItem ?? []).filter((c) => c.ContactGroupId === undefined);
    expect(marked).toHaveLength(3);
    expect(marked[0]).toMatchObject({ Type: 1, StandardMark: '1' });
    const id = (marked[0] as { To_Account: string }).To_Account;
    expect(store.searchContactGroup(searchBody('u', [c2c(id), c2c('nobody')])).ContactResultItem).toEqual([
      { Type: 1, To_Account: id, StandardMark: '1', Timestamp: 0 },
    ]);
    // A user never written to has its marks too.
    expect(store.getContactGroup(getBody('fresh', 0)).ContactItem).toHaveLength(3);

    const full = new ContactGroupStore({ markedPerUser: 5 });
    for (let g = 0; g < 9; g++) full.createContactGroup(createBody('u', `g${g}`, peers(100, `p${g}-`)));
    expect(full.createContactGroup(createBody('u', 'last', peers(95, 'q'))).ErrorCode).toBe(0);
    // 995 grouped + 5 marked = 1000: one more is refused, grouping a marked one is not.
    expect(full.createContactGroup(createBody('u', 'more', [c2c('one-more')]))).toMatchObject({
      ErrorCode: 51008,
    });
    expect(full.createContactGroup(createBody('u', 'more', [c2c(id)])).ErrorCode).toBe(0);
  });

  it('item faults: the hook decides each item’s ResultCode and whether it landed', () => {
    const fates = [{ resultCode: 50004, applied: true }, { resultCode: 50005, applied: false }, undefined];
    let i = 0;
    const store = new ContactGroupStore({ itemFault: () => fates[i++ % fates.length] });
    const res = store.createContactGroup(createBody('u', 'a', [c2c('x'), c2c('y'), c2c('z')]));
    expect(res.GroupResultItem?.[0]?.ResultItem?.map((r) => r.ResultCode)).toEqual([50004, 50005, 0]);
    expect(store.state().users.u?.[0]?.members.map((m) => m.id)).toEqual(['x', 'z']);
  });
});
