import { describe, expect, it } from 'vitest';
import { MalformedResponse } from '../../src/tencent/http.js';
import {
  parseGroupResult,
  parseGroupsPage,
  parseSearchResult,
  parseUpdateResult,
} from '../../src/tencent/wire-parse.js';

// A list field that is not a list: the message names the field (see wire-parse.test.ts for the rest).

function malformed(parse: () => unknown): string {
  try {
    parse();
  } catch (error) {
    if (error instanceof MalformedResponse) return error.message;
    throw error;
  }
  throw new Error('expected a MalformedResponse');
}

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
