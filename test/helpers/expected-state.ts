import { createReadStream, readFileSync } from 'node:fs';
import { parse as parseStream } from 'csv-parse';
import { parse } from 'csv-parse/sync';

/**
 * The test oracle: what the app holds after a CSV was applied, as { user: { group: sorted
 * conversation keys } }, computed from the documented rules alone (README "CSV format",
 * PRODUCT.md "Input CSV") with csv-parse, importing nothing from src/. End-to-end tests compare the
 * emulator's state with it, so they prove "the app matches the CSV", not "the app matches what our
 * reader read".
 */
export type AppState = Record<string, Record<string, string[]>>;

/** What the oracle read: every user's groups (before the user rules) and the rows it left out. */
export interface ExpectedRows {
  /** user → group → conversation keys (`1:peer`, `2:@TGS#…`). */
  readonly users: Map<string, Map<string, Set<string>>>;
  /** Data rows, valid or rejected (not the header, not blank rows). */
  readonly rows: number;
  /** Rows rejected by a row rule. */
  readonly rejected: number;
  /** Rows whose cells are all blank (skipped, not rejected). */
  readonly blank: number;
}

const CANONICAL = ['from_account', 'groupname', 'type', 'to_account', 'togroupid'] as const;
const ALIASES = ['user', 'group', 'type', 'peer'] as const;
/** The failures-file escape of a cell a spreadsheet would run: `'` before = + - @ TAB CR. */
const ESCAPED = /^'[=+\-@\t\r]/;

const PARSE_OPTIONS = { bom: true, relax_column_count: true, skip_empty_lines: false } as const;

/** Reads `path` by the documented row rules. Whole-file problems throw (csv-parse's own errors). */
export function expectedRows(path: string): ExpectedRows {
  const fold = new RowFold(path);
  for (const record of parse(readFileSync(path), PARSE_OPTIONS) as string[][]) fold.add(record);
  return fold.result();
}

/** {@link expectedRows}, streaming: for files too big to parse in one piece (the benches'). */
export async function expectedRowsStreaming(path: string): Promise<ExpectedRows> {
  const fold = new RowFold(path);
  for await (const record of createReadStream(path).pipe(parseStream(PARSE_OPTIONS))) {
    fold.add(record as string[]);
  }
  return fold.result();
}

const isBlank = (cells: readonly string[]) => cells.every((c) => c.trim() === '');

/** The documented rules, one record at a time: the first non-blank record is the header. */
class RowFold {
  readonly #path: string;
  readonly #users = new Map<string, Map<string, Set<string>>>();
  #rows = 0;
  #rejected = 0;
  #blank = 0;
  #header:
    | { width: number; canonical: boolean; cell: (row: readonly string[], name: string) => string }
    | undefined;

  constructor(path: string) {
    this.#path = path;
  }

  add(row: readonly string[]): void {
    if (isBlank(row)) {
      this.#blank++; // blank rows before the header count too
      return;
    }
    if (this.#header === undefined) {
      this.#header = this.#readHeader(row);
      return;
    }
    this.#rows++;
    const { width, canonical, cell } = this.#header;
    const member = row.length === width ? readRow(row, canonical, cell) : 'rejected';
    if (member === 'rejected') {
      this.#rejected++;
      return;
    }
    const groups = this.#users.get(member.user) ?? new Map<string, Set<string>>();
    this.#users.set(member.user, groups);
    const conversations = groups.get(member.group) ?? new Set<string>();
    groups.set(member.group, conversations);
    if (member.conversation !== undefined) conversations.add(member.conversation);
  }

  result(): ExpectedRows {
    if (this.#header === undefined) throw new Error(`${this.#path}: no header row`);
    return { users: this.#users, rows: this.#rows, rejected: this.#rejected, blank: this.#blank };
  }

  #readHeader(row: readonly string[]) {
    const names = row.map((n) => n.trim().toLowerCase());
    const canonical = ['from_account', 'groupname', 'to_account', 'togroupid'].some((n) => names.includes(n));
    const required = canonical ? CANONICAL : ALIASES;
    const index = new Map<string, number>(required.map((n) => [n, names.indexOf(n)]));
    const missing = required.filter((n) => names.indexOf(n) < 0 || names.lastIndexOf(n) !== names.indexOf(n));
    if (missing.length > 0) throw new Error(`${this.#path}: header lacks or repeats ${missing.join(', ')}`);
    const failuresFile = names.includes('error_code') && names.includes('error_message');
    const cell = (cells: readonly string[], name: string) => {
      const raw = cells[index.get(name) as number] as string;
      return (failuresFile && ESCAPED.test(raw) ? raw.slice(1) : raw).trim();
    };
    return { width: names.length, canonical, cell };
  }
}

/** One row → its membership (no conversation: an empty group), or 'rejected' by a row rule. */
function readRow(
  row: readonly string[],
  canonical: boolean,
  cell: (row: readonly string[], name: string) => string,
): { user: string; group: string; conversation?: string } | 'rejected' {
  const user = cell(row, canonical ? 'from_account' : 'user');
  const group = cell(row, canonical ? 'groupname' : 'group');
  if (user === '' || group === '' || Buffer.byteLength(group, 'utf8') > 64) return 'rejected';
  const type = cell(row, 'type').toLowerCase();
  const account = canonical ? cell(row, 'to_account') : '';
  const groupId = canonical ? cell(row, 'togroupid') : '';
  const peer = canonical ? '' : cell(row, 'peer');
  if (type === '') return account === '' && groupId === '' && peer === '' ? { user, group } : 'rejected';
  if (type === '1' || type === 'c2c') {
    const id = canonical ? account : peer;
    return id === '' || groupId !== '' ? 'rejected' : { user, group, conversation: `1:${id}` };
  }
  if (type === '2' || type === 'group') {
    const id = canonical ? groupId : peer;
    return id === '' || account !== '' ? 'rejected' : { user, group, conversation: `2:${id}` };
  }
  return 'rejected';
}

/** Users that break a user rule: more than 20 groups, or more than 1000 distinct conversations. */
export function overLimits(groups: ReadonlyMap<string, ReadonlySet<string>>): boolean {
  const distinct = new Set<string>();
  for (const conversations of groups.values()) for (const c of conversations) distinct.add(c);
  return groups.size > 20 || distinct.size > 1000;
}

/**
 * The app's state after applying `path` to an empty app (any mode), or mirroring it for the users it
 * names that have no rejected row: every valid row's membership; users over a limit left out entirely.
 */
export function expectedState(path: string): AppState {
  return stateOf(expectedRows(path));
}

/** The app state {@link expectedRows} leads to (users over a limit left out). */
export function stateOf(rows: ExpectedRows): AppState {
  const out: AppState = {};
  for (const [user, groups] of rows.users) {
    if (groups.size === 0 || overLimits(groups)) continue;
    const state: Record<string, string[]> = {};
    for (const [name, conversations] of groups) state[name] = [...conversations].sort();
    out[user] = state;
  }
  return out;
}
