import { describe, expect, it } from 'vitest';
import { MalformedResponse } from '../../src/tencent/http.js';
import {
  parseContactResults,
  parseDeletedGroup,
  parseGroupResult,
  parseGroupsPage,
  parseSearchResult,
  parseUpdateResult,
} from '../../src/tencent/wire-parse.js';

/** The message of the MalformedResponse `parse` throws: it names the field that is wrong. */
function malformed(parse: () => unknown): string {
  try {
    parse();
  } catch (error) {
    if (error instanceof MalformedResponse) return error.message;
    throw error;
  }
  throw new Error('expected a MalformedResponse');
}

describe('wire-parse: answers the client cannot use name the field at fault', () => {
  it('in a create answer', () => {
    expect(malformed(() => parseGroupResult({ GroupResultItem: 'x' }))).toBe(
      'GroupResultItem is not an array',
    );
    expect(malformed(() => parseGroupResult({ GroupResultItem: [] }))).toBe(
      'GroupResultItem[0] is missing or not an object',
    );
    expect(malformed(() => parseGroupResult({ GroupResultItem: [{ GroupItem: { GroupName: 'G' } }] }))).toBe(
      'GroupResultItem[0].GroupItem.GroupId is not an integer',
    );
    const group = { GroupName: 'G', GroupId: 1 };
    expect(
      malformed(() =>
        parseGroupResult({
          GroupResultItem: [
            { GroupItem: group, ResultItem: [{ ContactItem: { Type: 1, To_Account: 'b' } }] },
          ],
        }),
      ),
    ).toBe('GroupResultItem[0].ResultItem[0].ResultCode is not an integer');
    expect(
      malformed(() =>
        parseGroupResult({
          GroupResultItem: [
            { GroupItem: group, ResultItem: [{ ContactItem: { Type: 2, To_Account: 'b' } }] },
          ],
        }),
      ),
    ).toBe('GroupResultItem[0].ResultItem[0].ContactItem is not a conversation');
  });

  it('in an update answer', () => {
    expect(malformed(() => parseUpdateResult({}))).toBe('UpdateGroupResult is missing or not an object');
    expect(malformed(() => parseUpdateResult({ UpdateGroupResult: { GroupId: 1 } }))).toBe(
      'UpdateGroupResult.GroupName is not a string',
    );
    expect(malformed(() => parseUpdateResult({ UpdateGroupResult: { GroupName: 'G' } }))).toBe(
      'UpdateGroupResult.GroupId is not an integer',
    );
    const update = (item: unknown) =>
      parseUpdateResult({ UpdateGroupResult: { GroupName: 'G', GroupId: 1, ContactResultItem: [item] } });
    expect(malformed(() => update({ ContactOptType: 3 }))).toBe(
      'UpdateGroupResult.ContactResultItem[0].ContactOptType is not 1 or 2',
    );
    expect(
      update({ ContactOptType: 2, ContactItem: { Type: 1, To_Account: 'b' }, ResultCode: 0 }).items,
    ).toEqual([{ conversation: { type: 1, id: 'b' }, op: 'remove', resultCode: 0, resultInfo: '' }]);
  });

  it('in a listed page', () => {
    expect(malformed(() => parseGroupsPage({ GroupItem: [{ GroupName: 1, GroupId: 1 }] }))).toBe(
      'GroupItem[0].GroupName is not a string',
    );
    const item = { Type: 1, To_Account: 'b' };
    expect(
      malformed(() => parseContactResults([item, { ...item, ContactGroupId: 'x' }], 'ContactItem')),
    ).toBe('ContactItem[1].ContactGroupId is not an array');
    expect(malformed(() => parseContactResults([{ ...item, ContactGroupId: [1, 'x'] }], 'ContactItem'))).toBe(
      'ContactItem[0].ContactGroupId[1] is not an integer',
    );
    expect(malformed(() => parseContactResults([{ Type: 1, ToGroupId: 'g' }], 'ContactResultItem'))).toBe(
      'ContactResultItem[0] is not a conversation',
    );
  });
});

describe('wire-parse: what a good answer says', () => {
  it('takes the deleted group by its name, the first one only when none has it', () => {
    const GroupItem = [
      { GroupName: 'A', GroupId: 1 },
      { GroupName: 'B', GroupId: 2 },
    ];
    expect(parseDeletedGroup({ GroupItem }, 'B')).toEqual({ groupId: 2 });
    expect(parseDeletedGroup({ GroupItem }, 'C')).toEqual({ groupId: 1 });
  });

  it('reads a next start index of 0, and a negative or fractional one as 0', () => {
    expect(parseGroupsPage({ NextStartIndex: 0 }).nextStartIndex).toBe(0);
    expect(parseGroupsPage({ NextStartIndex: 7 }).nextStartIndex).toBe(7);
    expect(parseGroupsPage({ NextStartIndex: -1 }).nextStartIndex).toBe(0);
    expect(parseGroupsPage({ NextStartIndex: 1.5 }).nextStartIndex).toBe(0);
  });

  it('counts a conversation as marked by a StandardMark bit or a non-empty CustomMark only', () => {
    const marked = (extra: object) =>
      parseContactResults([{ Type: 1, To_Account: 'b', ...extra }], 'ContactItem')[0]?.marked;
    expect(marked({})).toBe(false);
    expect(marked({ StandardMark: '0000' })).toBe(false);
    expect(marked({ StandardMark: '0010' })).toBe(true);
    expect(marked({ CustomMark: '' })).toBe(false);
    expect(marked({ CustomMark: 'x' })).toBe(true);
  });
});

// A list field that is not a list: the message names the field.
describe('wire-parse: a list that is not an array', () => {
  const group = { GroupName: 'G', GroupId: 1 };
  it.each([
    ['GroupItem of a listed page', () => parseGroupsPage({ GroupItem: {} }), 'GroupItem'],
    ['ContactItem of a listed page', () => parseGroupsPage({ ContactItem: 'x' }), 'ContactItem'],
    ['GroupItem of a search', () => parseSearchResult({ GroupItem: 1 }), 'GroupItem'],
    [
      'ContactResultItem of a search',
      () => parseSearchResult({ ContactResultItem: {} }),
      'ContactResultItem',
    ],
    [
      'ResultItem of a create answer',
      () => parseGroupResult({ GroupResultItem: [{ GroupItem: group, ResultItem: {} }] }),
      'GroupResultItem[0].ResultItem',
    ],
    [
      'ContactResultItem of an update answer',
      () => parseUpdateResult({ UpdateGroupResult: { ...group, ContactResultItem: 'x' } }),
      'UpdateGroupResult.ContactResultItem',
    ],
  ])('%s', (_name, parse, field) => {
    expect(malformed(parse)).toBe(`${field} is not an array`);
  });
});
