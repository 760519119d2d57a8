import { SyncError } from '../../errors.js';
import type { HeaderForm } from '../types.js';
import { isFailuresHeader } from './failures-format.js';

/** Where the known columns are. Indexes are -1 for columns the form does not have. */
export interface HeaderLayout {
  readonly form: HeaderForm;
  /** Number of cells every row must have. */
  readonly width: number;
  readonly user: number;
  readonly group: number;
  readonly type: number;
  /** Canonical form only. */
  readonly toAccount: number;
  /** Canonical form only. */
  readonly toGroupId: number;
  /** Short form only. */
  readonly peer: number;
  /** The header carries `error_code` and `error_message`: a cgsync failures file. */
  readonly failuresFile: boolean;
  /** Column names as messages spell them. */
  readonly names: {
    readonly user: string;
    readonly group: string;
    readonly type: string;
    readonly toAccount: string;
    readonly toGroupId: string;
  };
}

/** The canonical header, in the order cgsync writes it (e.g. the failures file of a plan file). */
export const CANONICAL_HEADER = ['From_Account', 'GroupName', 'Type', 'To_Account', 'ToGroupId'] as const;
const CANONICAL = CANONICAL_HEADER;
const SHORT = ['user', 'group', 'type', 'peer'] as const;

const expected = `expected the header ${CANONICAL.join(',')} or ${SHORT.join(',')}`;

/**
 * Maps a header row to column positions.
 *
 * Names are matched after trimming, case-insensitively (`from_account`, `User` are fine). The form is
 * canonical as soon as one canonical-only name (From_Account, GroupName, To_Account, ToGroupId) is
 * present, short otherwise. Other columns are allowed and ignored. A missing or repeated required
 * column is a `SyncError('INVALID_INPUT')` naming them all.
 */
export function resolveHeader(cells: readonly string[], line: number): HeaderLayout {
  const positions = new Map<string, number[]>();
  cells.forEach((cell, index) => {
    const key = cell.trim().toLowerCase();
    const list = positions.get(key);
    if (list === undefined) positions.set(key, [index]);
    else list.push(index);
  });
  const has = (name: string) => positions.has(name.toLowerCase());
  const canonical = CANONICAL.some((name) => name !== 'Type' && has(name));
  const short = !canonical && SHORT.some((name) => name !== 'type' && has(name));
  if (!canonical && !short) {
    throw new SyncError(
      'INVALID_INPUT',
      `Invalid header (line ${line}): no known column found; ${expected}, got ${JSON.stringify(cells.join(','))}`,
      { line },
    );
  }
  const required: readonly string[] = canonical ? CANONICAL : SHORT;
  const missing = required.filter((name) => !has(name));
  if (missing.length > 0) {
    throw new SyncError(
      'INVALID_INPUT',
      `Invalid header (line ${line}): missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; ${expected}`,
      { line, value: missing.join(',') },
    );
  }
  const repeated = required.filter((name) => (positions.get(name.toLowerCase())?.length ?? 0) > 1);
  if (repeated.length > 0) {
    throw new SyncError(
      'INVALID_INPUT',
      `Invalid header (line ${line}): column${repeated.length > 1 ? 's' : ''} ${repeated.join(', ')} appear${repeated.length > 1 ? '' : 's'} more than once`,
      { line, value: repeated.join(',') },
    );
  }
  const at = (name: string): number => positions.get(name.toLowerCase())?.[0] ?? -1;
  const failuresFile = isFailuresHeader(cells);
  if (canonical) {
    return {
      form: 'canonical',
      width: cells.length,
      user: at('From_Account'),
      group: at('GroupName'),
      type: at('Type'),
      toAccount: at('To_Account'),
      toGroupId: at('ToGroupId'),
      peer: -1,
      failuresFile,
      names: {
        user: 'From_Account',
        group: 'GroupName',
        type: 'Type',
        toAccount: 'To_Account',
        toGroupId: 'ToGroupId',
      },
    };
  }
  return {
    form: 'short',
    width: cells.length,
    user: at('user'),
    group: at('group'),
    type: at('type'),
    toAccount: -1,
    toGroupId: -1,
    peer: at('peer'),
    failuresFile,
    names: { user: 'user', group: 'group', type: 'type', toAccount: 'peer', toGroupId: 'peer' },
  };
}
