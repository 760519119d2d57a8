import { describe, expect, it } from 'vitest';
import { isSyncError, type SyncError } from '../../src/errors.js';
import { resolveHeader } from '../../src/reader/csv/header.js';

const EXPECTED =
  'expected the header From_Account,GroupName,Type,To_Account,ToGroupId or user,group,type,peer';

function refusal(cells: string[], line = 1): SyncError {
  try {
    resolveHeader(cells, line);
  } catch (error) {
    if (isSyncError(error, 'INVALID_INPUT')) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(cells)} to be refused`);
}

describe('resolveHeader', () => {
  it('maps the canonical form in full: the short-only column is -1, names as messages spell them', () => {
    expect(resolveHeader(['ToGroupId', 'To_Account', 'Type', 'GroupName', 'From_Account', 'x'], 1)).toEqual({
      form: 'canonical',
      width: 6,
      user: 4,
      group: 3,
      type: 2,
      toAccount: 1,
      toGroupId: 0,
      peer: -1,
      failuresFile: false,
      names: {
        user: 'From_Account',
        group: 'GroupName',
        type: 'Type',
        toAccount: 'To_Account',
        toGroupId: 'ToGroupId',
      },
    });
  });

  it('maps the short form in full: the canonical-only columns are -1, both peers are named peer', () => {
    expect(resolveHeader(['peer', 'type', 'group', 'user'], 1)).toEqual({
      form: 'short',
      width: 4,
      user: 3,
      group: 2,
      type: 1,
      toAccount: -1,
      toGroupId: -1,
      peer: 0,
      failuresFile: false,
      names: { user: 'user', group: 'group', type: 'type', toAccount: 'peer', toGroupId: 'peer' },
    });
  });

  it('is a failures file only with both error_code and error_message', () => {
    const canonical = ['From_Account', 'GroupName', 'Type', 'To_Account', 'ToGroupId'];
    expect(resolveHeader([...canonical, 'error_code', 'error_message'], 1).failuresFile).toBe(true);
    expect(resolveHeader([...canonical, 'error_code'], 1).failuresFile).toBe(false);
    expect(resolveHeader([...canonical, 'error_message'], 1).failuresFile).toBe(false);
  });

  it('does not take a lone Type column for either form', () => {
    const error = refusal(['Type', 'note'], 3);
    expect(error.message).toBe(
      `Invalid header (line 3): no known column found; ${EXPECTED}, got "Type,note"`,
    );
    expect(error.context).toEqual({ line: 3 });
  });

  it('names one missing column, or several, with the expected header', () => {
    const one = refusal(['user', 'group', 'type'], 2);
    expect(one.message).toBe(`Invalid header (line 2): missing column peer; ${EXPECTED}`);
    expect(one.context).toEqual({ line: 2, value: 'peer' });
    const two = refusal(['From_Account', 'Type', 'To_Account']);
    expect(two.message).toBe(`Invalid header (line 1): missing columns GroupName, ToGroupId; ${EXPECTED}`);
    expect(two.context).toEqual({ line: 1, value: 'GroupName,ToGroupId' });
  });

  it('names one repeated column, or several', () => {
    const one = refusal(['user', 'group', 'type', 'peer', 'User'], 4);
    expect(one.message).toBe('Invalid header (line 4): column user appears more than once');
    expect(one.context).toEqual({ line: 4, value: 'user' });
    const two = refusal(['user', 'group', 'type', 'peer', 'User', ' PEER ']);
    expect(two.message).toBe('Invalid header (line 1): columns user, peer appear more than once');
    expect(two.context).toEqual({ line: 1, value: 'user,peer' });
  });
});
