import { LIMITS, type Membership } from '../../model.js';
import type { Rejection, RejectionRule } from '../types.js';
import { FORMULA_FIRST } from './failures-format.js';
import { type HeaderLayout, resolveHeader } from './header.js';

/** What {@link RowValidator.accept} made of one record. */
export type RowOutcome = Membership | Rejection | 'header' | 'blank';

export function isRejection(outcome: RowOutcome): outcome is Rejection {
  return typeof outcome === 'object' && 'rule' in outcome;
}

/**
 * The environment-free core of the reader: turns parsed records (in file order) into memberships and
 * rejections, and keeps track of physical line numbers.
 *
 * Line numbers are counted from the records themselves: a record spans one line plus one per LF inside
 * its cells (quoted newlines), so no `info` object is needed from the parser. Blank lines reach us as
 * one-cell empty records and are counted like any other record.
 *
 * Cell rules (documented in the README):
 * - the known cells are trimmed (`String.prototype.trim`); extra columns are kept untouched in `record`;
 * - rows whose cells are all blank are skipped (`'blank'`), not rejected;
 * - in a failures file (header with `error_code` and `error_message`), a leading `'` before
 *   `= + - @ TAB CR` is removed again before trimming: it is the spreadsheet-safety escape of the writer.
 */
export class RowValidator {
  readonly #maxGroupBytes: number;
  #layout: HeaderLayout | undefined;
  #header: readonly string[] = [];
  #nextLine = 1;

  /** @param maxGroupBytes longest GroupName in UTF-8 bytes (the create page's 64 by default). */
  constructor(maxGroupBytes: number = LIMITS.groupNameBytesCreate) {
    this.#maxGroupBytes = maxGroupBytes;
  }

  /** The header layout, once the header row was seen. */
  get layout(): HeaderLayout | undefined {
    return this.#layout;
  }

  /** The original header cells. */
  get header(): readonly string[] {
    return this.#header;
  }

  /** The line the next record starts on. */
  get nextLine(): number {
    return this.#nextLine;
  }

  /**
   * Takes the header from elsewhere, for a part of a file that starts after it; the part's first
   * record starts on `nextLine`.
   */
  useHeader(header: string[], nextLine: number): void {
    this.#layout = resolveHeader(header, 1);
    this.#header = header;
    this.#nextLine = nextLine;
  }

  /** Feeds the next record. Throws `SyncError('INVALID_INPUT')` on a header without the required columns. */
  accept(record: string[]): RowOutcome {
    const line = this.#nextLine;
    let newlines = 0;
    for (let i = 0; i < record.length; i++) {
      const cell = record[i]!;
      let at = cell.indexOf('\n');
      while (at !== -1) {
        newlines++;
        at = cell.indexOf('\n', at + 1);
      }
    }
    this.#nextLine = line + 1 + newlines;

    const layout = this.#layout;
    if (layout === undefined) {
      if (isBlank(record)) return 'blank';
      this.#layout = resolveHeader(record, line);
      this.#header = record;
      return 'header';
    }
    const user = this.#cell(record, layout.user);
    if (user === '' && isBlank(record)) return 'blank';
    if (record.length !== layout.width) {
      return this.#reject(
        record,
        line,
        user,
        'COLUMN_COUNT',
        `expected ${layout.width} columns as in the header, got ${record.length}`,
      );
    }
    const { names } = layout;
    if (user === '') return this.#reject(record, line, user, 'USER_EMPTY', `${names.user} is empty`);
    const group = this.#cell(record, layout.group);
    if (group === '') return this.#reject(record, line, user, 'GROUP_EMPTY', `${names.group} is empty`);
    const maxGroupBytes = this.#maxGroupBytes;
    if (group.length * 3 > maxGroupBytes) {
      const bytes = Buffer.byteLength(group, 'utf8');
      if (bytes > maxGroupBytes) {
        return this.#reject(
          record,
          line,
          user,
          'GROUP_TOO_LONG',
          `${names.group} is ${bytes} bytes, the limit is ${maxGroupBytes}`,
          group,
        );
      }
    }
    const typeCell = this.#cell(record, layout.type);
    const type = parseType(typeCell);
    if (type === undefined) {
      return this.#reject(
        record,
        line,
        user,
        'TYPE_INVALID',
        `${names.type} must be 1, 2, c2c or group, got ${JSON.stringify(typeCell)}`,
        typeCell,
      );
    }
    // Short form: one peer column serves both types.
    const toAccount = this.#cell(record, layout.form === 'short' ? layout.peer : layout.toAccount);
    const toGroupId = layout.form === 'short' ? toAccount : this.#cell(record, layout.toGroupId);
    if (type === 0) {
      if (toAccount === '' && toGroupId === '') return { user, group, line };
      const [name, value] = toAccount !== '' ? [names.toAccount, toAccount] : [names.toGroupId, toGroupId];
      return this.#reject(
        record,
        line,
        user,
        'TYPE_MISSING',
        `${names.type} is empty but ${name} is ${JSON.stringify(value)}; give a ${names.type}, or leave both empty to declare an empty group`,
        value,
      );
    }
    const [id, idName, other, otherName] =
      type === 1
        ? [toAccount, names.toAccount, toGroupId, names.toGroupId]
        : [toGroupId, names.toGroupId, toAccount, names.toAccount];
    if (id === '') {
      return this.#reject(record, line, user, 'PEER_MISSING', `${names.type} ${typeCell} needs ${idName}`);
    }
    if (layout.form === 'canonical' && other !== '') {
      return this.#reject(
        record,
        line,
        user,
        'PEER_CONFLICT',
        `${names.type} ${typeCell} takes no ${otherName}, got ${JSON.stringify(other)}`,
        other,
      );
    }
    return { user, group, conversation: { type, id }, line };
  }

  #cell(record: readonly string[], index: number): string {
    const raw = record[index];
    if (raw === undefined) return '';
    if (this.#layout?.failuresFile === true && raw.charCodeAt(0) === 39 && FORMULA_FIRST.has(raw.charAt(1))) {
      return raw.slice(1).trim();
    }
    return raw.trim();
  }

  #reject(
    record: readonly string[],
    line: number,
    user: string,
    rule: RejectionRule,
    problem: string,
    value?: string,
  ): Rejection {
    return {
      line,
      rule,
      message: `line ${line}: ${problem}`,
      ...(value === undefined ? {} : { value }),
      ...(user === '' ? {} : { user }),
      record,
      header: this.#header,
    };
  }
}

/** 0 for an empty Type (an empty-group declaration), undefined when not understood. */
function parseType(cell: string): 0 | 1 | 2 | undefined {
  switch (cell.length <= 5 ? cell.toLowerCase() : cell) {
    case '':
      return 0;
    case '1':
    case 'c2c':
      return 1;
    case '2':
    case 'group':
      return 2;
    default:
      return undefined;
  }
}

function isBlank(record: readonly string[]): boolean {
  for (const cell of record) {
    if (cell.trim() !== '') return false;
  }
  return true;
}
